"""The runtime lock carries no test or lint tools, and the development lock agrees with it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)", re.MULTILINE)
DEV_ONLY = {
    "pytest",
    "pytest-django",
    "pytest-xdist",
    "pytest-playwright",
    "playwright",
    "moto",
    "ruff",
    "mypy",
    "hypothesis",
    "bandit",
    "pip-audit",
    "djlint",
    "import-linter",
}


def pins(name: str) -> dict[str, str]:
    text = (ROOT / name).read_text()
    return {m[1].lower(): m[2] for m in PIN.finditer(text)}


def test_it_keeps_test_and_lint_tools_out_of_the_runtime_lock() -> None:
    runtime = pins("requirements.lock")
    assert "django" in runtime and "channels" in runtime
    assert DEV_ONLY.isdisjoint(runtime), sorted(DEV_ONLY & runtime.keys())


def test_it_pins_every_runtime_package_identically_in_the_development_lock() -> None:
    runtime, dev = pins("requirements.lock"), pins("requirements-dev.lock")
    assert dev.keys() >= DEV_ONLY, sorted(DEV_ONLY - dev.keys())
    differing = {
        name: (ver, dev.get(name)) for name, ver in runtime.items() if dev.get(name) != ver
    }
    assert not differing


def test_it_installs_the_runtime_lock_for_bin_run_and_the_development_lock_for_tests() -> None:
    assert "bin/setup\n" in (ROOT / "bin/run").read_text()
    assert "bin/setup --dev" in (ROOT / "bin/test").read_text()
    assert "requirements.lock" in (ROOT / "Dockerfile").read_text()
