"""Real services going away under a real web process (uvicorn), and coming back.

- PostgreSQL unreachable (a TCP proxy in front of the real server is cut, then restored):
  pages answer a 503 with Retry-After within seconds, and 200 again within about a second of
  the database's return, without restarting the web process.
- The S3 API (moto_server on a free port) stopped: an upload says so clearly and nothing is
  half-stored (no message without its document); chat without documents keeps working.
- Redis (a redis-server of the test's own on a free port, never the system one) restarted
  while 20 websocket clients chat at a steady rate: every client has every message within a
  few seconds of Redis returning, none twice, and no request answers a 500.

Each is marked `services`: it skips locally when a service is missing, and fails in CI.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from requests_chat.models import Document, Message
from requests_chat.services import create_request
from tests.conftest import require, verify_otp
from tests.requests_chat.conftest import make_pdf
from tests.servers import database_url_for_tests, free_port, start_asgi, stop

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

BASE_DIR = Path(settings.BASE_DIR)


# Helpers --------------------------------------------------------------------------------------


class TcpProxy:
    """Forwards 127.0.0.1:port to a target; `cut()` drops every connection and refuses new
    ones (the server "unreachable"), `restore()` listens again on the same port."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self.listener: socket.socket | None = None
        self.open: set[socket.socket] = set()
        self.lock = threading.Lock()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        if self.listener is not None:
            # shutdown() wakes the thread blocked in accept(); close() alone would not (it would
            # go on accepting on the closed descriptor's socket).
            with contextlib.suppress(OSError):
                self.listener.shutdown(socket.SHUT_RDWR)
            self.listener.close()
            self.listener = None
        with self.lock:
            for sock in self.open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self.open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self.lock:
                self.open.update({client, upstream})
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.close()


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    verify_otp(client, user)
    return client.cookies["sessionid"].value


def get(url: str, cookie: str = "", timeout: float = 15, **headers: str) -> tuple[int, str, Any]:
    request = urllib.request.Request(url, headers={"Cookie": cookie, **headers})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode(), response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), error.headers


