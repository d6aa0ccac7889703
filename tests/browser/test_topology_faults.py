"""The topology's worst minutes, in the browser, through the proxy.

The topology runs as `bin/topology` runs it (deploy/topology.py: the Procfile's commands, nginx
configured from deploy/nginx.conf, two uvicorn web processes, a redis-server and moto_server of
the test's own on free ports), against the test database (PostgreSQL), with TLS.

- A web process killed (-9) mid-conversation and restarted: a prescriber and a pharmacist, on
  different web processes, both recover within seconds and every message sent before, during
  and after the kill is on both pages exactly once, counted by the message's client id.
- Redis restarted while one page stays quiet, one types and another client sends: every page
  shows every message within seconds of Redis returning (once each, by client id), nothing
  answers 5xx, a page opened during the outage reconnects by itself, and no page says "Live"
  while pushes cannot reach it (see `assert_never_live_while_down`).

Which web process a page uses: nginx's round robin would spread the two pages' requests over
both processes at random. Here the generated configuration gets one test-only addition
(`pin_by_cookie`): a page with the cookie `topology_pin=web1` (or web2) prefers that process and
falls back to the other one when it is down, exactly as round robin skips a dead server; every
other line is deploy/nginx.conf's. Each answer names the process that served it
(X-Upstream-Addr), and the kill shows it too: only the killed process's page loses its socket.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from playwright.sync_api import expect

from deploy.topology import BUCKET, Topology, read_procfile, wait_for_port
from requests_chat.models import Message
from requests_chat.services import create_request
from tests.browser.conftest import assert_accessible, complete_mfa, sign_in
from tests.conftest import PASSWORD, require
from tests.servers import database_url_for_tests, free_port
from tests.topology.test_outages import session_cookie

pytestmark = [
    pytest.mark.browser,
    pytest.mark.services,
    pytest.mark.django_db(transaction=True),
    # Generous for a loaded 2-core machine: starting the topology is most of it.
    pytest.mark.timeout(480),
]

BASE_DIR = Path(settings.BASE_DIR)
PIN_COOKIE = "topology_pin"
SECRET_KEY = "topology-browser-test-" + "k" * 40
STATUS = "[data-chat-status]"
# The process's LayerWatch probes every 0.5 s and a stopped Redis refuses the probe at once;
# the page hears it over its socket. Within this many seconds of Redis stopping, no page may
# still say "Live" (see assert_never_live_while_down).
NOTICE_SECONDS = 1.5


# The topology ---------------------------------------------------------------------------------


def pin_by_cookie(conf: str, web1: int, web2: int) -> str:
    """deploy/nginx.conf's generated text plus a cookie-chosen preferred web process.

    `topology_pin=web1` prefers web1 and uses web2 as its backup (and the reverse); without
    the cookie, the production round robin over both. Answers name their upstream.
    """
    pinned = (
        "# Test only (tests/browser/test_topology_faults.py): a page's cookie picks its\n"
        "# preferred process; the other one takes over while it is down.\n"
        f"upstream portal_web1 {{ server 127.0.0.1:{web1}; server 127.0.0.1:{web2} backup; }}\n"
        f"upstream portal_web2 {{ server 127.0.0.1:{web2}; server 127.0.0.1:{web1} backup; }}\n"
        f"map $cookie_{PIN_COOKIE} $portal_upstream {{\n"
        "    default portal_web;\n    web1 portal_web1;\n    web2 portal_web2;\n}\n"
    )
    conf, count = re.subn(r"(upstream portal_web \{[^}]*\}\n)", lambda m: m.group(1) + pinned, conf)
    assert count == 1, "upstream portal_web not found"
    old = "proxy_pass http://portal_web;"
    assert conf.count(old) == 1
    conf = conf.replace(
        old,
        "proxy_pass http://$portal_upstream;\n        add_header X-Upstream-Addr $upstream_addr always;",
    )
    return conf


class PinnedTopology(Topology):
    """The topology of bin/topology, with `pin_by_cookie` applied to its nginx.conf."""

    def prepare_state(self) -> None:
        super().prepare_state()
        path = self.state / "nginx.conf"
        path.write_text(pin_by_cookie(path.read_text(), self.ports["web1"], self.ports["web2"]))

    def kill(self, name: str) -> None:
        """kill -9 (no graceful shutdown: the process and its sockets just vanish)."""
        proc = self.processes.pop(name)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def restart(self, name: str) -> None:
        """Start the service again with its Procfile command, as a supervisor would."""
        self.start(name, self.env(), read_procfile()[name])

    def setup(self, env: dict[str, str], *, seed: bool = True) -> None:
        """bin/topology's setup step, minus `migrate`: pytest-django made the test database."""
        self.manage(env, "collectstatic", "--noinput", "-v", "0")
        import boto3

        boto3.client(
            "s3",
            endpoint_url=env["S3_ENDPOINT_URL"],
            region_name="us-east-1",
            aws_access_key_id="topology",
            aws_secret_access_key="topology",
        ).create_bucket(Bucket=BUCKET)


