"""The ops audit log's "By object type" filter names events about no object (axe link-name)."""

from django.urls import reverse

from audit.models import AuditEvent
from tests.conftest import sign_in


def test_the_empty_object_type_has_a_name_and_filters(cast, client):
    AuditEvent.objects.create(action=AuditEvent.Action.LOGIN, user_email="a@example.com")
    AuditEvent.objects.create(
        action=AuditEvent.Action.VIEW,
        object_type="patient",
        object_id="7",
        user_email="b@example.com",
    )
    sign_in(client, cast.olivia)
    url = reverse("admin:audit_auditevent_changelist")
    page = client.get(url).content.decode()
    assert 'href="?object_type="' not in page
    assert "No object (sign-ins, lists)" in page
    none = client.get(url, {"object_type": "-"})
    # (Reading the log is itself audited, as ops: those events have no object either.)
    emails = {e.user_email for e in none.context["cl"].result_list}
    assert "a@example.com" in emails and "b@example.com" not in emails
    patients = client.get(url, {"object_type": "patient"})
    assert [e.user_email for e in patients.context["cl"].result_list] == ["b@example.com"]


def test_the_admin_underlines_its_breadcrumb_links(cast, client):
    sign_in(client, cast.olivia)
    page = client.get(reverse("admin:audit_auditevent_changelist")).content.decode()
    assert "css/admin.css" in page
