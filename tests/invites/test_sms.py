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
