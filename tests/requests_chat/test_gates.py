"""The named gate of the chat pages that show no request: `Request.takes_part(user)`."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser

from accounts.models import Delegation
from requests_chat.models import Request


def test_it_names_who_takes_part_in_requests(cast: Any) -> None:
    for user in (cast.alice, cast.bob, cast.phil, cast.carol):
        assert Request.takes_part(user)
    for user in (cast.mallory, cast.olivia, AnonymousUser()):
        assert not Request.takes_part(user)


def test_a_revoked_delegate_no_longer_takes_part(cast: Any) -> None:
    Delegation.objects.get(delegate=cast.bob).revoke()
    assert not Request.takes_part(cast.bob)
