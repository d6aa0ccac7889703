"""What a page ships: gzipped size of the JavaScript and CSS each page really loads (SPEC §10).

For every page template (one that extends a layout, directly or through another) it follows the
template's `{% extends %}` chain and every `{% include %}` of each template on the way (the
base layout includes the notification bell, which loads `notifications.js`; includes inside
includes too) and collects each `{% static '….js' %}` and `{% static '….css' %}` found. A
script or stylesheet shown only under a condition counts as loaded (the heavier case). The
figure reported is the heaviest page. Run:

    .venv/bin/python bench/assets.py --write
"""

from __future__ import annotations

import argparse
import gzip
import re
import sys
from functools import cache
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
from bench.import_and_seed import write_section  # noqa: E402

STATIC = BASE_DIR / "static"
TEMPLATES = BASE_DIR / "templates"
ASSET = re.compile(r"""\{%\s*static\s+['"]([^'"]+\.(?:js|css))['"]\s*%\}""")
EXTENDS = re.compile(r"""\{%\s*extends\s+['"]([^'"]+)['"]\s*%\}""")
INCLUDE = re.compile(r"""\{%\s*include\s+['"]([^'"#]+)(?:#[^'"]*)?['"]""")
LAYOUTS = {"_base.html", "patient_portal/_base.html"}


def gz(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), compresslevel=9))


def source(name: str) -> str:
    path = TEMPLATES / name
    return path.read_text() if path.exists() else ""


@cache
def assets_of(name: str) -> tuple[str, ...]:
    """The static scripts and stylesheets `name` loads: its own, its includes', its parent's."""
    text = source(name)
    found = dict.fromkeys(ASSET.findall(text))
    for included in INCLUDE.findall(text):
        found.update(dict.fromkeys(assets_of(included)))
    for parent in EXTENDS.findall(text):
        found.update(dict.fromkeys(assets_of(parent)))
    return tuple(found)


def extends_a_layout(name: str, seen: frozenset[str] = frozenset()) -> bool:
    parents = EXTENDS.findall(source(name))
    return any(p in LAYOUTS or (p not in seen and extends_a_layout(p, seen | {p})) for p in parents)


def pages() -> list[str]:
    names = [
        str(path.relative_to(TEMPLATES))
        for path in TEMPLATES.rglob("*.html")
        if not path.name.startswith("_") and "email" not in path.parts
    ]
    return sorted(name for name in names if extends_a_layout(name))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    sizes: dict[str, int] = {}
    per_page = []
    for page in pages():
        files = [f for f in assets_of(page) if (STATIC / f).exists()]
        for f in files:
            sizes.setdefault(f, gz(STATIC / f))
        js = sum(sizes[f] for f in files if f.endswith(".js")) / 1024
        css = sum(sizes[f] for f in files if f.endswith(".css")) / 1024
        per_page.append((page, files, js, css))
    heaviest = max(per_page, key=lambda item: item[2])
    heaviest_css = max(per_page, key=lambda item: item[3])
    file_rows = [
        f"| static/{f} | {(STATIC / f).stat().st_size / 1024:.1f} kB | {sizes[f] / 1024:.1f} kB |"
        for f in sorted(sizes)
    ]
    # Pages loading the same files share a row.
    groups: dict[tuple[str, ...], list[str]] = {}
    for page, files, _js, _css in per_page:
        groups.setdefault(tuple(files), []).append(page)
    page_rows = []
    for files, names in sorted(
        groups.items(), key=lambda item: -sum(sizes[f] for f in item[0] if f.endswith(".js"))
    ):
        js = sum(sizes[f] for f in files if f.endswith(".js")) / 1024
        css = sum(sizes[f] for f in files if f.endswith(".css")) / 1024
        shown = ", ".join(f"`{n}`" for n in names[:3]) + (
            f" and {len(names) - 3} more" if len(names) > 3 else ""
        )
        page_rows.append(
            f"| {shown} | {js:.1f} kB | {css:.1f} kB | "
            + ", ".join(Path(f).name for f in files)
            + " |"
        )
    body = "\n".join(
        [
            "## What a page ships",
            "",
            "Method: `bench/assets.py` follows each page template's `{% extends %}` chain and "
            "every `{% include %}` on the way (the base layout includes the notification bell, "
            "which loads `notifications.js`), collects each script and stylesheet a page loads "
            "and gzips them (level 9). A file loaded only under a condition counts (the heavier "
            "case). No CDN, no front-end build.",
            "",
            "| file | raw | gzipped |",
            "|---|---|---|",
            *file_rows,
            "",
            "| page templates | JavaScript (gzipped) | CSS (gzipped) | files loaded |",
            "|---|---|---|---|",
            *page_rows,
            "",
            f"Heaviest page: **{heaviest[2]:.1f} kB of JavaScript** (`{heaviest[0]}`) and "
            f"**{heaviest_css[3]:.1f} kB of CSS**, gzipped. Targets: ≤ 60 kB JavaScript, ≤ 30 kB "
            "CSS.",
            "",
        ]
    )
    print(body)
    if args.write:
        write_section("What a page ships", body)


if __name__ == "__main__":
    main()
