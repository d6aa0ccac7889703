"""Who may read a chat message is computed once per message and handed to the live push, the
notification and the unread announcement; the notifications app knows nothing of the chat."""

import ast
from pathlib import Path

import pytest

from requests_chat.documents import check_pdf
from requests_chat.models import Request
from requests_chat.services import create_request, send_message

pytestmark = pytest.mark.django_db


@pytest.fixture
def counted_audience(monkeypatch):
    calls = []
    original = Request.audience

    def audience(self):
        calls.append(self.pk)
        return original(self)

    monkeypatch.setattr(Request, "audience", audience)
    return calls


def test_a_message_with_a_document_computes_its_audience_once(
    cast, pdf_bytes, counted_audience, django_capture_on_commit_callbacks
):
    chat, _ = create_request(prescription=cast.rx_alice, author=cast.alice, body="Any update?")
    counted_audience.clear()
    with django_capture_on_commit_callbacks(execute=True):
        send_message(
            chat=chat,
            author=cast.phil,
            body="The PA letter",
            client_id="with-pdf",
            files=[("PA letter", check_pdf(pdf_bytes, name="pa.pdf"))],
        )
    assert counted_audience == [chat.pk]


def test_creating_a_request_computes_its_audience_once(
    cast, counted_audience, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        chat, _ = create_request(prescription=cast.rx_alice, author=cast.alice, body="Hello")
    assert counted_audience == [chat.pk]


def test_the_notifications_app_does_not_import_the_chat():
    """requests_chat → notifications only: the chat renders its own unread badges and hands
    them to the user's socket as ready HTML."""
    root = Path(__file__).resolve().parents[2] / "notifications"
    imports = set()
    for source in root.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                imports.add((source.name, node.module))
            elif isinstance(node, ast.Import):
                imports.update((source.name, alias.name) for alias in node.names)
    assert not [(f, m) for f, m in imports if m.split(".")[0] == "requests_chat"]
