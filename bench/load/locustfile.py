"""Locust users for the load test through the proxy (bench/load.py runs it; see "Load test
through the proxy" in docs/PERFORMANCE.md).

Three kinds of user, weighted like a clinic's day: pharmacists (care groups covering about half
of the book), prescribers (their own book) and delegates (acting for one prescriber). Each user
signs in the way a person does — the sign-in page, the password POST, the authenticator (TOTP)
code POST — through whatever `--host` names (the nginx proxy in bench/load.py), then holds two
websockets for the rest of the run, as an open chat page does (the bell's and the chat's), and
works through a weighted mix of pages with a think time between clicks:

- the dashboard's first page (a full page), then, as htmx does, its partials: a quick status
  filter, a status field filter, a last-name filter, a sort, page 2;
- a patient profile (a patient from the dashboard), the request list, a request's chat page;
- a chat message sent as the chat form sends it (an htmx multipart POST with the CSRF header and
  a client id), and the bell's refresh.

Every page is checked (status 200 and a marker of the page), so a sign-in page served instead
of the dashboard is a failure, not a fast success. The first time round each user visits every
page once (so a short run covers them all; with LOAD_QUIT_AFTER_TOUR set the run ends once
every user has: tests/bench/test_locustfile.py).

Accounts come from the JSON file named by LOAD_ACCOUNTS ({"pharmacist": [{"email", "password",
"totp_key"}], "prescriber": [...], "delegate": [...]}; bench/load.py makes them). With LOAD_STEPS
set (e.g. "10,25,50"), `StepShape` runs the steps one after another and writes one JSON line of
results per step to LOAD_RESULTS; without it, locust's own -u/-r/-t apply.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import random
import re
import ssl
import struct
import time
import uuid
from collections import Counter
from itertools import count
from typing import Any

import gevent
import websocket  # websocket-client: blocking sockets, cooperative under gevent's monkey patch
from locust import FastHttpUser, LoadTestShape, between, events, task
from locust.exception import StopUser

# Accounts ---------------------------------------------------------------------------------

ACCOUNTS: dict[str, list[dict[str, str]]] = {}
if os.getenv("LOAD_ACCOUNTS"):
    with open(os.environ["LOAD_ACCOUNTS"]) as accounts_file:
        ACCOUNTS = json.load(accounts_file)
_next_account = {role: count() for role in ("pharmacist", "prescriber", "delegate")}
# The authenticator refuses a code whose time step was already used on that device (replay
# protection): two users sharing an account (more users than accounts) wait for the next step.
_last_step: dict[str, int] = {}


def claim_account(role: str) -> dict[str, str]:
    pool = ACCOUNTS.get(role) or []
    if not pool:
        raise StopUser(f"no {role} accounts in LOAD_ACCOUNTS")
    return pool[next(_next_account[role]) % len(pool)]


def totp(key_hex: str, at: float, step: int = 30, digits: int = 6) -> tuple[str, int]:
    """RFC 6238 code (HMAC-SHA1, 30 s, 6 digits: django-otp's TOTPDevice defaults) and its step."""
    counter = int(at // step)
    digest = hmac.new(bytes.fromhex(key_hex), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = (struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 10**digits
    return f"{value:0{digits}d}", counter


# Live counters (read by StepShape and written at the end) -----------------------------------

COUNTS = Counter()  # "signed_in", "toured" (visited every page once), "messages_sent"
SOCKETS_OPEN = Counter()  # kind -> sockets open now
SOCKET_MESSAGES = Counter()  # kind -> frames received
SOCKET_DROPS = Counter()  # kind -> sockets closed by the other side


def fire(name: str, kind: str, started: float, error: Exception | None = None) -> None:
    """Report a non-HTTP event (a websocket handshake or drop) into locust's statistics."""
    events.request.fire(
        request_type=kind,
        name=name,
        response_time=(time.perf_counter() - started) * 1000,
        response_length=0,
        exception=error,
        context={},
    )


CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
CSRF_HEADER = re.compile(r'"x-csrftoken": "([^"]+)"')
PATIENT_LINK = re.compile(r'href="/patients/(\d+)/"')
REQUEST_LINK = re.compile(r'href="/requests/(\d+)/"')
LAST_NAMES = ["Patel", "Nguyen", "Okafor", "Tanaka", "Moreau", "Castillo", "Novak", "Sato"]
STATUS_CODES = ["pa_pending", "due_for_fill", "order_shipped", "benefits_investigation"]
QUICK = ["due", "pa", "attention", "shipped30"]
SORTS = ["-last_shipped", "patient", "status", "medication"]
DASHBOARD = 'id="dashboard-results"'


def multipart(fields: dict[str, str]) -> tuple[str, str]:
    """The body and Content-Type of a multipart/form-data POST (the chat form's encoding)."""
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    ]
    return "".join(parts) + f"--{boundary}--\r\n", f"multipart/form-data; boundary={boundary}"


class PortalUser(FastHttpUser):
    """A signed-in staff user; subclasses set the role (and so the account pool)."""

    abstract = True
    role = ""
    wait_time = between(2, 6)
    # The proxy's certificate is a local self-signed one (FastHttpUser does not verify by
    # default; said here so nobody copies this to a real host).
    insecure = True

    def on_start(self) -> None:
        self.csrf = ""
        self.patients: list[str] = []
        self.requests: list[str] = []
        self.sockets: list[websocket.WebSocket] = []
        self.home = ""
        self.readers: list[gevent.Greenlet] = []
        self.sign_in()
        self.open_socket("ws bell", "/ws/notifications/")
        self.request_list()
        # A first look at every page (a short run then covers them all).
        for visit in (
            self.dashboard,
            self.dashboard_quick_filter,
            self.dashboard_status_filter,
            self.dashboard_name_filter,
            self.dashboard_sort,
            self.dashboard_page_2,
            self.patient_profile,
            self.request_detail,
            self.send_message,
            self.bell,
        ):
            visit()
        COUNTS["toured"] += 1
        runner = self.environment.runner
        if (
            os.getenv("LOAD_QUIT_AFTER_TOUR")
            and runner
            and COUNTS["toured"] >= runner.target_user_count
        ):
            # A check of the locustfile (tests/bench): every user has visited every page; the
            # last pushes get a moment to arrive, then the run ends.
            gevent.spawn_later(2, runner.quit)

    def on_stop(self) -> None:
        for reader in self.readers:
            reader.kill(block=False)
        for sock in self.sockets:
            with contextlib.suppress(Exception):  # closing at the end of the run
                sock.close()

    # Helpers -----------------------------------------------------------------------------

    @property
    def origin(self) -> str:
        return self.host.rstrip("/")

    def keep_csrf(self, text: str) -> None:
        match = CSRF_HEADER.search(text) or CSRF_INPUT.search(text)
        if match:
            self.csrf = match.group(1)

    def page(self, url: str, name: str, marker: str, *, htmx: str = "") -> str:
        """GET a page (or, with `htmx` naming the target, the fragment htmx asks for)."""
        headers = {"HX-Request": "true", "HX-Target": htmx} if htmx else {}
        with self.client.get(url, name=name, headers=headers, catch_response=True) as response:
            text = response.text or ""
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
            elif marker not in text:
                response.failure(f"not the expected page (no {marker!r})")
        if not htmx:
            self.keep_csrf(text)
        return text

    def sign_in(self) -> None:
        """Sign in as a person does; a failed attempt (counted) is retried afresh, 5 times."""
        account = claim_account(self.role)
        for _attempt in range(5):
            if self.try_sign_in(account):
                COUNTS["signed_in"] += 1
                return
            self.client.cookiejar.clear()
            gevent.sleep(5)
        raise StopUser(f"could not sign in as {account['email']}")

    def try_sign_in(self, account: dict[str, str]) -> bool:
        login = self.page("/accounts/login/", "sign-in page", 'name="password"')
        if 'name="password"' not in login:
            return False
        with self.client.post(
            "/accounts/login/",
            name="sign-in: password",
            data={
                "csrfmiddlewaretoken": self.csrf,
                "username": account["email"],
                "password": account["password"],
                "next": "",
            },
            headers={"Origin": self.origin, "Referer": f"{self.origin}/accounts/login/"},
            catch_response=True,
        ) as response:
            text = response.text or ""
            if response.status_code != 200 or 'name="code"' not in text:
                response.failure(f"HTTP {response.status_code}, no code form")
                return False
        self.keep_csrf(text)
        # One code per time step per device: wait for a fresh step if this account just used it.
        while True:
            code, step = totp(account["totp_key"], time.time())
            if step > _last_step.get(account["email"], -1):
                _last_step[account["email"]] = step
                break
            gevent.sleep(30 - time.time() % 30 + 0.2)
        with self.client.post(
            "/accounts/mfa/verify/",
            name="sign-in: authenticator code",
            data={"csrfmiddlewaretoken": self.csrf, "code": code},
            headers={"Origin": self.origin, "Referer": f"{self.origin}/accounts/mfa/verify/"},
            catch_response=True,
        ) as response:
            text = response.text or ""
            if response.status_code != 200 or "/accounts/sign-out/" not in text:
                response.failure(f"HTTP {response.status_code}, not signed in")
                return False
        self.keep_csrf(text)
        return True

    def open_socket(self, name: str, path: str) -> None:
        cookies = {c.name: c.value for c in self.client.cookiejar}
        url = ("wss://" if self.origin.startswith("https") else "ws://") + self.origin.split(
            "://", 1
        )[1]
        started = time.perf_counter()
        try:
            sock = websocket.create_connection(
                url + path,
                header=[f"Cookie: sessionid={cookies.get('sessionid', '')}"],
                origin=self.origin,
                sslopt={"cert_reqs": ssl.CERT_NONE, "check_hostname": False},
                timeout=30,
            )
        except Exception as error:  # noqa: BLE001  # any handshake failure is a failure counted
            fire(name, "WS", started, error)
            return
        fire(name, "WS", started)
        sock.settimeout(None)
        SOCKETS_OPEN[name] += 1
        self.sockets.append(sock)
        self.readers.append(gevent.spawn(self.read_socket, name, sock))

    def read_socket(self, name: str, sock: websocket.WebSocket) -> None:
        try:
            while True:
                frame = sock.recv()
                if not frame:
                    raise websocket.WebSocketConnectionClosedException("closed")
                SOCKET_MESSAGES[name] += 1
        except gevent.GreenletExit:
            raise
        except Exception as error:  # noqa: BLE001  # a socket dropped under load is a failure
            if self.environment.runner is not None and self.environment.runner.state not in (
                "stopping",
                "stopped",
            ):
                SOCKET_DROPS[name] += 1
                fire(f"{name} dropped", "WS", time.perf_counter(), error)
        finally:
            SOCKETS_OPEN[name] -= 1

    # Pages -------------------------------------------------------------------------------

    @task(4)
    def dashboard(self) -> None:
        text = self.page("/dashboard/", "dashboard", DASHBOARD)
        self.patients = PATIENT_LINK.findall(text) or self.patients

    @task(2)
    def dashboard_quick_filter(self) -> None:
        self.page(
            f"/dashboard/?quick={random.choice(QUICK)}",
            "dashboard ?quick=",
            DASHBOARD,
            htmx="dashboard-results",
        )

    @task(1)
    def dashboard_status_filter(self) -> None:
        status = random.choice(STATUS_CODES)
        self.page(
            f"/dashboard/?status={status}",
            "dashboard ?status=",
            DASHBOARD,
            htmx="dashboard-results",
        )

    @task(2)
    def dashboard_name_filter(self) -> None:
        name = random.choice(LAST_NAMES)[: random.randint(2, 5)]
        text = self.page(
            f"/dashboard/?last_name={name}",
            "dashboard ?last_name=",
            DASHBOARD,
            htmx="dashboard-results",
        )
        self.patients = PATIENT_LINK.findall(text) or self.patients

    @task(1)
    def dashboard_sort(self) -> None:
        self.page(
            f"/dashboard/?sort={random.choice(SORTS)}",
            "dashboard ?sort=",
            DASHBOARD,
            htmx="dashboard-results",
        )

    @task(1)
    def dashboard_page_2(self) -> None:
        self.page("/dashboard/?page=2", "dashboard ?page=2", DASHBOARD, htmx="dashboard-results")

    @task(3)
    def patient_profile(self) -> None:
        if not self.patients:
            self.dashboard()
        if self.patients:
            pk = random.choice(self.patients)
            self.page(f"/patients/{pk}/", "patient profile", "Patient Profile")

    @task(1)
    def request_list(self) -> None:
        text = self.page("/requests/", "request list", "<table")
        self.requests = list(dict.fromkeys(REQUEST_LINK.findall(text))) or self.requests
        if not self.home and self.requests:
            # The request this user works in (its chat page open, its socket held).
            self.home = random.choice(self.requests[:10])
            self.open_socket("ws chat", f"/ws/requests/{self.home}/")

    @task(3)
    def request_detail(self) -> None:
        if self.home:
            pk = self.home if random.random() < 0.5 else random.choice(self.requests[:10])
            self.page(f"/requests/{pk}/", "request (chat page)", 'id="message-form"')

    @task(2)
    def send_message(self) -> None:
        if not self.home:
            return
        # Mostly to the request whose chat socket is open, as a person on that page does.
        pk = self.home if random.random() < 0.7 else random.choice(self.requests[:10])
        client_id = uuid.uuid4().hex
        text = f"Load test {client_id[:8]}: refill confirmed, shipping Tuesday."
        body, content_type = multipart(
            {"csrfmiddlewaretoken": self.csrf, "body": text, "client_id": client_id}
        )
        with self.client.post(
            f"/requests/{pk}/messages/",
            name="chat send",
            data=body,
            headers={
                "Content-Type": content_type,
                "HX-Request": "true",
                "HX-Target": "message-list",
                "X-CSRFToken": self.csrf,
                "Origin": self.origin,
                "Referer": f"{self.origin}/requests/{pk}/",
            },
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
            elif client_id[:8] not in (response.text or ""):
                response.failure("the answer is not the sent message's row")
            else:
                COUNTS["messages_sent"] += 1

    @task(2)
    def bell(self) -> None:
        self.page(
            "/notifications/bell/", "bell", 'id="notification-count"', htmx="notification-feed"
        )


class Pharmacist(PortalUser):
    role = "pharmacist"
    weight = 4


class Prescriber(PortalUser):
    role = "prescriber"
    weight = 2


class Delegate(PortalUser):
    role = "delegate"
    weight = 3


# Results ------------------------------------------------------------------------------------


def stats_rows(environment: Any) -> list[dict[str, Any]]:
    rows = []
    for entry in [*environment.runner.stats.entries.values(), environment.runner.stats.total]:
        if not entry.num_requests and not entry.num_failures:
            continue
        rows.append(
            {
                "name": entry.name,
                "method": entry.method or "",
                "requests": entry.num_requests,
                "failures": entry.num_failures,
                "p50": entry.get_response_time_percentile(0.5) or 0,
                "p90": entry.get_response_time_percentile(0.9) or 0,
                "p99": entry.get_response_time_percentile(0.99) or 0,
                "max": entry.max_response_time or 0,
                "mean": round(entry.avg_response_time, 1),
            }
        )
    return rows


def errors(environment: Any) -> list[dict[str, Any]]:
    return [
        {"name": e.name, "method": e.method, "error": str(e.error)[:300], "count": e.occurrences}
        for e in environment.runner.stats.errors.values()
    ]


def live_counts() -> dict[str, Any]:
    return {
        "signed_in": COUNTS["signed_in"],
        "sockets_open": dict(SOCKETS_OPEN),
        "socket_messages": dict(SOCKET_MESSAGES),
        "socket_drops": dict(SOCKET_DROPS),
        "messages_sent": COUNTS["messages_sent"],
    }


def write_result(record: dict[str, Any]) -> None:
    path = os.getenv("LOAD_RESULTS")
    if path:
        with open(path, "a") as out:
            out.write(json.dumps(record) + "\n")


_at_stop: dict[str, Any] = {}


@events.test_stopping.add_listener
def _on_test_stopping(environment: Any, **_kwargs: Any) -> None:
    # Before the users stop (and close their sockets): what was held at the end of the run.
    _at_stop.update(live_counts(), users=environment.runner.user_count)


@events.quitting.add_listener
def _on_quitting(environment: Any, **_kwargs: Any) -> None:
    if not os.getenv("LOAD_STEPS"):
        write_result(
            {
                "kind": "run",
                "stats": stats_rows(environment),
                "errors": errors(environment),
                **(_at_stop or live_counts()),
            }
        )


if os.getenv("LOAD_STEPS"):

    class StepShape(LoadTestShape):
        """Steps of users, each measured alone: ramp up (new users sign in), settle, then reset
        the statistics and measure for LOAD_STEP_SECONDS; one JSON line per step."""

        def __init__(self) -> None:
            super().__init__()
            self.steps = [int(n) for n in os.environ["LOAD_STEPS"].split(",")]
            self.measure = float(os.getenv("LOAD_STEP_SECONDS", "60"))
            self.settle = float(os.getenv("LOAD_SETTLE_SECONDS", "15"))
            self.spawn_rate = float(os.getenv("LOAD_SPAWN_RATE", "5"))
            self.ramp_limit = float(os.getenv("LOAD_RAMP_LIMIT_SECONDS", "150"))
            self.index = 0
            self.phase = "ramp"
            self.phase_started = self.ramp_started = time.monotonic()
            self.loads: list[float] = []
            self.ramp: dict[str, Any] = {}
            self.sampler = gevent.spawn(self.sample_load)

        def sample_load(self) -> None:
            while True:
                if self.phase == "measure":
                    self.loads.append(os.getloadavg()[0])
                gevent.sleep(5)

        def tick(self) -> tuple[int, float] | None:
            if self.index >= len(self.steps):
                return None
            users = self.steps[self.index]
            now = time.monotonic()
            runner = self.runner
            assert runner is not None
            if self.phase == "ramp":
                if (runner.user_count >= users and COUNTS["signed_in"] >= users) or (
                    now - self.phase_started > self.ramp_limit
                ):
                    self.phase, self.phase_started = "settle", now
            elif self.phase == "settle" and now - self.phase_started >= self.settle:
                # What the ramp saw (sign-ins above all, and any failure) is kept apart.
                self.ramp = {
                    "stats": stats_rows(runner.environment),
                    "errors": errors(runner.environment),
                }
                self.ramp["seconds"] = round(now - self.ramp_started, 1)
                runner.stats.reset_all()
                self.before = live_counts()
                self.loads = [os.getloadavg()[0]]
                self.phase, self.phase_started = "measure", now
            elif self.phase == "measure" and now - self.phase_started >= self.measure:
                after = live_counts()
                write_result(
                    {
                        "kind": "step",
                        "users": users,
                        "seconds": round(now - self.phase_started, 1),
                        # Wall-clock window (bench/load.py matches its CPU samples to it).
                        "window": [time.time() - (now - self.phase_started), time.time()],
                        "stats": stats_rows(runner.environment),
                        "errors": errors(runner.environment),
                        "ramp": self.ramp,
                        "load_start": self.loads[0],
                        "load_max": max(self.loads),
                        "load_end": os.getloadavg()[0],
                        **after,
                        "socket_messages_in_step": {
                            k: v - self.before["socket_messages"].get(k, 0)
                            for k, v in after["socket_messages"].items()
                        },
                        "messages_sent_in_step": after["messages_sent"]
                        - self.before["messages_sent"],
                    }
                )
                self.index += 1
                self.phase, self.phase_started, self.ramp_started = "ramp", now, now
                if self.index >= len(self.steps):
                    return None
                users = self.steps[self.index]
            return users, self.spawn_rate
