"""Security helpers every app shares: one copy each, so a fix lands everywhere.

- `client_ip(request)`: the client's address, believing X-Forwarded-For only from the proxies
  in `settings.TRUSTED_PROXIES` (django-axes, the audit log and every throttle use it);
- `hash_token(raw)`: the digest stored for a bearer secret (link tokens, API tokens);
- `throttle_hit()` / `throttle_count()`: fixed-window counters in the shared cache;
- `safe_next(request, target)`: a redirect target only if it stays on this site.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable
from functools import lru_cache

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


# Client address ------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def trusted_networks() -> tuple[IPNetwork, ...]:
    """`settings.TRUSTED_PROXIES` (addresses or CIDRs) parsed; invalid entries raise ValueError."""
    return _networks(tuple(getattr(settings, "TRUSTED_PROXIES", ())))


def _parse_ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]" or "[2001:db8::1]:443"
        value = value[1 : value.index("]")]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def _is_trusted(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return any(ip in network for network in trusted_networks())


def client_ip(request: HttpRequest | None) -> str | None:
    """The address of the client that sent `request`.

    X-Forwarded-For is a list the client starts and each proxy appends to, so only the hops
    added by our own proxies can be believed: walk it from the right, skipping trusted proxies,
    and the first address that is not one of them is the client. A request that does not come
    from a trusted proxy is its own client, whatever headers it carries.
    """
    if request is None:
        return None
    remote = request.META.get("REMOTE_ADDR") or ""
    peer = _parse_ip(remote)
    if peer is None:
        return remote or None
    if not _is_trusted(peer):
        return str(peer)
    nearest = peer
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    for hop in reversed([h for h in forwarded.split(",") if h.strip()]):
        ip = _parse_ip(hop)
        if ip is None:
            # Only a trusted proxy wrote this far right, and it wrote no address: stop at the
            # last address we know (never believe what lies further left).
            break
        if not _is_trusted(ip):
            return str(ip)
        nearest = ip
    return str(nearest)


# Token digests -------------------------------------------------------------------------------


def hash_token(raw: str) -> str:
    """The SHA-256 hex digest stored in place of a random bearer secret.

    The secrets are long and random, so a plain digest (no salt, no stretching) suffices and
    can be looked up by equality.
    """
    return hashlib.sha256(raw.encode()).hexdigest()


# Throttles -----------------------------------------------------------------------------------


def throttle_hit(key: str, window_seconds: int) -> int:
    """Count one event under `key` in a fixed window that starts at its first event; returns
    the count so far (in the shared cache, so every process counts together)."""
    cache.add(key, 0, window_seconds)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, window_seconds)
        return 1


def throttle_count(key: str) -> int:
    """Events counted under `key` in its current window."""
    return int(cache.get(key, 0) or 0)


def throttle_counts(keys: Iterable[str]) -> dict[str, int]:
    """Several counters in one cache round trip (0 for those not started)."""
    keys = list(keys)
    found = cache.get_many(keys)
    return {key: int(found.get(key, 0) or 0) for key in keys}


# Redirects -----------------------------------------------------------------------------------


def safe_next(request: HttpRequest, target: str | None) -> str | None:
    """`target` if it is a URL on this site (the request's own host; https when the request
    is), else None. Control characters are refused outright."""
    if not target or any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return None
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None
