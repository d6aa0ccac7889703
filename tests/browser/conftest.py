"""Browser tests: a real ASGI server (daphne) on a free port, driven by headless Chromium.

pytest-django's live_server is WSGI (no websockets), so the server runs as a subprocess against
the test database. Tests that use it must be `django_db(transaction=True)` so their data is
committed where the server can read it.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

from tests.conftest import require
from tests.servers import database_url_for_tests, free_port, start_asgi, stop

AXE_JS = Path(__file__).parent / "vendor" / "axe-4.14.1.min.js"
BASE_DIR = Path(settings.BASE_DIR)

pytestmark = pytest.mark.browser

# Playwright's sync API keeps an event loop running in the test thread; Django's ORM calls made
# by fixtures in the same thread would otherwise refuse to run "from an async context".
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def start_server(port: int, extra_env: dict[str, str] | None = None) -> subprocess.Popen:
    """A daphne process serving the test database (real password hashing, media, Redis)."""
    env = {
        "DATABASE_URL": database_url_for_tests(),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "AXES_FAILURE_LIMIT": "50",
        **(extra_env or {}),
    }
    if settings.REDIS_URL:
        env["REDIS_URL"] = settings.REDIS_URL
    return start_asgi("daphne", port, env)


stop_server = stop


@pytest.fixture(scope="session")
def portal_url(django_db_setup, django_db_blocker, chromium_available) -> str:
    """Base URL of a daphne process serving the test database (one per test worker)."""
    (BASE_DIR / "artifacts").mkdir(exist_ok=True)
    port = free_port()
    proc = start_server(port)
    yield f"http://127.0.0.1:{port}"
    stop_server(proc)


@pytest.fixture
def browser_context_args(browser_context_args):
    # Reduced motion turns the stylesheet's transitions off, so axe never measures colours
    # half-way through a fade.
    return {
        **browser_context_args,
        "viewport": {"width": 1366, "height": 900},
        "reduced_motion": "reduce",
    }


def assert_accessible(page, context: str = "") -> None:
    """Run axe-core on the current page and fail on any violation."""
    # Judge the settled page: while an htmx request is in flight its table is dimmed (opacity
    # 0.6, by design), which axe would read as low contrast — a race that only a loaded CI
    # machine loses. Wait for htmx to finish, and for the 150 ms fade back.
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')",
        timeout=15_000,
    )
    page.wait_for_timeout(200)
    # evaluate() is not subject to the page's CSP, unlike an injected <script>.
    page.evaluate(AXE_JS.read_text())
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    violations = [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"]][:5],
        }
        for v in result["violations"]
    ]
    assert not violations, f"axe violations on {context or page.url}:\n" + json.dumps(
        violations, indent=2
    )


@pytest.fixture
def screenshot(request):
    """`screenshot(page, name)` saves artifacts/screenshots/<name>.png for a person to look at."""
    folder = BASE_DIR / "artifacts" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)

    def _shot(page, name: str, full_page: bool = True) -> Path:
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return _shot


def totp_now(device) -> str:
    """The current code of a django-otp TOTPDevice, as an authenticator app would show it."""
    from django_otp.oath import TOTP

    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def sign_in(page, base_url: str, email: str, password: str) -> None:
    """Sign in through the form; MFA steps are completed by the caller where required."""
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


@pytest.fixture(autouse=True)
def fast_password_hashing():
    """Browser tests sign in through a separate server process: keep the real hasher."""


def require_chromium() -> None:
    require(Path("/usr/bin/chromium").exists(), "Chromium (/usr/bin/chromium)")


def complete_mfa(page, user) -> None:
    """Finish the second factor after the password step, as a person with an authenticator would.

    First sign-in: read the setup key shown on the enrolment page, compute the code, "Set up",
    then continue past the recovery codes. Later sign-ins: compute the code from the user's
    device, never reusing a time step the portal already accepted (it refuses replays).
    """
    import base64
    import time as _time

    from django_otp.oath import TOTP
    from django_otp.plugins.otp_totp.models import TOTPDevice

    page.wait_for_url("**/accounts/mfa/**")
    if "/accounts/mfa/setup/" in page.url:
        secret = page.locator("[data-totp-secret]").inner_text().strip()
        key = base64.b32decode(secret + "=" * (-len(secret) % 8))
        code = f"{TOTP(key).token():06d}"
        page.get_by_role("textbox", name="Authentication code").fill(code)
        page.get_by_role("button", name="Set up").click()
        page.wait_for_url("**/accounts/mfa/recovery-codes/")
        page.get_by_role("button", name="I have saved my codes, continue").click()
        page.wait_for_url(lambda url: "/accounts/mfa/" not in url)
        return
    device = TOTPDevice.objects.get(user_id=user.pk, confirmed=True)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    now = _time.time()
    totp.time = now
    step_now = totp.t()
    target = max(step_now, device.last_t + 1)
    if target > step_now + device.tolerance:
        # Every usable step was already spent: wait for the next one.
        _time.sleep(device.step - (now - device.t0) % device.step + 0.5)
        return complete_mfa(page, user)
    totp.time = now + (target - step_now) * device.step
    page.get_by_role("textbox", name="Authentication code").fill(
        f"{totp.token():0{device.digits}d}"
    )
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url(lambda url: "/accounts/mfa/" not in url)
