"""Every outbound call has a deadline: SMTP, the SMS provider, S3."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.mail import send_mail

from invites.sms import HTTPSMSBackend, SMSError
from portal.tasks import is_transient

from .fakes import silent_server, smtp_server

BASE_DIR = Path(settings.BASE_DIR)


@pytest.fixture
def smtp(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 1
    return settings


def test_settings_give_every_outbound_call_a_timeout():
    assert 0 < settings.EMAIL_TIMEOUT <= 30
    assert 0 < settings.SMS_TIMEOUT <= 30
    assert 0 < settings.S3_CONNECT_TIMEOUT <= 30 and 0 < settings.S3_READ_TIMEOUT <= 60
    assert settings.TASK_WORKER_LOST <= 60


def test_it_times_out_on_an_smtp_server_that_never_answers(smtp):
    with smtp_server(hang_next=1) as server:
        smtp.EMAIL_PORT = server.port
        start = time.monotonic()
        with pytest.raises(Exception) as caught:
            send_mail("Hello", "Body", None, ["pat@example.com"])
        assert time.monotonic() - start < 5
        assert is_transient(caught.value)
        # The next send, to a server that answers, goes through.
        send_mail("Hello", "Body", None, ["next@example.com"])
        assert server.recipients() == ["next@example.com"]


def test_it_times_out_on_an_sms_provider_that_never_answers(settings):
    with silent_server() as port:
        settings.SMS_PROVIDER_URL = f"http://127.0.0.1:{port}/send"
        settings.SMS_TIMEOUT = 1
        start = time.monotonic()
        with pytest.raises(SMSError) as caught:
            HTTPSMSBackend().send(to="+15551234567", body="Hi")
        assert time.monotonic() - start < 5
        assert caught.value.transient
        assert "unreachable" in str(caught.value)


def test_it_times_out_on_an_s3_endpoint_that_never_answers(tmp_path):
    # Settings are read once per process: the production S3 settings in a fresh process.
    script = (
        "import django, json, time\n"
        "django.setup()\n"
        "from django.core.files.storage import default_storage as s\n"
        "c = s.connection.meta.client.meta.config\n"
        "start = time.monotonic()\n"
        "try:\n"
        "    s.exists('x.pdf'); error = ''\n"
        "except Exception as exc:\n"
        "    error = type(exc).__name__\n"
        "print(json.dumps({'connect': c.connect_timeout, 'read': c.read_timeout,\n"
        "  'retries': c.retries, 'style': c.s3, 'sig': c.signature_version,\n"
        "  'took': time.monotonic() - start, 'error': error}))\n"
    )
    with silent_server() as port:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "S3_BUCKET": "docs",
            "S3_ENDPOINT_URL": f"http://127.0.0.1:{port}",
            "S3_ACCESS_KEY_ID": "test",
            "S3_SECRET_ACCESS_KEY": "test",
            "S3_READ_TIMEOUT_SECONDS": "1",
            "S3_CONNECT_TIMEOUT_SECONDS": "1",
            "S3_MAX_ATTEMPTS": "2",
        }
        result = subprocess.run(
            [sys.executable, "-c", script],
            cwd=BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["connect"] == 1 and seen["read"] == 1
    assert seen["retries"]["total_max_attempts"] == 2, seen
    # The client config replaces django-storages' own: path style and s3v4 are kept.
    assert seen["style"] == {"addressing_style": "path"} and seen["sig"] == "s3v4"
    assert seen["error"], "a silent S3 endpoint must end in an error"
    assert seen["took"] < 15


def test_the_example_environment_names_an_sms_backend_that_exists():
    from django.utils.module_loading import import_string

    lines = (BASE_DIR / ".env.example").read_text().splitlines()
    [backend] = [line.split("=", 1)[1] for line in lines if line.startswith("SMS_BACKEND=")]
    assert import_string(backend).__name__ == "HTTPSMSBackend"
