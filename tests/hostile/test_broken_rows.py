"""One bad row must not break shared pages.

Rows that import validation now refuses may already be in the database (and
in MongoDB): a name or version holding ``/``, ``../../etc``, control
characters in a name or summary. Every page that lists them, and their own
pages and feeds, answer on both read stores, never 500.
"""

from __future__ import annotations

from xml.dom import minidom

import pytest

from catalog.models import Package, Release
from tests.hostile.conftest import BASE_TIME, make_release

pytestmark = pytest.mark.django_db

# PostgreSQL stores no NUL: the other C0 controls.
CONTROL = "".join(chr(c) for c in range(1, 0x20) if chr(c) not in "\t\n\r")

HOSTILE_ROWS = [
    # (display name, summary, version)
    ("slash/name", "a name holding a slash", "1.0"),
    ("../../etc", "a name that climbs", "1.0"),
    ("dotty", "a version that climbs", "../../etc"),
    ("slashy-version", "a version holding a slash", "1.0/2"),
    ("ctl\x01name\x1f", "summary with controls " + CONTROL, "1.0\x0b"),
    ("nul-free", "\ufffe\uffff not characters", "2.0"),
]

SHARED_PAGES = [
    "/",
    "/search/",
    "/search/?q=a",
    "/search/?o=-updated",
    "/search/?o=name",
    "/simple/",
    "/rss/updates.xml",
    "/rss/packages.xml",
]


@pytest.fixture
def broken_rows(catalog):
    packages = []
    for index, (name, summary, version) in enumerate(HOSTILE_ROWS):
        package = Package.objects.create(display_name=name, summary=summary, created=BASE_TIME)
        release = make_release(package, version, days=20 + index, files=1)
        Release.objects.filter(pk=release.pk).update(summary=summary)
        packages.append(package)
    return packages


def test_shared_pages_survive_bad_rows(client, broken_rows, read_backend):
    read_backend()
    for url in SHARED_PAGES:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.getvalue(), url  # a streamed body is read to its end
        if url.endswith(".xml"):
            minidom.parseString(response.content)  # noqa: S318 - well-formed XML 1.0


def test_pages_of_the_bad_rows_answer(client, broken_rows, read_backend):
    from urllib.parse import quote

    read_backend()
    for package in broken_rows:
        name = quote(package.name, safe="")
        for release in package.releases.all():
            version = quote(release.version, safe="")
            for url in [
                f"/project/{name}/",
                f"/project/{name}/{version}/",
                f"/pypi/{name}/json",
                f"/pypi/{name}/{version}/json",
                f"/simple/{name}/",
                f"/rss/project/{name}/releases.xml",
            ]:
                response = client.get(url, follow=True)
                assert response.status_code in {200, 400, 404}, (url, response.status_code)
                if url.endswith(".xml") and response.status_code == 200:
                    minidom.parseString(response.content)  # noqa: S318 - our own feed


def test_feeds_keep_the_text_without_control_characters(client, broken_rows, read_backend):
    read_backend()
    body = client.get("/rss/updates.xml").content.decode()
    assert "summary with controls" in body
    assert "\x01" not in body and "\x1f" not in body
    assert "ctlnamex" not in body  # removed, not replaced by a look-alike


def test_the_json_api_of_a_package_with_a_climbing_version(client, broken_rows, read_backend):
    read_backend()
    response = client.get("/pypi/dotty/json")
    assert response.status_code == 200
    data = response.json()
    assert data["info"]["version"] == "../../etc"
    assert data["info"]["release_url"].endswith("/project/dotty/..%2F..%2Fetc/")
    assert list(data["releases"]) == ["../../etc"]


def test_the_feed_of_a_package_with_a_climbing_version(client, broken_rows, read_backend):
    read_backend()
    response = client.get("/rss/project/dotty/releases.xml")
    assert response.status_code == 200
    assert b"/project/dotty/..%2F..%2Fetc/" in response.content
