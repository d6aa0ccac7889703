"""Fake providers on 127.0.0.1 for the worker tests: an SMTP server that can hang, and a server
that accepts connections and never says a word (SMS provider, S3 endpoint)."""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class _SMTPHandler(socketserver.StreamRequestHandler):
    server: FakeSMTPServer

    def handle(self) -> None:
        srv = self.server
        with srv.lock:
            srv.connections += 1
            hang = srv.hang_next > 0
            if hang:
                srv.hang_next -= 1
        if hang:
            # Accept the connection, then never answer (not even the greeting).
            srv.release.wait(60)
            return
        self.wfile.write(b"220 fake ESMTP\r\n")
        data: list[bytes] = []
        in_data = False
        recipients: list[str] = []
        while line := self.rfile.readline():
            if in_data:
                if line == b".\r\n":
                    in_data = False
                    with srv.lock:
                        srv.messages.append((recipients, b"".join(data)))
                    data, recipients = [], []
                    self.wfile.write(b"250 queued\r\n")
                else:
                    data.append(line)
                continue
            verb = line[:4].upper()
            if verb in {b"EHLO", b"HELO"}:
                self.wfile.write(b"250 fake\r\n")
            elif verb == b"RCPT":
                recipients.append(line.decode().split(":", 1)[1].strip(" <>\r\n"))
                self.wfile.write(b"250 ok\r\n")
            elif verb == b"DATA":
                in_data = True
                self.wfile.write(b"354 go on\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:  # MAIL, RSET, NOOP
                self.wfile.write(b"250 ok\r\n")


class FakeSMTPServer(socketserver.ThreadingTCPServer):
    """Records each message it accepts; the first `hang_next` connections get no answer."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, hang_next: int = 0) -> None:
        super().__init__(("127.0.0.1", 0), _SMTPHandler)
        self.hang_next = hang_next
        self.connections = 0
        self.messages: list[tuple[list[str], bytes]] = []
        self.lock = threading.Lock()
        self.release = threading.Event()

    @property
    def port(self) -> int:
        return self.server_address[1]

    def recipients(self) -> list[str]:
        with self.lock:
            return [r for rcpts, _ in self.messages for r in rcpts]


@contextmanager
def smtp_server(hang_next: int = 0) -> Iterator[FakeSMTPServer]:
    server = FakeSMTPServer(hang_next)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()


@contextmanager
def silent_server() -> Iterator[int]:
    """A port that accepts connections (the kernel's backlog) and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()
