"""Safe Markdown for instructions: what a provider types can format text, never run code.

Two layers, so that a gap in one is caught by the other:

1. Markdown (the `Markdown` package) with its raw-HTML handling switched off: `<script>`,
   `<img onerror=…>`, `<iframe>` typed into the text are escaped and show as written.
2. nh3 (ammonia) cleans the HTML Markdown produced against an allow-list of tags and
   attributes; links keep only http, https and mailto addresses (no `javascript:`, no
   `data:`), and every link gets rel="noopener noreferrer nofollow". No images: a picture from
   elsewhere would tell its server who read the note, and when.
"""

from __future__ import annotations

import html
import re

import markdown  # type: ignore[import-untyped]  # no stubs in the lock (types-Markdown)
import nh3
from django.utils.safestring import SafeString, mark_safe

ALLOWED_TAGS = {
    "p",
    "br",
    "strong",
    "em",
    "b",
    "i",
    "ul",
    "ol",
    "li",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "code",
    "pre",
    "hr",
    "a",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
URL_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "noopener noreferrer nofollow"

# The page's own heading is the instruction's title (h1): a Markdown "# " heading becomes h2.
_HEADING = re.compile(r"<(/?)h1\b")
_BLOCK_END = re.compile(r"</(p|li|h[1-6]|blockquote|pre)>|<br\s*/?>|<hr\s*/?>")
_LIST_ITEM = re.compile(r"<li>")
# A link whose address was refused keeps its words, not a link that goes nowhere.
_DEAD_LINK = re.compile(r"<a(?![^>]*\shref=)[^>]*>(.*?)</a>", re.DOTALL)
_BLANK_LINES = re.compile(r"\n{3,}")
_BETWEEN_ITEMS = re.compile(r"\n\n+(?=• )")


def _markdown_html(text: str) -> str:
    md = markdown.Markdown(extensions=["sane_lists"], output_format="html")
    # Raw HTML is never markup here: the block and inline HTML handlers are removed, so
    # Markdown escapes it as text.
    md.preprocessors.deregister("html_block")
    md.inlinePatterns.deregister("html")
    return md.convert(text or "")


def _shift_headings(rendered: str) -> str:
    return _HEADING.sub(lambda m: f"<{m.group(1)}h2", rendered)


def render_markdown(text: str) -> SafeString:
    """The instruction's text as safe HTML (Markdown, then the allow-list)."""
    cleaned = nh3.clean(
        _shift_headings(_markdown_html(text)),
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel=LINK_REL,
        strip_comments=True,
    )
    cleaned = _DEAD_LINK.sub(r"\1", cleaned)
    return mark_safe(cleaned)  # noqa: S308 - cleaned by nh3 against the allow-list above


def to_plain_text(text: str) -> str:
    """The text without formatting, for the PDF export: paragraphs and list items on their
    own lines, lists with bullets, links as their words."""
    rendered = str(render_markdown(text))
    rendered = _LIST_ITEM.sub("<li>• ", rendered)
    rendered = _BLOCK_END.sub("\n", rendered)
    stripped = nh3.clean(rendered, tags=set(), attributes={})
    lines = [line.rstrip() for line in html.unescape(stripped).splitlines()]
    joined = _BLANK_LINES.sub("\n\n", "\n".join(lines))
    return _BETWEEN_ITEMS.sub("\n", joined).strip()
