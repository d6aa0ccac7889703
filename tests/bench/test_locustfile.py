"""The load test's locustfile runs: a few users for a few seconds against a real ASGI server.

locust is run as a program (it monkey-patches the standard library with gevent at import, which
must not happen inside the test process), with the argv and environment bench/load.py uses. One pharmacist, one prescriber and one delegate sign
in through the real sign-in and authenticator pages, hold their two websockets, visit every page
of the mix once and keep working; nothing may fail, and every page must have been measured, so
the load test (bench/load.py) cannot rot unnoticed.
"""

from __future__ import annotations

import json
import subprocess
import time

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django_otp.plugins.otp_totp.models import TOTPDevice

from bench.load import locust_command
from requests_chat.services import create_request
from tests.conftest import PASSWORD
from tests.servers import BASE_DIR, database_url_for_tests, free_port, start_asgi, stop

pytestmark = pytest.mark.django_db(transaction=True)

PAGES = {
    "sign-in page",
    "sign-in: password",
    "sign-in: authenticator code",
    "ws bell",
    "ws chat",
    "dashboard",
    "dashboard ?quick=",
    "dashboard ?status=",
    "dashboard ?last_name=",
    "dashboard ?sort=",
    "dashboard ?page=2",
    "patient profile",
    "request list",
    "request (chat page)",
    "chat send",
    "bell",
}


def test_the_locustfile_signs_in_every_role_and_runs_the_whole_mix(cast, tmp_path):
    create_request(prescription=cast.rx_alice, author=cast.alice, body="Where is the PA?")
    accounts = {}
    # The server runs the production settings: a PBKDF2 hash (the tests' own settings hash
    # with MD5, which the server would not accept).
    hasher = PBKDF2PasswordHasher()
    for role, user in (
        ("pharmacist", cast.phil),
        ("prescriber", cast.alice),
        ("delegate", cast.bob),
    ):
        user.password = hasher.encode(PASSWORD, hasher.salt())
        user.save(update_fields=["password"])
        device = TOTPDevice.objects.create(user=user, name="Load test", confirmed=True)
        accounts[role] = [{"email": user.email, "password": PASSWORD, "totp_key": device.key}]
    (tmp_path / "accounts.json").write_text(json.dumps(accounts))
    results = tmp_path / "results.jsonl"

    port = free_port()
    server = start_asgi("uvicorn", port, {"DATABASE_URL": database_url_for_tests()})
    try:
        started = time.monotonic()
        argv, env = locust_command(
            f"http://127.0.0.1:{port}",
            {
                "LOAD_ACCOUNTS": str(tmp_path / "accounts.json"),
                "LOAD_RESULTS": str(results),
                "LOAD_QUIT_AFTER_TOUR": "1",
            },
            # an upper bound: the run ends when every user has visited every page
            *("-u", "3", "-r", "3", "-t", "90s"),
        )
        run = subprocess.run(
            argv, cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=150
        )
        elapsed = time.monotonic() - started
    finally:
        stop(server)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    (record,) = [json.loads(line) for line in results.read_text().splitlines()]
    stats = {row["name"]: row for row in record["stats"]}
    assert record["errors"] == [], record["errors"]
    assert stats["Aggregated"]["failures"] == 0
    assert stats.keys() >= PAGES, sorted(PAGES - stats.keys())
    # Every role signed in and held both sockets to the end; each send reached its sockets.
    assert record["signed_in"] == 3
    assert record["sockets_open"] == {"ws bell": 3, "ws chat": 3}
    assert record["socket_drops"] == {}
    assert record["messages_sent"] >= 3
    assert record["socket_messages"].get("ws chat", 0) >= record["messages_sent"]
    assert elapsed < 80  # about 10 s on a quiet machine
