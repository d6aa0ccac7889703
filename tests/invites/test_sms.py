import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from invites import services, sms
from invites.models import Invite


class Provider(BaseHTTPRequestHandler):
    received: list = []
    status = 200

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Provider.received.append({"auth": self.headers["Authorization"], "json": json.loads(body)})
        self.send_response(Provider.status)
        self.end_headers()
        self.wfile.write(b"rate limited" if Provider.status != 200 else b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture
def provider(settings):
    server = HTTPServer(("127.0.0.1", 0), Provider)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Provider.received, Provider.status = [], 200
    settings.SMS_BACKEND = "invites.sms.HTTPSMSBackend"
    settings.SMS_PROVIDER_URL = f"http://127.0.0.1:{server.server_port}/messages"
    settings.SMS_PROVIDER_TOKEN = "test-token"
    yield Provider
    server.shutdown()
    server.server_close()


def make_invite(clinics):
    return services.create_invites(
        clinic=clinics.a,
        provider=clinics.prov_alice,
        invited_by=clinics.cadmin,
        patients=[{"first_name": "Sam", "last_name": "Sms", "email": "", "mobile": "2155550100"}],
    )[0]


def test_the_http_backend_posts_json_with_a_bearer_token(provider, clinics):
    invite = make_invite(clinics)
    services.deliver_invite(invite)
    assert provider.received[0]["auth"] == "Bearer test-token"
    message = provider.received[0]["json"]
    assert message["to"] == "2155550100"
    assert "Riverside Family Clinic" in message["body"] and invite.code in message["body"]
    assert "Humira" not in message["body"]  # no health data, only clinic, link and code
    invite.refresh_from_db()
    assert invite.status == Invite.Status.PENDING and invite.sent_at


def test_a_provider_error_marks_the_invite_error_sending(provider, clinics):
    provider.status = 429
    invite = make_invite(clinics)
    services.deliver_invite(invite)
    invite.refresh_from_db()
    assert invite.status == Invite.Status.ERROR
    assert invite.error_reason == "SMS provider answered 429: rate limited"


def test_an_unreachable_provider_marks_error_sending(settings, clinics):
    settings.SMS_BACKEND = "invites.sms.HTTPSMSBackend"
    settings.SMS_PROVIDER_URL = "http://127.0.0.1:9/nothing"
    invite = make_invite(clinics)
    services.deliver_invite(invite)
    invite.refresh_from_db()
    assert invite.status == Invite.Status.ERROR and "unreachable" in invite.error_reason


def test_the_file_backend_appends_json_lines(settings, tmp_path):
    settings.SMS_FILE_PATH = tmp_path / "sms.jsonl"
    sms.FileSMSBackend().send(to="2155550100", body="Hello")
    sms.FileSMSBackend().send(to="2155550101", body="Again")
    lines = (tmp_path / "sms.jsonl").read_text().splitlines()
    assert [json.loads(line)["to"] for line in lines] == ["2155550100", "2155550101"]


def test_the_console_backend_prints(capsys):
    sms.ConsoleSMSBackend().send(to="2155550100", body="Hello")
    assert "SMS to 2155550100" in capsys.readouterr().out


# One segment, no PHI -----------------------------------------------------------------------


def invite_to(clinics, outboxes, *, clinic_name=None, patients=None):
    if clinic_name:
        clinics.a.name = clinic_name
        clinics.a.save()
    created = services.create_invites(
        clinic=clinics.a,
        provider=clinics.prov_alice,
        invited_by=clinics.cadmin,
        patients=patients
        or [{"first_name": "Sam", "last_name": "Sms", "email": "", "mobile": "2155550100"}],
    )
    services.queue_deliveries(created)
    return created


def test_the_sms_is_one_gsm7_segment_with_clinic_link_and_code(clinics, outboxes):
    invite = invite_to(clinics, outboxes)[0]
    body = outboxes[0]["body"]
    assert sms.gsm7_length(body) is not None and sms.gsm7_length(body) <= 160
    assert body.startswith("Riverside Family Clinic invites you")
    assert "https://portal.example.test/clinic/join/" in body and invite.code in body
    # No names or other PHI when the phone is the patient's own.
    assert "Sam" not in body and "Sms" not in body


@pytest.mark.parametrize(
    "name",
    [
        "The Greater Philadelphia Regional Center for Pediatric and Adolescent Rheumatology",
        "Zoë’s Clínica — Ševčík & Søn Dermatología",  # accents and quotes outside GSM-7
        "Clinic {Main} [North] ~ East | € " * 6,  # extension characters are left out
    ],
)
def test_a_long_or_non_gsm_clinic_name_is_shortened_to_one_segment(clinics, outboxes, name):
    invite = invite_to(clinics, outboxes, clinic_name=name)[0]
    body = outboxes[0]["body"]
    assert sms.gsm7_length(body) is not None, body
    assert sms.gsm7_length(body) <= 160, (sms.gsm7_length(body), body)
    assert invite.code in body and "/join/" in body
    assert body[:4] == sms.to_gsm7(name)[:4]


def test_an_sms_on_a_shared_phone_says_whom_it_is_for(clinics, outboxes):
    invite_to(
        clinics,
        outboxes,
        patients=[
            {"first_name": "Maria", "last_name": "Lopez", "email": "", "mobile": "2155550100"},
            {"first_name": "Zoë", "last_name": "Lopez", "email": "", "mobile": "2155550100"},
        ],
    )
    bodies = sorted(m["body"] for m in outboxes)
    assert bodies[0].startswith("Riverside Family Clinic invites Maria ")
    assert bodies[1].startswith("Riverside Family Clinic invites Zoe ")
    # First name only: no last name, and each within one segment.
    assert all("Lopez" not in b and sms.gsm7_length(b) <= 160 for b in bodies)


def test_a_resend_on_a_shared_phone_names_the_patient(clinics, outboxes):
    first = invite_to(clinics, outboxes)[0]
    invite_to(
        clinics,
        outboxes,
        patients=[{"first_name": "Ben", "last_name": "Sms", "email": "", "mobile": "2155550100"}],
    )
    outboxes.clear()
    services.resend_invite(invite=first)
    assert outboxes[0]["body"].startswith("Riverside Family Clinic invites Sam ")


def test_gsm7_helpers():
    assert sms.gsm7_length("abc") == 3
    assert sms.gsm7_length("a€") == 3
    assert sms.gsm7_length("ë") is None
    assert sms.to_gsm7("Zoë’s\nClínica") == "Zoe's Clinica"
