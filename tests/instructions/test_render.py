"""Instructions' Markdown: formatting works, nothing in it can run."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from instructions.render import ALLOWED_TAGS, render_markdown, to_plain_text

ATTACKS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](  javascript:alert(1))",
    "[click](java&#115;cript:alert(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "![x](https://tracker.example/pixel.png)",
    '<a href="javascript:alert(1)">raw link</a>',
    "<iframe src=https://evil.example></iframe>",
    '<div style="background:url(javascript:alert(1))">x</div>',
    "<svg onload=alert(1)>",
    '[x](https://ok.example "a" onmouseover="alert(1)")',
    "<details open ontoggle=alert(1)>",
    "<!-- <script>alert(1)</script> -->",
    "`<script>alert(1)</script>`",
    "<<script>script>alert(1)<</script>/script>",
]


class Elements(HTMLParser):
    """Every real element and attribute of the output (escaped text is only text)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.attrs: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attrs += [(name, value or "") for name, value in attrs]


def elements(html: str) -> Elements:
    parser = Elements()
    parser.feed(html)
    return parser


@pytest.mark.parametrize("attack", ATTACKS)
def test_it_renders_attacks_inert(attack):
    found = elements(str(render_markdown(attack)))
    assert found.tags <= ALLOWED_TAGS, attack
    assert {name for name, _ in found.attrs} <= {"href", "title", "rel"}, attack
    for name, value in found.attrs:
        if name == "href":
            assert value.split(":", 1)[0].lower() in {"http", "https", "mailto"}, (attack, value)
    assert not {"script", "img", "iframe", "svg", "div", "details"} & found.tags


def test_raw_html_shows_as_typed_never_as_markup():
    html = str(render_markdown('<b>bold?</b> <a href="https://x.example">x</a>'))
    assert "<b>" not in html and "&lt;b&gt;bold?&lt;/b&gt;" in html
    assert "<a " not in html


def test_markdown_formatting_survives():
    html = str(
        render_markdown(
            "## Plan\n\n- **one** tablet\n- *two* walks\n\n[Guide](https://example.org/guide)"
        )
    )
    assert "<h2>Plan</h2>" in html
    # "# " would be a second h1 beside the page's title: it becomes h2.
    assert str(render_markdown("# Top")) == "<h2>Top</h2>"
    assert "<li><strong>one</strong> tablet</li>" in html
    assert "<em>two</em>" in html
    assert 'href="https://example.org/guide"' in html


def test_links_get_a_safe_rel():
    html = str(
        render_markdown("[a](https://a.example) <https://b.example> [m](mailto:x@example.org)")
    )
    assert html.count('rel="noopener noreferrer nofollow"') == 3


def test_the_plain_text_keeps_the_words_without_markup():
    text = to_plain_text(
        "# Plan\n\n- **one** tablet\n- two & three\n\n<b>typed</b> [site](https://x.example)"
    )
    assert "Plan\n• one tablet\n• two & three" in text
    assert "<b>typed</b> site" in text
    assert "**" not in text and "https://" not in text


def test_a_refused_link_keeps_its_words_without_a_link():
    assert str(render_markdown("[bad](javascript:alert(1)) and [ok](https://ok.example)")) == (
        '<p>bad and <a href="https://ok.example" rel="noopener noreferrer nofollow">ok</a></p>'
    )
