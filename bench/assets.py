"""What a page ships: gzipped size of the JavaScript and CSS each page loads (SPEC §10).

Every page loads the base layout's assets; pages add at most their own feature script. The
figure reported is the base plus the largest feature script. Run:

    .venv/bin/python bench/assets.py --write
"""

import argparse
import gzip
import re
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
from bench.import_and_seed import write_section  # noqa: E402

STATIC = BASE_DIR / "static"


def gz(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), compresslevel=9))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    base_template = (BASE_DIR / "templates" / "_base.html").read_text()
    base_files = re.findall(r"\{% static '([^']+\.(?:js|css))' %\}", base_template)
    base_js = [STATIC / f for f in base_files if f.endswith(".js")]
    base_css = [STATIC / f for f in base_files if f.endswith(".css")]
    feature_js = sorted(p for p in (STATIC / "js").glob("*.js") if p not in base_js)
    base_js_kb = sum(gz(p) for p in base_js) / 1024
    css_kb = sum(gz(p) for p in base_css) / 1024
    largest = max(feature_js, key=gz) if feature_js else None
    worst_js = base_js_kb + (gz(largest) / 1024 if largest else 0)
    rows = [
        f"| {p.relative_to(BASE_DIR)} | {p.stat().st_size / 1024:.1f} kB | {gz(p) / 1024:.1f} kB |"
        for p in [*base_js, *feature_js, *base_css]
    ]
    body = "\n".join(
        [
            "## What a page ships",
            "",
            "Method: `bench/assets.py` gzips (level 9) every script and stylesheet under `static/` that "
            "the base layout loads, plus each page's own feature script, and reports the heaviest "
            "page: the base plus the largest feature script. No CDN, no front-end build.",
            "",
            "| file | raw | gzipped |",
            "|---|---|---|",
            *rows,
            "",
            f"Heaviest page: **{worst_js:.1f} kB of JavaScript** (base {base_js_kb:.1f} kB + "
            f"`{largest.name if largest else '-'}`) and **{css_kb:.1f} kB of CSS**, gzipped. "
            "Targets: ≤ 60 kB JavaScript, ≤ 30 kB CSS.",
            "",
        ]
    )
    print(body)
    if args.write:
        write_section("What a page ships", body)


if __name__ == "__main__":
    main()
