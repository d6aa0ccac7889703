"""Migrations match the models and form one line per app (apps built in parallel once left two
0002s in one app, which only the browser tests' fresh migrate noticed)."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_the_models_have_no_migration_missing_and_no_app_has_two_leaves() -> None:
    out = io.StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
