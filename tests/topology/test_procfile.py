"""The Procfile (bin/topology) and docker-compose.yml describe the same topology; the local
nginx configuration is deploy/nginx.conf's own text and nginx accepts it."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

import yaml
from django.conf import settings

from deploy.topology import ORDER, Topology, nginx_config, read_procfile
from tests.conftest import require

BASE_DIR = Path(settings.BASE_DIR)
# Compose's one-off "migrate" service is bin/topology's setup step.
COMPOSE_ONLY = {"migrate"}
# Values that differ on purpose: addresses and ports of the host vs of the containers.
VARYING = {"--host", "--port", "--forwarded-allow-ips"}


def compose() -> dict:
    return yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())


def options(argv: list[str]) -> list[str]:
    """The arguments without the values of VARYING options and without the program's path."""
    kept, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg in VARYING:
            kept.append(arg)
            skip = True
        else:
            kept.append(arg)
    kept[0] = Path(kept[0]).name
    return kept


def test_the_procfile_has_every_service_of_docker_compose():
    services = set(compose()["services"]) - COMPOSE_ONLY
    assert set(read_procfile()) == services
    assert set(ORDER) == services


def test_the_web_processes_run_the_same_server_with_the_same_options():
    procfile = read_procfile()
    for name in ("web1", "web2"):
        assert options(shlex.split(procfile[name])) == options(
            compose()["services"][name]["command"]
        )


def test_the_worker_runs_the_same_command():
    procfile = read_procfile()
    assert shlex.split(procfile["worker"])[-2:] == compose()["services"]["worker"]["command"][-2:]


def test_the_local_nginx_config_is_the_deployed_one(tmp_path):
    text = nginx_config(upstreams=[8101, 8102], https_port=8443, http_port=8080, state=tmp_path)
    deployed = (BASE_DIR / "deploy" / "nginx.conf").read_text()
    # What matters in production is there, word for word.
    for line in deployed.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", "server web", "listen", "ssl_certificate", "http2")):
            continue
        if "/var/log/nginx/" in line or "return 301" in line:
            continue
        assert line in text, line
    assert "server 127.0.0.1:8101;" in text and "server 127.0.0.1:8102;" in text
    assert "listen 127.0.0.1:8443 ssl;" in text
    assert "web1:8000" not in text


def test_nginx_accepts_the_local_config(tmp_path):
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else "")
    require(bool(nginx), "nginx (Debian package; bin/topology installs it)")
    topology = Topology(state=tmp_path, https_port=18443, http_port=18080, database_url="x")
    topology.prepare_state()
    result = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
