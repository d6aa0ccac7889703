"""Security pins: headers on every page, control characters refused, no PHI in request logs.

Each pin walks what exists (every named URL that takes no arguments) rather than a list that
new views could slip past.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from portal.http import redact_query
from tests.servers import free_port, start_asgi, stop

BASE_DIR = Path(settings.BASE_DIR)

# Ending the session would sign the walk out; the rest are all requested.
SKIPPED = {"accounts:sign_out", "admin:logout"}


def named_urls_without_arguments() -> Iterator[str]:
    def walk(patterns: list, namespace: str) -> Iterator[str]:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = pattern.namespace or ""
                yield from walk(
                    pattern.url_patterns, f"{namespace}:{inner}".strip(":") if inner else namespace
                )
            elif (
                isinstance(pattern, URLPattern)
                and pattern.name
                and pattern.pattern.regex.groups == 0
            ):
                yield f"{namespace}:{pattern.name}".strip(":")

    yield from walk(get_resolver().url_patterns, "")


URL_NAMES = sorted(set(named_urls_without_arguments()) - SKIPPED)


def test_the_walk_covers_the_portal():
    assert {"prescriptions:dashboard", "requests_chat:list", "requests_chat:create"} <= set(
        URL_NAMES
    )
    assert len(URL_NAMES) > 40


def assert_security_headers(response, where: str) -> None:
    assert response.status_code < 500, where
    assert response["X-Content-Type-Options"] == "nosniff", where
    assert response["Referrer-Policy"] == "same-origin", where
    csp = response.get("Content-Security-Policy", "")
    assert "default-src 'self'" in csp, where
    assert response.get("X-Frame-Options") in {"DENY", "SAMEORIGIN"} or (
        "frame-ancestors" in csp
    ), where
    assert "no-store" in response.get("Cache-Control", ""), where


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["olivia", "alice"])
def test_every_page_has_the_security_headers_and_never_500s(cast, client_for, who):
    client = client_for(getattr(cast, who))
    for name in URL_NAMES:
        response = client.get(reverse(name))
        assert_security_headers(response, f"GET {name} as {who}")
        response = client.get(reverse(name), headers={"HX-Request": "true"})
        assert_security_headers(response, f"htmx GET {name} as {who}")


@pytest.mark.django_db
def test_signed_out_pages_have_them_too(cast):
    client = Client()
    for name in URL_NAMES:
        assert_security_headers(client.get(reverse(name)), f"GET {name} signed out")


@pytest.mark.django_db
def test_documents_are_not_stored_by_caches(cast, client_for, tmp_path, settings):
    from requests_chat.models import Document, Message, Request

    settings.MEDIA_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path},
        },
    }
    chat = Request.objects.create(prescription=cast.rx_alice, created_by=cast.alice)
    message = Message.objects.create(request=chat, author=cast.alice, body="x", client_id="c")
    from django.core.files.base import ContentFile

    doc = Document(request=chat, message=message, title="Letter", uploaded_by=cast.alice)
    doc.file.save("letter.pdf", ContentFile(b"%PDF-1.4 test"), save=False)
    doc.size = 13
    doc.page_count = 1
    doc.sha256 = "0" * 64
    doc.save()
    response = client_for(cast.alice).get(reverse("requests_chat:document", args=[doc.pk]))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


def test_static_files_are_left_cacheable(client):
    response = client.get(settings.STATIC_URL + "js/portal.js")
    assert "no-store" not in response.get("Cache-Control", "")


def test_websockets_may_only_reach_this_host(client):
    csp = client.get(reverse("accounts:login"))["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";") if d.strip())
    # CSP Level 3 lets 'self' match ws:// and wss:// on the page's own host; bare ws:/wss:
    # schemes would allow any host.
    assert directives["connect-src"] == "'self'"
    assert directives["frame-ancestors"] == "'self'"
    assert directives["object-src"] == "'none'"


# Control characters ------------------------------------------------------------------------

NUL, SOH, ESC = "\x00", "\x01", "\x1b"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("prescriptions:dashboard", {"last_name": f"Sm{NUL}ith"}),
        ("prescriptions:dashboard", {"date_of_birth": f"1970-01-01{NUL}"}),
        ("prescriptions:dashboard", {"medication": f"Hum{ESC}ira"}),
        ("requests_chat:list", {"q": f"Av{NUL}ril"}),
        ("requests_chat:create", {"patient_q": f"Av{NUL}"}),
        ("requests_chat:patient_options", {"patient_q": f"Av{SOH}"}),
        ("invites:sent", {"q": f"x{NUL}"}),
        ("invites:patients", {"pq": f"x{NUL}"}),
        ("notifications:list", {f"ty{NUL}pe": "x"}),
    ],
)
def test_control_characters_in_searches_are_refused_with_400(cast, client_for, name, params):
    client = client_for(cast.alice)
    response = client.get(reverse(name), params)
    assert response.status_code == 400
    assert "control character" in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    htmx = client.get(reverse(name), params, headers={"HX-Request": "true"})
    assert htmx.status_code == 400
    assert htmx["X-Refused-Reason"] == "control-characters"
    assert "control character" in htmx.content.decode()


@pytest.mark.django_db
def test_control_characters_in_the_path_are_refused(cast, client_for):
    response = client_for(cast.alice).get("/dashboard/%00/")
    assert response.status_code == 400
    assert "the address" in response.content.decode()


@pytest.mark.django_db
def test_the_create_request_form_refuses_them_and_says_which_field(cast, client_for):
    from requests_chat.models import Request

    client = client_for(cast.alice)
    data = {"patient": cast.pat_alice.pk, "prescription": cast.rx_alice.pk}
    for bad in (NUL, SOH, ESC, "\x7f", "\x85"):
        response = client.post(reverse("requests_chat:create"), {**data, "body": f"Hi{bad}there"})
        assert response.status_code == 400, repr(bad)
        assert "the field “body”" in response.content.decode()
    assert not Request.objects.exists()
    # Tab and line breaks are what text areas send: accepted.
    response = client.post(reverse("requests_chat:create"), {**data, "body": "Hi\tthere\r\nBye"})
    assert response.status_code in {200, 302}
    assert Request.objects.count() == 1


@pytest.mark.django_db
def test_the_sign_in_form_refuses_them(cast):
    response = Client().post(
        reverse("accounts:login"), {"username": f"alice{NUL}@example.com", "password": "x"}
    )
    assert response.status_code == 400


@pytest.mark.django_db
def test_a_session_cookie_with_them_is_treated_as_absent(cast):
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = "abc\x00defghijk"
    response = client.get(reverse("prescriptions:dashboard"))
    assert response.status_code == 302  # to sign-in, not a 500


# Logs --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            '127.0.0.1:5 - "GET /dashboard/?last_name=Smith&date_of_birth=1970-01-01&page=2 '
            'HTTP/1.1" 200',
            '127.0.0.1:5 - "GET /dashboard/?last_name=-&date_of_birth=-&page=2 HTTP/1.1" 200',
        ),
        ("HTTP GET /requests/?q=Avril%20Lavigne 200", "HTTP GET /requests/?q=- 200"),
        ("GET /x/?sort=-last_shipped;status=active", "GET /x/?sort=-last_shipped&status=active"),
        ("GET /x/?page=Smith%20John", "GET /x/?page=-"),
        ("GET /x/?Smith=1&%00=2", "GET /x/?Smith=-&-"),
        ("Is this a question? yes", "Is this a question? yes"),
    ],
)
def test_query_strings_are_redacted(line, expected):
    assert redact_query(line) == expected


PHI = ("Lavigne", "1970-01-01", "Avril")


@pytest.mark.django_db
def test_request_logging_carries_no_search_values(cast, client_for, caplog):
    caplog.set_level(logging.DEBUG)
    client = client_for(cast.alice)
    client.get("/dashboard/?last_name=Lavigne&date_of_birth=1970-01-01&page=1")
    client.get("/requests/?q=Avril")
    client.get("/no-such-page/?last_name=Lavigne")  # logged by django.request as Not Found
    client.get("/dashboard/?last_name=Lavigne%00")
    assert any("no-such-page" in r.getMessage() for r in caplog.records)
    for record in caplog.records:
        assert not any(value in record.getMessage() for value in PHI), record.getMessage()


def test_the_servers_request_lines_are_redacted(caplog):
    """daphne's development server (runserver) and uvicorn's access and websocket lines."""
    from daphne.management.commands.runserver import Command

    caplog.set_level(logging.INFO)
    Command().log_action(
        "http",
        "complete",
        {
            "path": "/dashboard/?last_name=Lavigne&page=3",
            "status": 200,
            "method": "GET",
            "client": "127.0.0.1:1",
            "time_taken": 0.1,
        },
    )
    access = logging.getLogger("uvicorn.access")
    access.addHandler(caplog.handler)  # uvicorn's access logger does not propagate
    try:
        access.info(
            '%s - "%s %s HTTP/%s" %d', "127.0.0.1:1", "GET", "/requests/?q=Avril", "1.1", 200
        )
    finally:
        access.removeHandler(caplog.handler)
    messages = [r.getMessage() for r in caplog.records]
    assert any("/dashboard/?last_name=-&page=3" in m for m in messages), messages
    assert any("/requests/?q=-" in m for m in messages), messages
    assert not any(value in m for m in messages for value in PHI)


@pytest.mark.django_db(transaction=True)
def test_a_real_uvicorn_process_logs_no_search_values():
    port = free_port()
    proc = start_asgi("uvicorn", port, {}, access_log=True)
    try:
        for path in ("/no-such-page/?last_name=Lavigne", "/accounts/login/?q=Avril&page=2"):
            with contextlib.suppress(urllib.error.HTTPError):
                urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10)  # noqa: S310
    finally:
        stop(proc)
    log = (BASE_DIR / "artifacts" / f"server-uvicorn-{port}.log").read_text()
    assert re.search(r"GET /accounts/login/\?q=-&page=2", log), log
    assert not any(value in log for value in PHI), log


# Deployment files ----------------------------------------------------------------------------


def test_nginx_logs_paths_without_query_strings():
    conf = (BASE_DIR / "deploy" / "nginx.conf").read_text()
    assert "log_format" in conf
    assert "access_log /var/log/nginx/access.log portal" in conf
    log_format = conf.split("log_format", 1)[1].split(";", 1)[0]
    assert "$uri" in log_format
    for leaky in ("$request ", "$request_uri", "$args", "$query_string", "$http_referer"):
        assert leaky not in log_format


def test_websocket_frames_are_capped_wherever_uvicorn_starts():
    compose = (BASE_DIR / "docker-compose.yml").read_text()
    commands = [line for line in compose.splitlines() if '"uvicorn"' in line]
    assert commands and all('"--ws-max-size", "65536"' in line for line in commands)
    daphne = [line for line in compose.splitlines() if '"daphne"' in line]
    # compose's web processes are both uvicorn now (graceful shutdown); the Dockerfile's daphne:
    assert all('"--websocket-max-message-size", "65536"' in line for line in daphne)
    assert '"--websocket-max-message-size", "65536"' in (BASE_DIR / "Dockerfile").read_text()
    for script in ("tests/servers.py", "bench/chat.py"):
        text = (BASE_DIR / script).read_text()
        assert '"--ws-max-size"' in text, script
        assert '"--websocket-max-message-size"' in text, script


# Dependency audit and outbound URLs ------------------------------------------------------------


def load_bin(name: str):
    import importlib.machinery
    import importlib.util

    module_name = name.replace("-", "_")
    loader = importlib.machinery.SourceFileLoader(module_name, str(BASE_DIR / "bin" / name))
    spec = importlib.util.spec_from_loader(module_name, loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    loader.exec_module(module)
    return module


def test_the_advisory_check_fails_on_a_known_vulnerable_pin(tmp_path, capsys):
    checker = load_bin("check-advisories")
    lock = tmp_path / "requirements.lock"
    # Django 5.2.7: CVE-2025-64459 (SQL injection through _connector), fixed in 5.2.8.
    lock.write_text("django==5.2.7\n    # via -r requirements.in\nrequests==2.34.2\n")
    assert checker.main([str(lock)]) == 1
    out = capsys.readouterr().out
    assert "VULNERABLE django==5.2.7: CVE-2025-64459" in out
    assert "fixed in 4.2.26, 5.1.14, 5.2.8" in out
    lock.write_text("Django==5.2.8\n")
    assert checker.main([str(lock)]) == 0


def test_the_advisory_check_passes_the_lock_and_says_what_it_did_not_check(capsys):
    checker = load_bin("check-advisories")
    assert checker.main([]) == 0
    out = capsys.readouterr().out
    # It says how many pins an online refresh covered instead of a bare all-clear.
    assert "checked online" in out
    assert "No known vulnerabilities found" not in out


def test_strict_mode_fails_on_pins_no_online_refresh_covered(tmp_path):
    checker = load_bin("check-advisories")
    lock = tmp_path / "requirements.lock"
    lock.write_text("requests==2.34.2\n")
    snapshot = tmp_path / "advisories.json"
    snapshot.write_text('{"checked_online": {"requests": "2.34.2"}, "packages": {}}')
    assert checker.main([str(lock), "--snapshot", str(snapshot), "--strict"]) == 0
    lock.write_text("requests==2.34.3\n")
    assert checker.main([str(lock), "--snapshot", str(snapshot), "--strict"]) == 1
    assert checker.main([str(lock), "--snapshot", str(snapshot)]) == 0


def test_the_refresh_keeps_osv_ranges_per_package():
    refresher = load_bin("refresh-advisories")
    vuln = {
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": "Django"},
                "ranges": [
                    {
                        "type": "ECOSYSTEM",
                        "events": [
                            {"introduced": "5.2"},
                            {"fixed": "5.2.8"},
                            {"introduced": "5.1"},
                            {"fixed": "5.1.14"},
                        ],
                    },
                    {"type": "GIT", "events": [{"introduced": "abc"}]},
                ],
            },
            {"package": {"ecosystem": "npm", "name": "django"}, "ranges": []},
        ]
    }
    ranges, versions = refresher.ranges_for(vuln, "django")
    assert ranges == [
        {"introduced": "5.2", "fixed": "5.2.8"},
        {"introduced": "5.1", "fixed": "5.1.14"},
    ]
    assert versions == []


def test_the_sms_backend_refuses_urls_that_are_not_http(settings):
    from invites.sms import HTTPSMSBackend, SMSError

    settings.SMS_PROVIDER_URL = "file:///etc/passwd"
    with pytest.raises(SMSError, match="must be an http"):
        HTTPSMSBackend().send(to="+12155550100", body="x")
