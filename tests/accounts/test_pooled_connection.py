"""A sign-in gives its pooled database connection back while the password is hashed."""

from __future__ import annotations

import django.contrib.auth.base_user as base_user
import pytest
from django.db import connection
from django.urls import reverse

from tests.conftest import PASSWORD


@pytest.mark.django_db(transaction=True)
def test_the_password_is_hashed_with_the_connection_back_in_the_pool(cast, client, monkeypatch):
    pooled = getattr(connection, "pool", None) is not None
    held_while_hashing = []
    check = base_user.check_password

    def watched(*args, **kwargs):
        held_while_hashing.append(connection.connection is not None)
        return check(*args, **kwargs)

    monkeypatch.setattr(base_user, "check_password", watched)
    response = client.post(
        reverse("accounts:login"), {"username": cast.alice.email, "password": PASSWORD}
    )
    assert response.status_code == 302 and response.url == reverse("accounts:mfa")
    # With psycopg's pool (PostgreSQL, as CI and production run) nothing is held while the
    # hash runs; without one (SQLite) the connection is simply kept, as before.
    assert held_while_hashing == [not pooled]


@pytest.mark.django_db
def test_inside_a_transaction_the_connection_is_kept(cast, monkeypatch):
    held_while_hashing = []
    check = base_user.check_password

    def watched(*args, **kwargs):
        held_while_hashing.append(connection.connection is not None)
        return check(*args, **kwargs)

    monkeypatch.setattr(base_user, "check_password", watched)
    assert cast.alice.check_password(PASSWORD)
    assert not cast.alice.check_password("wrong")
    assert held_while_hashing == [True, True]
