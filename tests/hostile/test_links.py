"""Stored XSS: links from package data are links only when they are http(s).

Every ``href`` and ``src`` on every public page (and the admin pages that show
package data) is parsed the way a browser does (leading controls and spaces
stripped, tabs and newlines removed) and must be a path of this site or an
http(s) URL. A Content-Security-Policy with no inline script is on every response.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import quote

import pytest

from catalog.links import external_link, http_url, path_for
from catalog.models import User
from tests.hostile.conftest import SCRIPT_NAME, SCRIPT_URLS

pytestmark = pytest.mark.django_db

SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in {"href", "src", "action", "formaction"} and value is not None:
                self.urls.append(value)


def browser_scheme(url: str) -> str:
    """The scheme a browser sees in an attribute value (WHATWG URL parsing)."""
    cleaned = url.lstrip("".join(chr(c) for c in range(0x21)))
    cleaned = re.sub(r"[\t\n\r]", "", cleaned)
    match = SCHEME.match(cleaned)
    if match:
        return match.group(1).lower()
    return "//" if cleaned.startswith(("//", "\\\\", "/\\", "\\/")) else ""


def unsafe_links(html: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    return [u for u in parser.urls if browser_scheme(u) not in {"", "http", "https", "mailto"}]


@pytest.mark.parametrize("url", SCRIPT_URLS)
def test_only_http_urls_pass_the_filter(url):
    assert http_url(url) == ""
    assert "<a" not in external_link(url, "Homepage")


@pytest.mark.parametrize(
    "url", ["https://example.org/", "http://example.org/a?b=c#d", "HTTPS://EXAMPLE.ORG/x"]
)
def test_http_urls_are_links(url):
    assert http_url(url) == url
    assert external_link(url, "Homepage").startswith("<a href=")


def test_a_link_that_is_not_http_is_shown_as_escaped_text():
    html = external_link('javascript:alert("x")<b>', "Source")
    assert html == "Source (javascript:alert(&quot;x&quot;)&lt;b&gt;)"


def test_reversing_a_name_with_a_slash_never_fails():
    assert path_for("catalog:package", "a/b") == "/project/a%2Fb/"
    assert path_for("catalog:release", "x", "../../etc") == "/project/x/..%2F..%2Fetc/"
    assert path_for("catalog:package", "") == "/project//"
    assert path_for("catalog:package", "demo") == "/project/demo/"


def test_pages_render_no_script_link(client, hostile_links, read_backend):
    User.objects.create_user(username="mallory", password="x-password-9", homepage=SCRIPT_URLS[0])
    read_backend()
    named = "/project/" + quote(hostile_links["named"].name, safe="") + "/"
    pages = [
        "/",
        "/search/",
        "/search/?q=evil",
        "/search/?q=javascript",
        "/project/evil-links/",
        "/project/evil-links/1.0/",
        named,
        "/simple/",
        "/simple/evil-links/",
        "/user/mallory/",
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.getvalue().decode()
        assert unsafe_links(html) == [], url
    sidebar = client.get("/project/evil-links/").content.decode()
    # The data is still shown, as text.
    assert "Homepage (javascript:alert(origin))" in sidebar
    assert "Link 0 (javascript:alert(origin))" in sidebar
    files = client.get("/simple/evil-links/").content.decode()
    assert "<a " not in files and "evil_links-1.0.tar.gz<br>" in files


def test_the_simple_index_link_of_a_name_like_a_url_stays_on_the_site(client, hostile_links):
    html = client.get("/simple/").getvalue().decode()
    canonical = hostile_links["named"].name
    assert canonical == SCRIPT_NAME.lower()
    link = re.search(r'<a href="([^"]+)">' + re.escape(canonical) + "</a>", html).group(1)
    assert browser_scheme(link) == ""
    # Followed relative to /simple/, it reaches the project's own page.
    response = client.get("/simple/" + link)
    assert response.status_code == 200
    assert f"Links for {canonical}" in response.content.decode()


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/search/?q=demo",
        "/project/demo-pkg/",
        "/project/nope/",
        "/pypi/demo-pkg/json",
        "/simple/",
        "/rss/updates.xml",
        "/admin/login/",
        "/admin/mongo/",
    ],
)
def test_every_response_has_a_content_security_policy(client, catalog, url):
    response = client.get(url)
    policy = response["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


def test_templates_hold_no_inline_script_or_style():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    for template in [
        *root.glob("catalog/templates/**/*.html"),
        *root.glob("audit/templates/**/*.html"),
    ]:
        text = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), template
        assert "<style" not in text and " style=" not in text, template
        assert not re.search(r"\son[a-z]+=", text), template


def test_admin_pages_render_no_script_link(staff_client, hostile_links):
    from catalog.models import Package
    from tests.hostile.conftest import fill_mongo

    slash = Package.objects.create(display_name="slash/name", home_page=SCRIPT_URLS[1])
    fill_mongo()
    evil = hostile_links["evil"]
    release = evil.releases.get()
    file = release.files.get()
    pages = [
        f"/admin/catalog/package/{evil.pk}/change/",
        f"/admin/catalog/package/{slash.pk}/change/",
        f"/admin/catalog/package/{hostile_links['named'].pk}/change/",
        f"/admin/catalog/release/{release.pk}/change/",
        f"/admin/catalog/releasefile/{file.pk}/change/",
        "/admin/catalog/package/?q=evil",
        "/admin/mongo/catalog/packagedocument/evil-links/change/",
        "/admin/mongo/catalog/releasedocument/?package=evil-links",
        f"/admin/catalog/package/{evil.pk}/history/",
    ]
    for url in pages:
        response = staff_client.get(url)
        assert response.status_code == 200, url
        assert unsafe_links(response.content.decode()) == [], url
