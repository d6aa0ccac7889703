"""Tooling pins: CI runs the checkers it claims to, configured strictly enough to mean something.

The checks themselves run in .ci/run (mypy and djlint over everything take seconds each); these
tests only make sure nobody quietly drops one, loosens mypy, or adds an app mypy never sees.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def ci_commands() -> list[list[str]]:
    """.ci/run's command lines (comments and blank lines dropped, continuations joined)."""
    text = (ROOT / ".ci" / "run").read_text().replace("\\\n", " ")
    lines = [line.split("#", 1)[0].strip() for line in text.splitlines()]
    return [shlex.split(line) for line in lines if line]


def runs(*words: str) -> bool:
    """Whether some command line of .ci/run contains these words in this order."""
    for command in ci_commands():
        at = 0
        for word in command:
            if at < len(words) and word == words[at]:
                at += 1
        if at == len(words):
            return True
    return False


def local_apps() -> list[str]:
    """The project's own Django apps: top-level packages with an apps.py."""
    return sorted(p.parent.name for p in ROOT.glob("*/apps.py"))


def test_mypy_is_strict_where_it_counts() -> None:
    mypy = pyproject()["tool"]["mypy"]
    assert mypy["disallow_untyped_defs"] is True
    assert mypy["check_untyped_defs"] is True
    assert mypy["warn_unused_ignores"] is True  # an ignore that hides nothing must go
    assert "mypy_django_plugin.main" in mypy["plugins"]
    assert "tests" not in mypy["files"]  # not type-checked on purpose (see the comment there)


def test_mypy_excludes_no_app_module() -> None:
    """Only migrations are excluded, and no override switches errors off for an app module."""
    mypy = pyproject()["tool"]["mypy"]
    assert mypy["exclude"] == ["/migrations/"]
    apps = set(local_apps()) | {"portal"}
    for override in mypy.get("overrides", []):
        modules = override["module"]
        modules = [modules] if isinstance(modules, str) else modules
        ours = [m for m in modules if m.split(".")[0] in apps]
        assert not ours, f"an override for the project's own modules: {ours}"
        assert set(override) <= {"module", "ignore_missing_imports"}, override


@pytest.mark.parametrize("app", local_apps())
def test_every_app_is_type_checked(app: str) -> None:
    assert app in pyproject()["tool"]["mypy"]["files"], (
        f"add {app!r} to [tool.mypy] files in pyproject.toml"
    )


def test_ci_runs_every_checker() -> None:
    assert runs(".venv/bin/python", "-m", "ruff", "check")
    assert runs(".venv/bin/python", "-m", "ruff", "format", "--check")
    assert runs(".venv/bin/python", "-m", "mypy")
    assert runs(".venv/bin/djlint", "templates", "--lint")
    assert runs(".venv/bin/python", "-m", "bandit")
    # set -e: any of them failing fails the run.
    assert re.search(r"^set -euo pipefail$", (ROOT / ".ci" / "run").read_text(), re.M)


def test_ci_does_not_let_a_checker_fail_quietly() -> None:
    for command in ci_commands():
        if any(tool in command for tool in ("mypy", ".venv/bin/djlint", "ruff", "bandit")):
            assert "||" not in command and "true" not in command, command


def test_djlint_keeps_the_rules_that_find_real_faults() -> None:
    djlint = pyproject()["tool"]["djlint"]
    assert djlint["profile"] == "django"
    ignored = set(djlint.get("ignore", "").split(","))
    real = {"H005", "H013", "H020", "H021", "H025", "H037", "H042", "H043", "H053", "T027"}
    real |= {"T034", "T038", "T039", "D018", "D058"}
    assert not real & ignored
    assert "H006" in djlint["include"].split(",")
    # Duplicate ids are allowed only where an out-of-band swap repeats one, and a wrapper split
    # across two blocks only in a layout built that way: file by file.
    for path, rules in djlint.get("per-file-ignores", {}).items():
        assert (ROOT / path).is_file(), path
        assert rules in {"H053", "H041"}, (path, rules)


def test_djlint_never_reformats_in_ci() -> None:
    for command in ci_commands():
        if command and command[0].endswith("djlint"):
            assert "--lint" in command and "--reformat" not in command, command


def test_the_layer_test_exists() -> None:
    layers = ROOT / "tests" / "portal" / "test_layers.py"
    assert layers.is_file()
    source = layers.read_text()
    assert "LAYERS" in source and "def test_" in source
