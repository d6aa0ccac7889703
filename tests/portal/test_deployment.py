"""The production topology and settings cannot rot: compose validates, check --deploy is clean."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from tests.conftest import IN_CI, require

BASE_DIR = Path(settings.BASE_DIR)

PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "x" * 60 + "-production-like-test-key-!@#$%",
    "ALLOWED_HOSTS": "portal.example.com",
    "DATABASE_URL": "sqlite:///" + str(BASE_DIR / "artifacts" / "deploy-check.sqlite3"),
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "S3_BUCKET": "portal-documents",
    "EMAIL_HOST": "smtp.example.com",
}


def run_manage(*args, env):
    # Browser tests set DJANGO_ALLOW_ASYNC_UNSAFE in this process; a deployment never has it.
    base = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_variables():
    (BASE_DIR / "artifacts").mkdir(exist_ok=True)
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr


def test_it_refuses_to_start_without_a_secret_key_when_debug_is_off():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"}
    result = run_manage("check", env={**env, "SECRET_KEY": ""})
    # An empty SECRET_KEY falls back to the placeholder, which is refused.
    assert result.returncode != 0
    assert "Set SECRET_KEY" in result.stderr


def test_docker_compose_file_is_valid(tmp_path):
    tool = shutil.which("docker-compose")
    require(tool is not None, "docker-compose (Debian package) to validate docker-compose.yml")
    shutil.copy(BASE_DIR / "docker-compose.yml", tmp_path / "docker-compose.yml")
    shutil.copy(BASE_DIR / ".env.example", tmp_path / ".env")
    env = {
        **os.environ,
        "POSTGRES_PASSWORD": "x",
        "S3_ACCESS_KEY_ID": "x",
        "S3_SECRET_ACCESS_KEY": "x",
    }
    result = subprocess.run(
        [tool, "-f", "docker-compose.yml", "config", "--services"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    services = set(result.stdout.split())
    assert {"web1", "web2", "worker", "proxy", "db", "redis", "minio"} <= services


@pytest.mark.skipif(not IN_CI, reason="only CI promises PostgreSQL and Redis")
def test_ci_runs_on_the_real_services():
    # Django's PostgreSQL backend, or the portal's subclass of it that the pool uses.
    assert connection.vendor == "postgresql"
    assert settings.DATABASES["default"]["ENGINE"] in {
        "django.db.backends.postgresql",
        "portal.postgresql",
    }
    assert (
        settings.CHANNEL_LAYERS["default"]["BACKEND"]
        == "channels_redis.pubsub.RedisPubSubChannelLayer"
    )
