"""Markdown to sanitized HTML for item content (LLM output, prompts, instructions).

Raw HTML in the source is never passed through: markdown-it escapes it as text, and the output
goes through nh3 (an allow-list sanitizer) as a second line of defence.
"""

from __future__ import annotations

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml

ALLOWED_TAGS = {
    "a",
    "blockquote",
    "br",
    "code",
    "del",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "li",
    "ol",
    "p",
    "pre",
    "strong",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
    "s",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "code": {"class"}, "td": {"style"}, "th": {"style"}}


def _image_as_link(self, tokens, idx, options, env):  # type: ignore[no-untyped-def]
    """Images in item content are not loaded (tracking pixels, unvetted content); the annotator
    sees that there is one, its alt text, and a link to open it."""
    token = tokens[idx]
    alt = self.renderInlineAsText(token.children or [], options, env) or "no description"
    src = escapeHtml(str(token.attrGet("src") or ""))
    return f'<a href="{src}">[image: {escapeHtml(alt)}]</a>'


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    parser = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(
        ["table", "strikethrough"]
    )
    parser.add_render_rule("image", _image_as_link)
    return parser


def markdown_to_safe_html(source: str) -> str:
    html = _parser().render(source or "")
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        filter_style_properties={"text-align"},
    )
