"""Descriptions are rendered by readme_renderer and never carry active content."""

from __future__ import annotations

import pytest

from catalog.rendering import description_render

HOSTILE = [
    '<script>alert("x")</script>',
    '<img src="x.png" onerror="alert(1)">',
    "[link](javascript:alert(2))",
    '<a href="javascript:alert(3)">a</a>',
    '<a href="https://example.org" onclick="steal()">b</a>',
    '<iframe src="https://evil.example"></iframe>',
    '<div style="background:url(javascript:alert(4))">c</div>',
]


def assert_inert(html: str) -> None:
    lowered = html.lower()
    assert "<script" not in lowered
    assert "<iframe" not in lowered
    assert "onerror" not in lowered and "onclick" not in lowered
    assert 'href="javascript:' not in lowered
    assert "style=" not in lowered


@pytest.mark.parametrize("payload", HOSTILE)
@pytest.mark.parametrize("content_type", ["text/markdown", "text/markdown; variant=CommonMark"])
def test_markdown_is_sanitized(payload, content_type):
    html = description_render(f"# Title\n\n{payload}\n", content_type)
    assert ">Title<" in html
    assert_inert(html)


def test_markdown_renders_gfm():
    html = description_render("| a | b |\n|---|---|\n| 1 | 2 |\n\n~~gone~~", "text/markdown")
    assert "<table>" in html and "<del>gone</del>" in html


def test_rst_is_rendered_and_sanitized():
    source = (
        "Title\n=====\n\n*emphasis* and `a link <javascript:alert(1)>`_\n\n"
        "`ok <https://example.org>`_\n"
    )
    html = description_render(source, "text/x-rst")
    assert "<em>emphasis</em>" in html and 'href="https://example.org"' in html
    assert_inert(html)
    # readme_renderer refuses raw HTML; the page then shows the source as text.
    html = description_render('.. raw:: html\n\n   <script>alert("rst")</script>\n', "")
    assert html.startswith('<pre class="description-text">')
    assert_inert(html)


def test_missing_content_type_is_rst_and_plain_text_is_escaped():
    assert "<em>x</em>" in description_render("*x*", "")
    html = description_render("<script>alert(1)</script>\nline two", "text/plain")
    assert "&lt;script&gt;" in html and "<br>" in html
    assert_inert(html)


def test_unknown_type_or_broken_rst_falls_back_to_escaped_text():
    html = description_render("<b onclick='x()'>hi</b>", "application/x-unknown")
    assert html.startswith('<pre class="description-text">') and "&lt;b onclick" in html
    broken = "Title\n===\n\n.. unknown-directive::\n\n   <script>x</script>\n"
    html = description_render(broken, "text/x-rst")
    assert_inert(html)
