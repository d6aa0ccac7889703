"""Live Messages over the full ASGI application: delivery to both sides, catch-up by what the
page lacks, revocation and expiry closing the patient's socket, hostile frames, clinic scope."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.utils import timezone

from messaging.services import send_message, start_thread
from patient_portal.selectors import SESSION_CHART
from patient_portal.services import revoke_proxy
from portal.asgi import application
from tests.conftest import verify_otp

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def allowed_hosts(settings):
    settings.ALLOWED_HOSTS = ["localhost", "testserver"]


def cookie_for(user, *, chart=None, otp: bool = False) -> bytes:
    client = Client()
    client.force_login(user)
    if otp:
        verify_otp(client, user)
    if chart is not None:
        session = client.session
        session[SESSION_CHART] = chart.pk
        session.save()
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def connect(path: str, cookie: bytes):
    comm = WebsocketCommunicator(
        application, path, headers=[(b"origin", b"http://localhost"), (b"cookie", cookie)]
    )
    connected, code = await comm.connect(timeout=3)
    return comm, connected, code


async def texts(comm, *, timeout: float = 2) -> str:
    """The next thing the server sends and everything right behind it, joined. (A timed-out
    receive_output cancels the application, so the rest is read while receive_nothing fails.)"""
    out = []
    while True:
        output = await comm.receive_output(timeout=timeout)
        out.append(output.get("text") or json.dumps(output))
        if output["type"] != "websocket.send" or await comm.receive_nothing(timeout=0.3):
            return "\n".join(out)


def start(chart, author, subject="Question", to="clinician"):
    thread, message, _ = start_thread(chart=chart, author=author, to=to, subject=subject, body="Hi")
    return thread, message


async def test_a_clinic_reply_reaches_the_patients_open_thread_and_badge(family):
    thread, _ = await database_sync_to_async(start)(family.tim, family.mary)
    other, _ = await database_sync_to_async(start)(family.tim, family.mary, "Another")
    patient, ok, _ = await connect(
        "/ws/patient/messages/",
        await database_sync_to_async(cookie_for)(family.mary, chart=family.tim),
    )
    assert ok
    await patient.send_json_to({"type": "catch_up", "thread": thread.pk, "after": 0, "have": []})
    first = await texts(patient)
    assert "Hi" in first and 'id="chat-sync"' in first
    # A reply in the open thread: its row (read at once, so no badge moves).
    await database_sync_to_async(send_message)(
        thread=thread, author=family.clinics.cadmin, body="Bring the form", from_clinic=True
    )
    pushed = await texts(patient)
    assert "Bring the form" in pushed and 'id="messages-badge"' not in pushed
    # A reply in another thread of the chart: its inbox row and the unread badge.
    await database_sync_to_async(send_message)(
        thread=other, author=family.clinics.cadmin, body="Elsewhere", from_clinic=True
    )
    pushed = await texts(patient)
    assert f'id="thread-{other.pk}"' in pushed and 'id="messages-badge"' in pushed
    assert "Elsewhere" in pushed and 'hx-swap-oob="beforeend"' not in pushed
    await patient.disconnect()


async def test_rows_shown_in_an_open_thread_are_marked_read(family):
    from messaging.live import flush_reads
    from messaging.models import Reader

    thread, _ = await database_sync_to_async(start)(family.tim, family.mary)
    patient, ok, _ = await connect(
        "/ws/patient/messages/",
        await database_sync_to_async(cookie_for)(family.mary, chart=family.tim),
    )
    await patient.send_json_to({"type": "catch_up", "thread": thread.pk, "after": 0, "have": []})
    await texts(patient)
    message, _ = await database_sync_to_async(send_message)(
        thread=thread, author=family.clinics.cadmin, body="Read me", from_clinic=True
    )
    await texts(patient)
    await flush_reads()
    reader = await database_sync_to_async(Reader.objects.get)(thread=thread, user=family.mary)
    assert reader.last_read_message_id == message.pk
    await patient.disconnect()


async def test_a_patient_message_arrives_in_the_clinic_inbox(family, cast):
    staff, ok, _ = await connect(
        "/ws/clinic/messages/", await database_sync_to_async(cookie_for)(cast.alice, otp=True)
    )
    assert ok
    thread, _ = await database_sync_to_async(start)(family.peter_a, family.peter, "Knee")
    pushed = await texts(staff)
    assert f'id="thread-{thread.pk}"' in pushed and "Knee" in pushed
    assert 'id="clinic-inbox-badge"' in pushed
    await staff.disconnect()


async def test_staff_of_another_clinic_get_nothing(family, cast):
    other, ok, _ = await connect(
        "/ws/clinic/messages/", await database_sync_to_async(cookie_for)(cast.carol, otp=True)
    )
    assert ok  # carol works at clinic B
    thread, _ = await database_sync_to_async(start)(family.peter_a, family.peter, "At A")
    assert await other.receive_nothing(timeout=1)
    # Asking for clinic A's thread by id gives nothing either.
    await other.send_json_to({"type": "catch_up", "thread": thread.pk, "after": 0, "have": []})
    assert await other.receive_nothing(timeout=1)
    await other.disconnect()


async def test_staff_need_the_second_factor(family, cast):
    _, ok, code = await connect(
        "/ws/clinic/messages/", await database_sync_to_async(cookie_for)(cast.alice, otp=False)
    )
    assert not ok and code == 4403


async def test_a_patient_cannot_catch_up_on_another_charts_thread(family):
    foreign, _ = await database_sync_to_async(start)(family.peter_a, family.peter, "Private")
    own_other, _ = await database_sync_to_async(start)(family.mary_a, family.mary, "Mine at A")
    patient, ok, _ = await connect(
        "/ws/patient/messages/",
        await database_sync_to_async(cookie_for)(family.mary, chart=family.tim),
    )
    assert ok
    for thread in (foreign, own_other):
        await patient.send_json_to(
            {"type": "catch_up", "thread": thread.pk, "after": 0, "have": []}
        )
        assert await patient.receive_nothing(timeout=0.8)
    # Pushes of other charts' threads never reach this socket.
    await database_sync_to_async(send_message)(
        thread=foreign, author=family.clinics.cadmin, body="Secret", from_clinic=True
    )
    assert await patient.receive_nothing(timeout=0.8)
    await patient.disconnect()


async def test_a_revoked_proxy_socket_closes_at_once(family):
    patient, ok, _ = await connect(
        "/ws/patient/messages/",
        await database_sync_to_async(cookie_for)(family.mary, chart=family.tim),
    )
    assert ok
    await database_sync_to_async(revoke_proxy)(grant=family.tim_grant, by=family.clinics.cadmin)
    output = await patient.receive_output(timeout=2)
    assert output == {"type": "websocket.close", "code": 4403}


async def test_an_expired_proxy_socket_closes_at_its_next_push(family):
    thread, _ = await database_sync_to_async(start)(family.peter_a, family.peter)
    patient, ok, _ = await connect(
        "/ws/patient/messages/",
        await database_sync_to_async(cookie_for)(family.grace, chart=family.peter_a),
    )
    assert ok

    def expire() -> None:
        family.grace_grant.ends_on = timezone.localdate() - dt.timedelta(days=1)
        family.grace_grant.save()

    await database_sync_to_async(expire)()
    await database_sync_to_async(send_message)(
        thread=thread, author=family.clinics.cadmin, body="For Peter only", from_clinic=True
    )
    output = await patient.receive_output(timeout=2)
    assert output == {"type": "websocket.close", "code": 4403}


@pytest.mark.parametrize(
    "frame",
    [
        "not json",
        "[]",
        '{"type": "catch_up", "thread": "1 OR 1=1", "after": 0}',
        '{"type": "catch_up", "thread": 1e400, "after": 0}',
        '{"type": "catch_up", "thread": 99999999999999999999999, "after": 0}',
        '{"type": "catch_up", "thread": 1, "have": "everything"}',
        '{"type": "send", "body": "messages are POSTed"}',
        '{"type": "here", "thread": -5}',
        "x" * 20000,
    ],
)
async def test_hostile_frames_are_dropped_and_the_socket_stays(family, frame):
    thread, _ = await database_sync_to_async(start)(family.peter_a, family.peter)
    patient, ok, _ = await connect(
        "/ws/patient/messages/",
        await database_sync_to_async(cookie_for)(family.peter, chart=family.peter_a),
    )
    assert ok
    await patient.send_to(text_data=frame)
    assert await patient.receive_nothing(timeout=0.5)
    await patient.send_json_to({"type": "catch_up", "thread": thread.pk, "after": 0, "have": []})
    assert "Hi" in await texts(patient)
    await patient.disconnect()


async def test_catch_up_sends_only_what_the_page_lacks(family):
    thread, first = await database_sync_to_async(start)(family.peter_a, family.peter)

    def more() -> list[int]:
        return [
            send_message(thread=thread, author=family.peter, body=f"m{n}", from_clinic=False)[0].pk
            for n in range(3)
        ]

    ids = await database_sync_to_async(more)()
    patient, ok, _ = await connect(
        "/ws/patient/messages/",
        await database_sync_to_async(cookie_for)(family.peter, chart=family.peter_a),
    )
    assert ok
    # The page holds the first message and its own newest reply: it lacks m0 and m1.
    await patient.send_json_to(
        {"type": "catch_up", "thread": thread.pk, "after": first.pk, "have": [ids[2]]}
    )
    got = await texts(patient)
    assert "m0" in got and "m1" in got and "m2" not in got
    assert f'data-complete-through="{ids[2]}"' in got
    await patient.disconnect()
