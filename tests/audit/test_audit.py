import pytest

from audit.log import record
from audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_it_is_append_only(cast, rf, settings):
    # The request reached us through our own proxies (127.0.0.1, then 10.0.0.1).
    settings.TRUSTED_PROXIES = ["127.0.0.1", "10.0.0.0/8"]
    request = rf.get("/dashboard/", HTTP_X_FORWARDED_FOR="203.0.113.9, 10.0.0.1")
    request.user = cast.alice
    event = record(request, AuditEvent.Action.VIEW, cast.pat_alice, patient=cast.pat_alice)
    assert event.ip_address == "203.0.113.9"
    assert event.user_email == cast.alice.email
    assert event.object_type == "prescriptions.Patient"
    with pytest.raises(RuntimeError):
        event.save()
    with pytest.raises(RuntimeError):
        event.delete()


def test_it_records_the_real_address_not_a_spoofed_header(cast, rf, settings):
    settings.TRUSTED_PROXIES = []
    request = rf.get("/dashboard/", HTTP_X_FORWARDED_FOR="203.0.113.9", REMOTE_ADDR="198.51.100.4")
    request.user = cast.alice
    assert record(request, AuditEvent.Action.VIEW).ip_address == "198.51.100.4"


def test_the_dashboard_is_audited(client_for, cast):
    client_for(cast.alice).get("/dashboard/")
    assert AuditEvent.objects.filter(user=cast.alice, action="list").exists()


def test_the_admin_shows_audit_events_read_only(client_for, cast):
    client = client_for(cast.olivia)
    record(None, AuditEvent.Action.LOGIN, user=cast.alice)
    response = client.get("/ops/audit/auditevent/")
    assert response.status_code == 200
    assert cast.alice.email in response.content.decode()
    assert client.get("/ops/audit/auditevent/add/").status_code == 403
