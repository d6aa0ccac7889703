"""Health and readiness probes, the 503 page of a database outage, a document store that fails."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import EndpointConnectionError
from django.contrib.sessions.backends.db import SessionStore
from django.db import OperationalError
from django.test import Client, RequestFactory
from django.urls import reverse

from audit.models import AuditEvent
from portal import health
from requests_chat.models import Document, Message, Request
from requests_chat.services import create_request
from tests.conftest import sign_in
from tests.requests_chat.conftest import make_pdf, upload

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_asking_anything(django_assert_num_queries):
    with django_assert_num_queries(0):
        response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-store" in response["Cache-Control"]
    assert not response.cookies


def test_readyz_checks_each_dependency():
    response = Client().get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "channel_layer": "ok", "storage": "ok"},
    }
    assert reverse("readyz") == "/readyz" and reverse("healthz") == "/healthz"


def test_readyz_is_503_with_the_failing_check_named_and_nothing_else(monkeypatch):
    def broken() -> None:
        raise OperationalError('connection to server at "10.1.2.3", port 5432 failed: secret')

    monkeypatch.setitem(health.CHECKS, "database", broken)
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response["Retry-After"]
    assert response.json()["checks"] == {"database": "fail", "channel_layer": "ok", "storage": "ok"}
    # No host, message, version or exception text.
    assert b"10.1.2.3" not in response.content and b"secret" not in response.content


def test_readyz_fails_a_check_that_does_not_answer_in_time(monkeypatch, settings):
    import threading

    release = threading.Event()
    settings.READINESS_TIMEOUT_SECONDS = 0.2
    monkeypatch.setitem(health.CHECKS, "storage", lambda: release.wait(5))
    try:
        response = Client().get("/readyz")
    finally:
        release.set()
    assert response.status_code == 503
    assert response.json()["checks"]["storage"] == "fail"


def test_probes_skip_sign_in_mfa_idle_timeout_and_audit(cast, settings):
    settings.SECURE_SSL_REDIRECT = True  # a probe over plain HTTP from the proxy is answered
    client = Client()
    client.force_login(cast.phil)  # signed in, second factor not passed
    events = AuditEvent.objects.count()
    for path in ("/healthz", "/readyz", "/healthz/"):
        response = client.get(path)
        assert response.status_code == 200, path
    assert AuditEvent.objects.count() == events


def test_probes_refuse_writes():
    assert Client().post("/readyz").status_code == 405


def test_a_database_outage_is_a_503_page_with_retry_after(cast, monkeypatch):
    client = sign_in(Client(raise_request_exception=False), cast.alice)

    def down(self):
        raise OperationalError("connection refused")

    # The first thing a signed-in page reads from the database is its session.
    monkeypatch.setattr(SessionStore, "load", down)
    response = client.get(reverse("prescriptions:dashboard"))
    assert response.status_code == 503
    assert response["Retry-After"] == str(health.RETRY_AFTER_SECONDS)
    assert b"briefly unavailable" in response.content
    htmx = client.get(reverse("prescriptions:dashboard"), headers={"HX-Request": "true"})
    assert htmx.status_code == 503
    assert htmx["Content-Type"].startswith("text/plain")


def test_other_errors_stay_500():
    request = RequestFactory().get("/")
    try:
        raise ValueError("a bug")
    except ValueError:
        response = health.server_error(request)
    assert response.status_code == 500


def test_pool_reconnects_at_a_fixed_short_interval(settings):
    from psycopg_pool.base import AttemptWithBackoff

    saved = AttemptWithBackoff.INITIAL_DELAY, AttemptWithBackoff.DELAY_BACKOFF
    try:
        health.tune_pool_reconnect()
        attempt = AttemptWithBackoff(timeout=60)
        delays = []
        for now in range(5):
            attempt.update_delay(float(now))
            delays.append(attempt.delay)
        assert max(delays) <= settings.DB_POOL_RECONNECT_SECONDS * 1.2
    finally:
        AttemptWithBackoff.INITIAL_DELAY, AttemptWithBackoff.DELAY_BACKOFF = saved


# The document store is out ---------------------------------------------------------------------


@pytest.fixture
def store_down(settings, tmp_path, monkeypatch):
    from django.core.files.storage import FileSystemStorage

    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "media", "base_url": "/no-public-media/"},
        },
    }

    def refuse(*args, **kwargs):
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:9/portal-documents")

    monkeypatch.setattr(FileSystemStorage, "save", refuse)


def test_a_send_with_a_document_says_the_store_is_down_and_keeps_nothing(cast, store_down):
    chat, _ = create_request(prescription=cast.rx_alice, author=cast.alice, body="First")
    client = sign_in(Client(), cast.alice)
    response = client.post(
        reverse("requests_chat:send", args=[chat.pk]),
        {"body": "See attached", "client_id": "c-1", "documents": [upload(make_pdf())]},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert b"document store is not answering" in response.content
    assert response["HX-Retarget"] == "#message-form-errors"
    assert list(Message.objects.values_list("body", flat=True)) == ["First"]
    assert not Document.objects.exists()
    # Chat without documents keeps working.
    response = client.post(
        reverse("requests_chat:send", args=[chat.pk]),
        {"body": "Words only", "client_id": "c-2"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert Message.objects.filter(body="Words only").exists()


def test_a_new_request_with_a_document_says_the_store_is_down(cast, store_down):
    response = sign_in(Client(), cast.alice).post(
        reverse("requests_chat:create"),
        {
            "patient": cast.pat_alice.pk,
            "prescription": cast.rx_alice.pk,
            "body": "Any update?",
            "client_id": "abc",
            "title": "PA letter",
            "documents": [upload(make_pdf())],
        },
    )
    assert response.status_code == 200
    assert b"document store is not answering" in response.content
    assert not Request.objects.exists() and not Message.objects.exists()


def test_json_of_readyz_is_small():
    body = json.loads(Client().get("/readyz").content)
    assert set(body) == {"status", "checks"}
