"""Item content is rendered as sanitized markdown: hostile HTML is inert text (SPEC 8, Security)."""

from __future__ import annotations

import io
import json
from html.parser import HTMLParser

import pytest
from django.test import Client

from annotate import services
from annotate.models import Membership
from core.middleware import CONTENT_SECURITY_POLICY
from core.rendering import markdown_to_safe_html
from tests.factories import MembershipFactory, ProjectFactory, UserFactory

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
JS_LINK = "[click me](javascript:alert(1))"
IFRAME = '<iframe src="https://evil.example/"></iframe>'
HOSTILE = f"{SCRIPT}\n\n{IMG}\n\n{JS_LINK}\n\n{IFRAME}"

FORMATTED = """**bold words**

```python
def f():
    return 1
```

| model | score |
|-------|------:|
| x     | 0.5   |

- first point
- second point

1. step one
2. step two
"""

STATIC_SCRIPTS = {"/static/vendor/htmx.min.js", "/static/js/annotate.js"}


class _Tags(HTMLParser):
    """Every start tag with its attributes, and the text inside <script> elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.script_text: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.script_text.append(data)


def _tags(html: str) -> _Tags:
    parser = _Tags()
    parser.feed(html)
    parser.close()
    return parser


def _assert_inert(html: str) -> None:
    parsed = _tags(html)
    scripts = [attrs for tag, attrs in parsed.tags if tag == "script"]
    assert {attrs.get("src") for attrs in scripts} <= STATIC_SCRIPTS
    assert parsed.script_text == []
    assert not [tag for tag, _ in parsed.tags if tag in {"iframe", "img", "object", "embed"}]
    handlers = [
        (tag, name) for tag, attrs in parsed.tags for name in attrs if name.startswith("on")
    ]
    assert handlers == []
    hrefs = [attrs.get("href") or "" for _, attrs in parsed.tags]
    assert not [href for href in hrefs if href.strip().lower().startswith("javascript:")]
    lowered = html.lower()
    assert lowered.count("<script") == len(scripts)
    assert "onerror=" not in lowered.replace("onerror=alert(1)&gt;", "")
    assert "<iframe" not in lowered


@pytest.fixture
def annotator_page(db):
    """The annotate page of an annotator whose one item is hostile and richly formatted."""

    def render(**record_fields) -> str:
        project = ProjectFactory(instructions=f"Read carefully.\n\n{HOSTILE}")
        annotator = UserFactory(username="reader")
        MembershipFactory(project=project, user=annotator, role=Membership.Role.ANNOTATOR)
        record = {
            "external_id": "xss-1",
            "prompt": f"Prompt {HOSTILE}",
            "context": [{"role": "user", "content": f"Earlier turn {HOSTILE}"}],
            "response_a": f"Response A\n\n{HOSTILE}\n\n{FORMATTED}",
            "response_b": f"Response B\n\n{HOSTILE}",
            **record_fields,
        }
        services.items_import(
            project=project, stream=io.BytesIO(json.dumps(record).encode()), fmt="jsonl"
        )
        client = Client()
        client.force_login(annotator)
        response = client.get(f"/p/{project.pk}/annotate/")
        assert response.status_code == 200
        render.response = response
        return response.content.decode()

    return render


def test_hostile_item_content_is_shown_as_inert_text_on_the_annotate_page(annotator_page):
    html = annotator_page()

    _assert_inert(html)
    # Shown to the annotator as the literal text they would have to judge.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;iframe" in html
    assert "[click me](javascript:alert(1))" in html
    # Prompt, context turn, both responses and the instructions: five places, each escaped.
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 5


def test_our_own_static_scripts_are_still_on_the_annotate_page(annotator_page):
    parsed = _tags(annotator_page())

    srcs = {attrs.get("src") for tag, attrs in parsed.tags if tag == "script"}

    assert srcs == STATIC_SCRIPTS


def test_markdown_formatting_survives_on_the_annotate_page(annotator_page):
    html = annotator_page()

    assert "<strong>bold words</strong>" in html
    assert '<code class="language-python">def f():\n    return 1\n</code>' in html
    assert "<table>" in html and "<th>model</th>" in html
    assert '<td style="text-align:right">0.5</td>' in html
    assert "<ul>\n<li>first point</li>" in html
    assert "<ol>\n<li>step one</li>" in html


def test_annotate_page_sets_the_content_security_policy(annotator_page):
    annotator_page()
    response = annotator_page.response

    policy = response["Content-Security-Policy"]

    assert policy == CONTENT_SECURITY_POLICY
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert "unsafe-inline" not in directives["script-src"]
    assert "unsafe-eval" not in policy


def test_annotate_next_fragment_is_sanitized_too(db):
    project = ProjectFactory()
    annotator = UserFactory(username="fragment")
    MembershipFactory(project=project, user=annotator, role=Membership.Role.ANNOTATOR)
    record = {"external_id": "x", "prompt": SCRIPT, "response_a": IMG, "response_b": IFRAME}
    services.items_import(project=project, stream=io.BytesIO(json.dumps(record).encode()))
    client = Client()
    client.force_login(annotator)

    response = client.post(f"/p/{project.pk}/annotate/next/", HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert response.status_code == 200
    _assert_inert(html)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert response["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


# --- markdown_to_safe_html


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (SCRIPT, "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n"),
        (IMG, "<p>&lt;img src=x onerror=alert(1)&gt;</p>\n"),
        (IFRAME, '<p>&lt;iframe src="https://evil.example/"&gt;&lt;/iframe&gt;</p>\n'),
        ("<b>bold</b>", "<p>&lt;b&gt;bold&lt;/b&gt;</p>\n"),
        ("<!-- hidden -->", "<p>&lt;!-- hidden --&gt;</p>\n"),
        ("**bold**", "<p><strong>bold</strong></p>\n"),
        ("*it*", "<p><em>it</em></p>\n"),
        ("~~gone~~", "<p><s>gone</s></p>\n"),
        ("`a <b> c`", "<p><code>a &lt;b&gt; c</code></p>\n"),
        ("```js\nx < 1\n```", '<pre><code class="language-js">x &lt; 1\n</code></pre>\n'),
        ("- a\n- b", "<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n"),
        ("1. a\n2. b", "<ol>\n<li>a</li>\n<li>b</li>\n</ol>\n"),
        ("> quoted", "<blockquote>\n<p>quoted</p>\n</blockquote>\n"),
        ("# Title", "<h1>Title</h1>\n"),
        ("a  \nb", "<p>a<br>\nb</p>\n"),
        (
            "[docs](https://example.com/x)",
            '<p><a href="https://example.com/x" rel="noopener noreferrer nofollow">docs</a></p>\n',
        ),
        ("", ""),
    ],
)
def test_markdown_to_safe_html_renders(source, expected):
    assert markdown_to_safe_html(source) == expected


def test_markdown_to_safe_html_renders_tables_with_alignment_only():
    html = markdown_to_safe_html("| a | b |\n|:--|--:|\n| 1 | 2 |")

    assert html == (
        '<table>\n<thead>\n<tr>\n<th style="text-align:left">a</th>\n'
        '<th style="text-align:right">b</th>\n</tr>\n</thead>\n<tbody>\n<tr>\n'
        '<td style="text-align:left">1</td>\n<td style="text-align:right">2</td>\n'
        "</tr>\n</tbody>\n</table>\n"
    )


@pytest.mark.parametrize(
    "source",
    [
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](javascript&#58;alert(1))",
        "[x](<javascript:alert(1)>)",
        "<javascript:alert(1)>",
        "[x](vbscript:msgbox(1))",
        "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "[x][ref]\n\n[ref]: javascript:alert(1)",
        "![x](javascript:alert(1))",
        '<a href="javascript:alert(1)">x</a>',
    ],
)
def test_markdown_to_safe_html_never_emits_a_script_url(source):
    html = markdown_to_safe_html(source)

    hrefs = [
        value or ""
        for _, attrs in _tags(html).tags
        for name, value in attrs.items()
        if name in {"href", "src"}
    ]
    assert not [v for v in hrefs if v.lower().startswith(("javascript:", "vbscript:", "data:"))]
    assert '<a href="javascript' not in html.lower()


def test_markdown_to_safe_html_drops_links_with_other_schemes():
    assert markdown_to_safe_html("[x](ftp://example.com/f)") == (
        '<p><a rel="noopener noreferrer nofollow">x</a></p>\n'
    )


def test_markdown_to_safe_html_keeps_no_attribute_injection_from_a_fence_language():
    html = markdown_to_safe_html('```js" onmouseover="alert(1)\nx\n```')

    parsed = _tags(html)
    assert [tag for tag, _ in parsed.tags] == ["pre", "code"]
    assert set(parsed.tags[1][1]) == {"class"}
    assert "onmouseover" not in html


def test_markdown_images_become_visible_links_not_loaded_images():
    html = markdown_to_safe_html("![a cat](https://example.com/a.png)")
    assert "<img" not in html
    assert (
        '<a href="https://example.com/a.png" rel="noopener noreferrer nofollow">[image: a cat]</a>'
        in html
    )


def test_markdown_image_with_script_url_is_shown_as_plain_text():
    html = markdown_to_safe_html("![x](javascript:alert(1))")
    assert html == "<p>![x](javascript:alert(1))</p>\n"


def test_markdown_template_filter_output_is_the_sanitized_html():
    from core.templatetags.dissensus import markdown_filter

    assert str(markdown_filter(SCRIPT)) == markdown_to_safe_html(SCRIPT)
    assert str(markdown_filter(None)) == ""
