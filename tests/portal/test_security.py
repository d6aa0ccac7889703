"""portal/security.py: the one copy of each security helper."""

import hashlib

import pytest
from django.test import RequestFactory

from portal.security import client_ip, hash_token, safe_next, throttle_count, throttle_hit

PROXY = "172.30.0.10"


def request_from(remote: str, forwarded: str | None = None, **extra):
    meta = {"REMOTE_ADDR": remote, **extra}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **meta)


@pytest.fixture
def behind_proxy(settings):
    settings.TRUSTED_PROXIES = [PROXY, "10.0.0.0/8"]


def test_it_ignores_forwarded_headers_without_a_trusted_proxy(settings):
    settings.TRUSTED_PROXIES = []
    assert client_ip(request_from("198.51.100.7", "203.0.113.9")) == "198.51.100.7"


def test_it_ignores_forwarded_headers_from_an_untrusted_peer(behind_proxy):
    assert client_ip(request_from("198.51.100.7", "203.0.113.9")) == "198.51.100.7"


def test_it_takes_the_right_most_untrusted_hop_behind_the_proxy(behind_proxy):
    # The client wrote "1.2.3.4"; nginx appended the address it really saw.
    assert client_ip(request_from(PROXY, "1.2.3.4, 198.51.100.7")) == "198.51.100.7"
    # Through two of our own proxies.
    assert client_ip(request_from(PROXY, "1.2.3.4, 198.51.100.7, 10.1.2.3")) == "198.51.100.7"
    assert client_ip(request_from(PROXY, "198.51.100.7")) == "198.51.100.7"


def test_it_falls_back_to_the_proxy_when_the_header_is_missing_or_garbage(behind_proxy):
    assert client_ip(request_from(PROXY)) == PROXY
    assert client_ip(request_from(PROXY, "")) == PROXY
    assert client_ip(request_from(PROXY, "1.2.3.4, not-an-ip")) == PROXY
    assert client_ip(request_from(PROXY, "10.0.0.5")) == "10.0.0.5"


def test_it_reads_ipv6_hops(behind_proxy):
    assert client_ip(request_from(PROXY, "[2001:db8::1]:443")) == "2001:db8::1"
    assert client_ip(request_from(PROXY, "2001:db8::2")) == "2001:db8::2"


def test_it_handles_no_request():
    assert client_ip(None) is None


def test_token_hash_is_sha256_hex():
    assert hash_token("secret") == hashlib.sha256(b"secret").hexdigest()


def test_throttle_counts_in_a_window(settings):
    key = "test-security-throttle"
    from django.core.cache import cache

    cache.delete(key)
    assert throttle_count(key) == 0
    assert [throttle_hit(key, 60) for _ in range(3)] == [1, 2, 3]
    assert throttle_count(key) == 3
    cache.delete(key)


@pytest.mark.parametrize(
    "target,expected",
    [
        ("/dashboard/", "/dashboard/"),
        ("http://testserver/profile/", "http://testserver/profile/"),
        ("https://evil.example/", None),
        ("//evil.example/", None),
        ("/ok/\n", None),
        ("", None),
        (None, None),
    ],
)
def test_safe_next_keeps_only_this_site(target, expected):
    assert safe_next(RequestFactory().get("/"), target) == expected


def test_compose_trusts_only_the_proxy_address():
    import yaml
    from django.conf import settings

    compose = yaml.safe_load((settings.BASE_DIR / "docker-compose.yml").read_text())
    services = compose["services"]
    proxy_ip = services["proxy"]["networks"]["default"]["ipv4_address"]
    assert services["web1"]["environment"]["TRUSTED_PROXIES"] == proxy_ip
    for name in ("web1", "web2"):  # both uvicorn since graceful shutdown (1012) was asked for
        command = services[name]["command"]
        if "daphne" in command:
            # daphne cannot limit whose X-Forwarded-For it believes: it must not read it at all.
            assert "--proxy-headers" not in command
        else:
            assert command[command.index("--forwarded-allow-ips") + 1] == proxy_ip
    assert "--proxy-headers" not in (settings.BASE_DIR / "Dockerfile").read_text()
