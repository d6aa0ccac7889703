"""The apps' layers (docs/ARCHITECTURE.md, "Layers"), checked on every module's imports.

A domain module (models, services, selectors, tasks, …) may import, at module level, its own
app's domain modules and the domain modules of lower apps only; never a higher app, never an
interface module (views, urls, forms, filters, consumers, …). Interface modules may import any
domain module. Imports inside functions and under `if TYPE_CHECKING:` are not checked (they are
how a lower app names a higher one's types, or calls it lazily where Django needs it).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# High to low; apps on one line are peers (neither imports the other's domain modules).
LAYERS: list[set[str]] = [
    # The patient portal's sections: peers, each built on the frame below.
    # Documents files completed forms in Health records (records.services.add_health_record).
    {"questionnaires"},
    # Messages checks PDFs with requests_chat.documents, below.
    {"instructions", "scheduling", "billing", "records", "messaging"},
    {"patient_portal"},
    {"invites", "requests_chat"},
    {"notifications"},
    {"accounts"},
    {"prescriptions"},
    {"audit"},
    {"portal"},
]
RANK = {app: len(LAYERS) - n for n, apps in enumerate(LAYERS) for app in apps}

# Modules (the last part of their name, or a package they sit in) serving HTTP, sockets or the
# command line: the outside of each app.
INTERFACE = {
    "views",
    "urls",
    # The Clinic area's side of a patient-portal app (patient_portal, instructions).
    "clinic_views",
    "clinic_urls",
    "webhook_urls",  # billing: the payment provider's webhook, outside the sign-in gate
    "forms",
    "filters",
    "admin",
    "api",
    "consumers",
    "routing",
    "management",
    "middleware",
    "context_processors",
    "templatetags",
    "apps",
    "dashboard",
}
# The portal's base modules (lowest layer) that interface modules build on: not interface.
PORTAL_BASE = {"portal.consumers", "portal.middleware", "portal.templatetags.times"}
# Wires everything together: may import anything, nothing may import it (but Django does).
COMPOSITION_ROOT = {"portal.urls", "portal.asgi", "portal.settings", "portal.warmup"}


def is_interface(module: str) -> bool:
    if any(module == base or module.startswith(f"{base}.") for base in PORTAL_BASE):
        return False
    return any(part in INTERFACE for part in module.split(".")[1:])


@dataclass(frozen=True)
class Violation:
    module: str
    line: int
    imported: str
    why: str

    def __str__(self) -> str:
        return f"{self.module}:{self.line} imports {self.imported}: {self.why}"


def top_level_imports(tree: ast.Module, module: str, is_package: bool) -> list[tuple[int, str]]:
    """(line, module imported) for the module-level imports, `if TYPE_CHECKING:` excluded."""
    package = module if is_package else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []

    def visit(statements: list[ast.stmt]) -> None:
        for node in statements:
            if isinstance(node, ast.Import):
                found.extend((node.lineno, alias.name) for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")
                    parent = ".".join(parts[: len(parts) - node.level + 1])
                    base = f"{parent}.{base}" if base else parent
                # Each name may be a module (`from . import views`) or an attribute of one
                # (`from .models import Request`): the dotted path covers both.
                found.extend((node.lineno, f"{base}.{alias.name}") for alias in node.names)
            elif isinstance(node, ast.If):
                test = node.test
                name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", "")
                if name != "TYPE_CHECKING":
                    visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                for handler in node.handlers:
                    visit(handler.body)
                visit(node.orelse)
                visit(node.finalbody)

    visit(tree.body)
    return found


def check_source(module: str, source: str, *, is_package: bool = False) -> list[Violation]:
    """The layer violations of one module, given its dotted name and source."""
    app = module.split(".")[0]
    if app not in RANK or module in COMPOSITION_ROOT:
        return []
    tree = ast.parse(source)
    violations = []
    interface = is_interface(module)
    for line, imported in top_level_imports(tree, module, is_package):
        target_app = imported.split(".")[0]
        if target_app not in RANK:
            continue  # the standard library, Django, other packages
        if any(imported == root or imported.startswith(f"{root}.") for root in COMPOSITION_ROOT):
            violations.append(Violation(module, line, imported, "the composition root"))
        elif interface:
            continue
        elif is_interface(imported):
            violations.append(Violation(module, line, imported, "a domain module imports UI"))
        elif target_app != app and RANK[target_app] >= RANK[app]:
            violations.append(
                Violation(module, line, imported, f"{app} may not depend on {target_app}")
            )
    return violations


def project_modules() -> list[tuple[str, Path]]:
    modules = []
    for app in RANK:
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT).with_suffix("")
            if "migrations" in relative.parts:
                continue
            parts = list(relative.parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules.append((".".join(parts), path))
    return modules


def test_no_lower_app_imports_a_higher_one() -> None:
    violations = [
        str(v)
        for module, path in project_modules()
        for v in check_source(
            module, path.read_text(encoding="utf-8"), is_package=path.name == "__init__.py"
        )
    ]
    assert violations == []


def test_it_checks_every_app() -> None:
    names = {module for module, _ in project_modules()}
    assert {"prescriptions.models", "requests_chat.services", "portal.types"} <= names
    assert not any("migrations" in name for name in names)


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        # A lower app's domain module importing a higher app: caught, absolute or not.
        ("prescriptions.models", "from requests_chat.models import Request\n", 1),
        ("prescriptions.selectors", "import notifications.services\n", 1),
        ("audit.log", "from accounts.models import User\n", 1),
        ("portal.types", "from accounts.models import User\n", 1),
        # Peers do not import each other's domain modules.
        ("invites.services", "from requests_chat.models import Request\n", 1),
        # A domain module importing an interface module, of its own app or another.
        ("requests_chat.services", "from .forms import MessageForm\n", 1),
        ("requests_chat.services", "from . import views\n", 1),
        ("notifications.selectors", "from prescriptions.filters import SORTS\n", 1),
        # Nobody imports the composition root.
        ("requests_chat.views", "from portal.urls import urlpatterns\n", 1),
        # Allowed: downward, own app, interface anywhere, under TYPE_CHECKING, in a function.
        ("requests_chat.models", "from prescriptions.models import Prescription\n", 0),
        ("requests_chat.services", "from .models import Request\nfrom . import render\n", 0),
        ("prescriptions.views", "from requests_chat.selectors import timeline_events\n", 0),
        ("prescriptions.dashboard", "from requests_chat.selectors import unread_by_request\n", 0),
        (
            "portal.types",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
            "    from accounts.models import User\n",
            0,
        ),
        ("prescriptions.models", "def f():\n    from accounts.models import User\n", 0),
        ("portal.asgi", "from requests_chat.routing import websocket_urlpatterns\n", 0),
    ],
)
def test_the_checker_catches_a_planted_violation(module: str, source: str, expected: int) -> None:
    assert len(check_source(module, source)) == expected


def test_a_planted_violation_in_a_try_block_is_caught_too() -> None:
    source = (
        "try:\n    from notifications.models import Notification\nexcept ImportError:\n    pass\n"
    )
    [violation] = check_source("accounts.models", source)
    assert "accounts may not depend on notifications" in str(violation)