def post_message(
    base: str, chat_pk: int, session: str, body: str, *, pdf: bytes | None = None
) -> tuple[int, str]:
    """The chat form's HTMX POST (CSRF and all), with one PDF when given."""
    status, page, headers = get(f"{base}/requests/{chat_pk}/", f"sessionid={session}")
    assert status == 200, page[:500]
    cookies = " ".join(headers.get_all("Set-Cookie") or [])
    csrf = re.search(r"csrftoken=([^;]+)", cookies).group(1)
    boundary = uuid.uuid4().hex
    parts = [("body", body), ("client_id", uuid.uuid4().hex)]
    data = b""
    for name, value in parts:
        data += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        ).encode()
    if pdf is not None:
        data += (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="documents"; '
                f'filename="letter.pdf"\r\nContent-Type: application/pdf\r\n\r\n'
            ).encode()
            + pdf
            + b"\r\n"
        )
    data += f"--{boundary}--\r\n".encode()
    request = urllib.request.Request(
        f"{base}/requests/{chat_pk}/messages/",
        data=data,
        method="POST",
        headers={
            "Cookie": f"sessionid={session}; csrftoken={csrf}",
            "X-CSRFToken": csrf,
            "HX-Request": "true",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Origin": base,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def collectstatic() -> None:
    """DEBUG=false serves static names from the manifest: make it (as compose's migrate does),
    with DEBUG=false too — only then does collectstatic use the manifest storage and write it."""
    env = {**os.environ, "DEBUG": "false", "SECRET_KEY": "collectstatic-" + "k" * 50}
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=BASE_DIR,
        env=env,
        check=True,
        timeout=300,
    )


# PostgreSQL unreachable -----------------------------------------------------------------------


@pytest.fixture
def postgres_behind_proxy():
    db = connection.settings_dict
    require(db["ENGINE"].endswith("postgresql"), "PostgreSQL (DATABASE_URL)")
    proxy = TcpProxy((db.get("HOST") or "127.0.0.1", int(db.get("PORT") or 5432)))
    proxy.restore()
    url = database_url_for_tests().replace(f":{db.get('PORT') or 5432}/", f":{proxy.port}/")
    yield proxy, url
    proxy.cut()
    time.sleep(0.5)  # the server ends the proxied sessions before the test database is dropped


def test_pages_answer_503_quickly_while_postgres_is_out_and_recover_without_restart(
    cast, postgres_behind_proxy, settings
):
    proxy, database_url = postgres_behind_proxy
    collectstatic()
    # DEBUG=false refuses the placeholder key; sessions made here must verify there.
    settings.SECRET_KEY = "topology-test-" + "k" * 50
    port = free_port()
    server = start_asgi(
        "uvicorn",
        port,
        {
            "DEBUG": "false",
            "SECRET_KEY": settings.SECRET_KEY,
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "false",
            "DATABASE_URL": database_url,
        },
    )
    try:
        base = f"http://127.0.0.1:{port}"
        cookie = f"sessionid={session_cookie(cast.alice)}"
        assert get(f"{base}/dashboard/", cookie)[0] == 200
        assert get(f"{base}/readyz")[0] == 200

        proxy.cut()
        for headers in ({}, {"HX-Request": "true"}):
            started = time.monotonic()
            status, body, answer = get(f"{base}/dashboard/", cookie, **headers)
            elapsed = time.monotonic() - started
            assert status == 503, body[:300]
            assert answer["Retry-After"] and "briefly unavailable" in body
            assert elapsed < 4.5, f"the 503 took {elapsed:.1f} s"
        status, body, _ = get(f"{base}/readyz")
        assert status == 503 and '"database": "fail"' in body
        assert get(f"{base}/healthz")[0] == 200  # alive, only not ready

        proxy.restore()
        restored = time.monotonic()
        while True:
            status = get(f"{base}/dashboard/", cookie)[0]
            if status == 200:
                break
            assert time.monotonic() - restored < 3, f"still {status} 3 s after PostgreSQL is back"
            time.sleep(0.1)
        assert get(f"{base}/readyz")[0] == 200
    finally:
        stop(server)


# S3 stopped -----------------------------------------------------------------------------------


@pytest.fixture
def moto(settings):
    moto_server = Path(sys.executable).parent / "moto_server"
    require(moto_server.exists(), "moto_server (moto[server])")
    port = free_port()
    proc = subprocess.Popen(
        [str(moto_server), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            assert time.monotonic() < deadline and proc.poll() is None, "moto_server did not start"
            time.sleep(0.1)
    import boto3

    boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).create_bucket(Bucket="portal-documents")
    yield proc, port
    if proc.poll() is None:
        proc.terminate()
        proc.wait(timeout=10)


def test_an_upload_while_s3_is_stopped_says_so_and_stores_nothing(cast, moto):
    proc, s3_port = moto
    port = free_port()
    server = start_asgi(
        "uvicorn",
        port,
        {
            "DATABASE_URL": database_url_for_tests(),
            "S3_BUCKET": "portal-documents",
            "S3_ENDPOINT_URL": f"http://127.0.0.1:{s3_port}",
            "S3_ACCESS_KEY_ID": "testing",
            "S3_SECRET_ACCESS_KEY": "testing",
        },
    )
    try:
        base = f"http://127.0.0.1:{port}"
        chat, _ = create_request(prescription=cast.rx_alice, author=cast.alice, body="First")
        session = session_cookie(cast.alice)
        status, html = post_message(base, chat.pk, session, "With a letter", pdf=make_pdf())
        assert status == 200 and "With a letter" in html
        assert Document.objects.count() == 1

        proc.terminate()
        proc.wait(timeout=10)
        started = time.monotonic()
        status, html = post_message(base, chat.pk, session, "Second letter", pdf=make_pdf())
        assert time.monotonic() - started < 15
        assert status == 200
        assert "document store is not answering" in html and "Nothing was sent" in html
        assert not Message.objects.filter(body="Second letter").exists()
        assert Document.objects.count() == 1
        assert all(m.documents.exists() for m in Message.objects.filter(body__contains="letter"))
        # Chat goes on.
        status, html = post_message(base, chat.pk, session, "Words only")
        assert status == 200 and "Words only" in html
        assert Message.objects.filter(body="Words only").exists()
    finally:
        stop(server)


# Redis restarted under 20 chatting sockets ----------------------------------------------------


@pytest.fixture
def own_redis(tmp_path):
    """A redis-server of this test's own, on a free port (restartable; never the system one)."""
    binary = shutil.which("redis-server")
    require(binary is not None, "redis-server")
    port = free_port()

    def start() -> subprocess.Popen:
        proc = subprocess.Popen(
            [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly",
             "no", "--dir", str(tmp_path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return proc
            except OSError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)

    state = {"proc": start()}

    def restart(down_for: float) -> None:
        state["proc"].terminate()
        state["proc"].wait(timeout=10)
        time.sleep(down_for)
        state["proc"] = start()

    yield port, restart
    state["proc"].terminate()
    state["proc"].wait(timeout=10)


def test_twenty_sockets_lose_nothing_across_a_redis_restart(cast, own_redis):
    import json

    from websockets.sync.client import connect

    redis_port, restart_redis = own_redis
    env = {
        "DATABASE_URL": database_url_for_tests(),
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
    }
    ports = free_port(), free_port()
    servers = [start_asgi("uvicorn", ports[0], env), start_asgi("uvicorn", ports[1], env)]
    chat, first = create_request(prescription=cast.rx_alice, author=cast.alice, body="Opening")
    opening = first.pk
    sessions = {"alice": session_cookie(cast.alice), "phil": session_cookie(cast.phil)}
    clients = 20
    received: list[dict[int, int]] = [{} for _ in range(clients)]
    statuses: list[int] = []
    stop_event = threading.Event()
    message_id = re.compile(r'id="message-(\d+)"')

    def listen(index: int) -> None:
        """One page: holds a socket (reconnecting like chat.js), catches up on each open."""
        port = ports[index % 2]
        who = "alice" if index % 2 else "phil"
        seen = received[index]
        while not stop_event.is_set():
            try:
                with connect(
                    f"ws://127.0.0.1:{port}/ws/requests/{chat.pk}/",
                    additional_headers={
                        "Origin": f"http://127.0.0.1:{port}",
                        "Cookie": f"sessionid={sessions[who]}",
                    },
                    open_timeout=5,
                ) as ws:
                    # What the page holds, as chat.js says it: everything through the opening
                    # message, and the ids above it (so nothing it has is sent again).
                    def holding(kind: str) -> str:
                        return json.dumps({"type": kind, "after": opening, "have": sorted(seen)})

                    ws.send(holding("catch_up"))
                    last_beat = time.monotonic()
                    while not stop_event.is_set():
                        if time.monotonic() - last_beat > 5:  # the server allows one per 5 s
                            ws.send(holding("here"))
                            last_beat = time.monotonic()
                        try:
                            text = ws.recv(timeout=0.5)
                        except TimeoutError:
                            continue
                        for found in message_id.findall(text):
                            seen[int(found)] = seen.get(int(found), 0) + 1
            except Exception:
                time.sleep(0.2 + 0.3 * (index % 3) / 3)

    listeners = [threading.Thread(target=listen, args=(i,), daemon=True) for i in range(clients)]
    for thread in listeners:
        thread.start()
    try:
        time.sleep(2)
        sent = 0

        def send_some(count: int) -> None:
            nonlocal sent
            for _ in range(count):
                port = ports[sent % 2]
                status, _ = post_message(
                    f"http://127.0.0.1:{port}", chat.pk, sessions["phil"], f"Message {sent}"
                )
                statuses.append(status)
                sent += 1
                time.sleep(0.1)

        send_some(10)
        outage = threading.Thread(target=restart_redis, args=(2.0,))
        outage.start()
        send_some(20)  # during the outage, and after
        outage.join()
        send_some(10)
        expected = set(Message.objects.filter(request=chat).values_list("pk", flat=True))
        assert len(expected) == 1 + sent
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if all(expected - {min(expected)} <= set(seen) for seen in received):
                break
            time.sleep(0.2)
    finally:
        stop_event.set()
        for thread in listeners:
            thread.join(timeout=5)
        for server in servers:
            stop(server)

    assert 500 not in statuses and set(statuses) == {200}, statuses
    for index, seen in enumerate(received):
        missing = expected - {min(expected)} - set(seen)
        assert not missing, f"client {index} lacks {len(missing)} messages"
        duplicated = {pk for pk, count in seen.items() if count > 1}
        assert not duplicated, f"client {index} got {sorted(duplicated)} twice"