@pytest.fixture(scope="module")
def running_topology(chromium_available, django_db_setup):
    """One topology for the module's tests (each leaves every process running)."""
    require(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    for program in ("nginx", "redis-server"):
        found = any(
            (Path(d) / program).exists() for d in [*os.environ["PATH"].split(":"), "/usr/sbin"]
        )
        require(found, f"{program} (bin/topology installs it)")
    require((Path(sys.executable).parent / "moto_server").exists(), "moto_server")
    state = BASE_DIR / "artifacts" / f"topology-test-{uuid.uuid4().hex[:8]}"
    state.mkdir(parents=True)
    # Sessions made by this process (the HTTP sender) must verify in the web processes.
    (state / "secret_key").write_text(SECRET_KEY)
    topology = PinnedTopology(
        state=state,
        https_port=free_port(),
        http_port=free_port(),
        database_url=database_url_for_tests(),
        # Debian's nginx lives in /usr/sbin. (No worker here: notification tasks just queue.)
        extra_env={"PATH": os.environ["PATH"] + ":/usr/sbin"},
    )
    try:
        topology.up(only=["redis", "minio", "web1", "web2", "proxy"], seed=False)
        yield topology
    finally:
        topology.down()
        shutil.rmtree(state, ignore_errors=True)


@pytest.fixture
def topology(running_topology, cast, settings):
    settings.SECRET_KEY = SECRET_KEY
    yield running_topology
    # The next test's pages are its own: close this one's (their sockets and pollers).
    for context in CONTEXTS:
        context.close()
    CONTEXTS.clear()


CONTEXTS: list = []


def nginx_log_size(topology: Topology) -> int:
    log = topology.state / "logs" / "nginx-access.log"
    return log.stat().st_size if log.exists() else 0


def nginx_statuses(topology: Topology, since: int = 0) -> list[tuple[str, int]]:
    """(path, status) of every request nginx has logged (from byte `since` of its log)."""
    log = topology.state / "logs" / "nginx-access.log"
    found = []
    text = log.read_bytes()[since:].decode(errors="replace") if log.exists() else ""
    for line in text.splitlines():
        match = re.search(r'"\w+ (\S+) [^"]*" (\d{3}) ', line)
        if match:
            found.append((match.group(1), int(match.group(2))))
    return found


# Pages ----------------------------------------------------------------------------------------

# Every change of the status line, with the page's clock (the same machine's), from now on.
# The bell's socket state (data-live: open/closed) likewise.
RECORD_STATUS = """() => {
  const el = document.querySelector('[data-chat-status]');
  window.__statuses = [[Date.now(), el.textContent]];
  new MutationObserver(() => window.__statuses.push([Date.now(), el.textContent]))
    .observe(el, {childList: true, characterData: true, subtree: true});
  const bell = document.querySelector('[data-bell]');
  window.__bell = [bell.getAttribute('data-live')];
  new MutationObserver(() => window.__bell.push(bell.getAttribute('data-live')))
    .observe(bell, {attributes: true, attributeFilter: ['data-live']});
}"""

CLIENT_IDS = """() => Array.from(document.querySelectorAll('#message-list li[data-client-id]'),
                                  li => li.getAttribute('data-client-id'))"""


def new_page(browser, base: str, user, pin: str | None):
    context = browser.new_context(
        viewport={"width": 1366, "height": 900},
        reduced_motion="reduce",
        ignore_https_errors=True,  # the topology's own self-signed certificate
    )
    CONTEXTS.append(context)
    if pin:
        context.add_cookies([{"name": PIN_COOKIE, "value": pin, "url": base}])
    page = context.new_page()
    sign_in(page, base, user.email, PASSWORD)
    complete_mfa(page, user)
    return page


def open_chat(page, base: str, chat_pk: int):
    response = page.goto(f"{base}/requests/{chat_pk}/")
    assert response is not None and response.status == 200
    expect(page.locator(STATUS)).to_have_text("Live", timeout=10_000)
    page.evaluate(RECORD_STATUS)
    return response


def client_ids(page) -> list[str]:
    return page.evaluate(CLIENT_IDS)


def send_from_page(page, text: str) -> str:
    """Type and send like a person; returns the message's client id."""
    page.get_by_label("Message", exact=True).fill(text)
    client_id = page.locator("#message-form [name=client_id]").input_value()
    page.get_by_role("button", name="SEND MESSAGE").click()
    finish_send(page, text, client_id)
    return client_id


def finish_send(page, text: str, client_id: str, *, tries: int = 5) -> None:
    """Wait for the send to be stored; if the page says it failed (its process died under
    it), the text and the client id are still in the form, and the person presses SEND again."""
    box = page.get_by_label("Message", exact=True)
    for _ in range(tries):
        try:
            expect(box).to_have_value("", timeout=8_000)  # answered, stored, form reset
            return
        except AssertionError:
            expect(page.locator("[data-request-error]")).to_be_visible()
            assert page.locator("#message-form [name=client_id]").input_value() == client_id
            assert box.input_value() == text
            page.get_by_role("button", name="SEND MESSAGE").click()
    raise AssertionError(f"{text!r} could not be sent in {tries} tries")


def wait_for_all(pages: dict, expected: set[str], timeout: float) -> float:
    """Wait until every page shows every expected client id; returns when (time.time())."""
    deadline = time.monotonic() + timeout
    while True:
        lacking = {name: expected - set(client_ids(p)) for name, p in pages.items()}
        if not any(lacking.values()):
            return time.time()
        if time.monotonic() > deadline:
            raise AssertionError(f"after {timeout} s pages still lack messages: {lacking}")
        time.sleep(0.1)


def assert_once_each(pages: dict, expected: set[str]) -> None:
    """Each page shows each message exactly once (by client id), and nothing else."""
    for name, page in pages.items():
        ids = client_ids(page)
        duplicated = {cid for cid in ids if ids.count(cid) > 1}
        assert not duplicated, f"{name} shows {duplicated} more than once"
        assert set(ids) == expected, (name, set(ids) ^ expected)
    stored = list(
        Message.objects.filter(client_id__in=expected).values_list("client_id", flat=True)
    )
    assert sorted(stored) == sorted(expected)  # stored once each


def statuses(page) -> list[tuple[float, str]]:
    return [(at / 1000, text) for at, text in page.evaluate("() => window.__statuses")]


class Sender:
    """Another client (plain HTTPS through the proxy): sends chat messages like the form."""

    def __init__(self, base: str, chat_pk: int, user) -> None:
        self.base = base
        self.chat_pk = chat_pk
        self.session = session_cookie(user)
        self.context = ssl._create_unverified_context()  # our own self-signed certificate
        self.statuses: list[int] = []
        self.csrf = ""

    def request(self, path: str, data: bytes | None = None, headers: dict | None = None):
        cookie = f"sessionid={self.session}" + (f"; csrftoken={self.csrf}" if self.csrf else "")
        request = urllib.request.Request(
            self.base + path, data=data, headers={"Cookie": cookie, **(headers or {})}
        )
        try:
            with urllib.request.urlopen(request, timeout=15, context=self.context) as response:
                return response.status, response.read().decode(), response.headers
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(), error.headers

    def send(self, body: str) -> str:
        if not self.csrf:
            status, page, headers = self.request(f"/requests/{self.chat_pk}/")
            assert status == 200, page[:300]
            cookies = " ".join(headers.get_all("Set-Cookie") or [])
            self.csrf = re.search(r"csrftoken=([^;]+)", cookies).group(1)
        client_id = uuid.uuid4().hex
        form = urllib.parse.urlencode({"body": body, "client_id": client_id}).encode()
        status, text, _ = self.request(
            f"/requests/{self.chat_pk}/messages/",
            data=form,
            headers={
                "X-CSRFToken": self.csrf,
                "HX-Request": "true",
                "Origin": self.base,
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        self.statuses.append(status)
        assert status == 200, text[:300]
        return client_id


# A web process killed mid-conversation --------------------------------------------------------


def test_a_web_process_killed_mid_conversation_loses_nothing(cast, topology, browser):
    base = topology.url.rstrip("/")
    chat, opening = create_request(prescription=cast.rx_alice, author=cast.alice, body="Opening")
    alice = new_page(browser, base, cast.alice, pin="web1")
    phil = new_page(browser, base, cast.phil, pin="web2")
    pages = {"alice": alice, "phil": phil}
    served = {
        name: open_chat(p, base, chat.pk).headers["x-upstream-addr"] for name, p in pages.items()
    }
    assert served == {
        "alice": f"127.0.0.1:{topology.ports['web1']}",
        "phil": f"127.0.0.1:{topology.ports['web2']}",
    }
    assert_accessible(alice, "request details through the proxy")
    sent = {opening.client_id}

    # Before: a few each way.
    for i in range(3):
        sent.add(send_from_page(alice, f"Before {i} from Alice"))
        sent.add(send_from_page(phil, f"Before {i} from Phil"))
    wait_for_all(pages, sent, timeout=5)

    # Alice presses SEND and her web process dies under it (kill -9: no graceful close). The
    # send is answered by web1 in time or not at all; if the page says it failed she presses
    # SEND again (same text, same client id): stored once either way.
    alice.get_by_label("Message", exact=True).fill("Sent as web1 died")
    during_id = alice.locator("#message-form [name=client_id]").input_value()
    alice.get_by_role("button", name="SEND MESSAGE").click()
    killed = time.time()
    topology.kill("web1")
    finish_send(alice, "Sent as web1 died", during_id)
    sent.add(during_id)
    # While web1 is down, both keep talking (Alice's requests go to web2 meanwhile).
    for i in range(2):
        sent.add(send_from_page(phil, f"During {i} from Phil"))
        sent.add(send_from_page(alice, f"During {i} from Alice"))

    # Alice's page lost its socket and comes back (on web2); Phil's never noticed.
    expect(alice.locator(STATUS)).to_have_text("Live", timeout=8_000)
    topology.restart("web1")  # as a supervisor would
    wait_for_port(topology.ports["web1"], 30)
    for i in range(3):
        sent.add(send_from_page(alice, f"After {i} from Alice"))
        sent.add(send_from_page(phil, f"After {i} from Phil"))
    arrived = wait_for_all(pages, sent, timeout=10)

    assert_once_each(pages, sent)
    # Alice's page noticed (its socket was on web1) and was "Live" again within seconds, as
    # its own record of the status line shows.
    alice_statuses = statuses(alice)
    lost = next(t for t, text in alice_statuses if t > killed and text != "Live")
    back = next(t for t, text in alice_statuses if t > lost and text == "Live")
    assert back - killed < 5, f"Alice's page was back {back - killed:.1f} s after the kill"
    # Phil's socket (web2) was never interrupted: his page said "Live" throughout.
    assert {text for _, text in statuses(phil)} == {"Live"}, statuses(phil)
    assert arrived - killed < 60
    assert_accessible(phil, "request details after the failover")


# Redis restarted ------------------------------------------------------------------------------


def live_intervals(records: list[tuple[float, str]], until: float) -> list[tuple[float, float]]:
    """The time spans during which the status line read "Live"."""
    spans = []
    for (at, text), following in zip(records, [*records[1:], (until, "")], strict=True):
        if text == "Live":
            spans.append((at, following[0]))
    return spans


def assert_never_live_while_down(name: str, records, stopped: float, back: float) -> None:
    """ "Live" is a promise that a message pushed now reaches this page. While Redis is down no
    push can: from NOTICE_SECONDS after it stopped until it is back, the page must not say
    "Live" at any moment (every change of the status line is recorded, none sampled)."""
    for start, end in live_intervals(records, until=time.time()):
        overlap = min(end, back) - max(start, stopped + NOTICE_SECONDS)
        assert overlap <= 0, (
            f"{name} said 'Live' from {start - stopped:+.2f} s to {end - stopped:+.2f} s "
            f"after Redis stopped (back at {back - stopped:+.2f} s): {records}"
        )


def test_a_redis_restart_loses_nothing_and_no_page_says_live_while_it_is_not(
    cast, topology, browser
):
    base = topology.url.rstrip("/")
    chat, opening = create_request(prescription=cast.rx_alice, author=cast.alice, body="Opening")
    # Phil's page stays quiet; Alice's types; a second client (Phil over HTTPS) sends.
    phil = new_page(browser, base, cast.phil, pin="web2")
    alice = new_page(browser, base, cast.alice, pin="web1")
    pages = {"quiet (phil)": phil, "typing (alice)": alice}
    for page in pages.values():
        open_chat(page, base, chat.pk)
    failures: list[str] = []
    for name, page in pages.items():
        page.on(
            "response",
            lambda r, name=name: (
                failures.append(f"{name}: {r.status} {r.url}") if r.status >= 500 else None
            ),
        )
    log_from = nginx_log_size(topology)  # (the kill test's 502s are its own)
    sender = Sender(base, chat.pk, cast.phil)
    sent = {opening.client_id, *(sender.send(f"Before {i}") for i in range(3))}
    sent.add(send_from_page(alice, "Before, from Alice's page"))
    wait_for_all(pages, sent, timeout=5)

    # Redis stops. Messages keep coming; Alice types (typing frames go to a layer that is down).
    redis = topology.processes["redis"]
    stopped = time.time()
    topology.stop("redis")
    assert redis.poll() is not None
    box = alice.get_by_label("Message", exact=True)
    box.click()
    during = set()
    for i in range(6):
        during.add(sender.send(f"During the outage {i}"))
        alice.keyboard.type(f"typing {i} ", delay=40)
        time.sleep(0.35)
    sent |= during
    # A page opened while Redis is down: 200, its socket closed cleanly (4503), it polls.
    late = alice.context.new_page()
    response = late.goto(f"{base}/requests/{chat.pk}/")
    assert response is not None and response.status == 200
    late.evaluate(RECORD_STATUS)
    expect(late.locator(STATUS)).to_have_text(re.compile("Live updates unavailable"))
    pages["opened during the outage (alice)"] = late
    late.on(
        "response",
        lambda r: failures.append(f"late: {r.status} {r.url}") if r.status >= 500 else None,
    )
    # Everyone that was open says so (within NOTICE_SECONDS of the stop) and polls meanwhile.
    for page in pages.values():
        expect(page.locator(STATUS)).not_to_have_text("Live")
    during.add(sender.send("During the outage, last"))
    sent |= during
    time.sleep(max(0.0, stopped + 4 - time.time()))  # down for about 4 s

    topology.restart("redis")
    back = time.time()
    # Every page shows every message within a few seconds of Redis's return.
    arrived = wait_for_all(pages, sent, timeout=8)
    # Each page says "Live" again (the late one after reconnecting by itself), and then a
    # message reaches it through its socket: the poller is off while it says "Live".
    for page in pages.values():
        expect(page.locator(STATUS)).to_have_text("Live", timeout=10_000)
    relived = time.time()
    polls: list[float] = []
    for page in pages.values():
        page.on(
            "request",
            lambda r: polls.append(time.time()) if "/messages/since/" in r.url else None,
        )
    pushed = sender.send("After: pushed, not polled")
    sent.add(pushed)
    wait_for_all(pages, sent, timeout=2)
    assert not polls, "a page polled while it said 'Live'"
    # Alice sends what she typed; typing shows on Phil's page again (frames through Redis).
    alice.keyboard.type("done", delay=20)
    expect(phil.locator("#chat-typing")).to_contain_text("is typing", timeout=5_000)
    sent.add(send_from_page(alice, box.input_value()))
    wait_for_all(pages, sent, timeout=5)

    assert_once_each(pages, sent)
    for name, page in pages.items():
        assert_never_live_while_down(name, statuses(page), stopped, back)
    assert arrived - back < 8
    assert relived - back < 12
    assert set(sender.statuses) == {200}, sender.statuses
    assert not failures, failures
    assert not [(p, s) for p, s in nginx_statuses(topology, log_from) if s >= 500]
    # The late page's bell socket was closed with 4503 too, and reconnected by itself.
    expect(late.locator("[data-bell]")).to_have_attribute("data-live", "open")
    assert "closed" in late.evaluate("() => window.__bell"), late.evaluate("() => window.__bell")
    assert_accessible(late, "request details after the outage")
