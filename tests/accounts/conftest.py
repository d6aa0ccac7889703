import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def clear_cache():
    """Registration attempt counters and axes live in the cache: start every test clean."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def no_otp_throttle(settings):
    """django-otp delays the next try after a wrong code; tests that retry at once turn it off."""
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0
