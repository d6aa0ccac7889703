"""Graceful shutdown: a web process told to stop (SIGTERM) closes its sockets with 1012."""

from __future__ import annotations

import signal

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from portal.consumers import CLOSE_SERVICE_RESTART
from requests_chat.services import create_request
from tests.servers import database_url_for_tests, free_port, start_asgi, stop
from tests.topology.test_outages import session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


def test_sigterm_closes_sockets_with_service_restart(cast):
    port = free_port()
    server = start_asgi("uvicorn", port, {"DATABASE_URL": database_url_for_tests()})
    try:
        chat, _ = create_request(prescription=cast.rx_alice, author=cast.alice, body="Hello")
        with connect(
            f"ws://127.0.0.1:{port}/ws/requests/{chat.pk}/",
            additional_headers={
                "Origin": f"http://127.0.0.1:{port}",
                "Cookie": f"sessionid={session_cookie(cast.alice)}",
            },
            open_timeout=30,
        ) as ws:
            server.send_signal(signal.SIGTERM)
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    ws.recv(timeout=15)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == CLOSE_SERVICE_RESTART
        # Finished cleanly (uvicorn re-raises the signal once it has shut down).
        assert server.wait(timeout=25) in (0, -signal.SIGTERM)
    finally:
        stop(server)
