"""With Redis configured the sessions are read from the cache (`cached_db`): signing a user out
everywhere must end the cached copies too, not only the database rows."""

import pytest
from django.test import Client

from accounts.services import end_other_sessions

pytestmark = pytest.mark.django_db

CACHED_DB = "django.contrib.sessions.backends.cached_db"


def test_ending_other_sessions_ends_their_cached_copies(cast, settings):
    settings.SESSION_ENGINE = CACHED_DB
    here, elsewhere = Client(), Client()
    here.force_login(cast.alice)
    elsewhere.force_login(cast.alice)
    kept = here.cookies["sessionid"].value
    ended_key = elsewhere.cookies["sessionid"].value
    # A request reads the session through the cache (and fills it).
    assert elsewhere.get("/accounts/profile/").wsgi_request.user == cast.alice

    assert end_other_sessions(cast.alice, keep=kept) == 1

    from django.contrib.sessions.backends.cached_db import SessionStore

    assert not SessionStore(session_key=ended_key).exists(ended_key)
    assert SessionStore(session_key=ended_key).load() == {}
    assert SessionStore(session_key=kept).load().get("_auth_user_id") == str(cast.alice.pk)
