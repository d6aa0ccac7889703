import time
import uuid

import pytest

from accounts import services


@pytest.fixture(autouse=True)
def fresh_attempt_counters(monkeypatch):
    """Identity-check attempt counters live in the cache (Redis in CI, shared): use fresh keys
    instead of clearing a cache other tests and processes rely on."""
    monkeypatch.setattr(services, "ATTEMPT_PREFIX", f"test-idv:{uuid.uuid4().hex}")
    monkeypatch.setattr(services, "SIGN_IN_PREFIX", f"test-signin:{uuid.uuid4().hex}")


@pytest.fixture
def no_otp_throttle(settings):
    """django-otp delays the next try after a wrong code; tests that retry at once turn it off."""
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0


@pytest.fixture
def client_for(client):
    """`client_for(user)`: the test client signed in as that user with the second factor just
    passed, which (as a real sign-in does) also starts sudo mode."""
    from accounts.decorators import SUDO_KEY
    from tests.conftest import sign_in

    def _client_for(user):
        sign_in(client, user)
        session = client.session
        session[SUDO_KEY] = time.time()
        session.save()
        return client

    return _client_for
