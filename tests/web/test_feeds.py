"""RSS feeds of the newest releases, the newest packages and one package's releases."""

from __future__ import annotations

import xml.etree.ElementTree as ET


def items(response) -> list[tuple[str, str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/rss+xml")
    root = ET.fromstring(response.content)  # noqa: S314 - our own test server
    return [(i.findtext("title"), i.findtext("link")) for i in root.iter("item")]


def test_newest_releases_feed(client, backend):
    found = items(client.get("/rss/updates.xml"))
    assert found[0] == ("Other 3.0rc1", "http://testserver/project/other/3.0rc1/")
    assert len(found) == 7


def test_newest_packages_feed(client, backend):
    found = items(client.get("/rss/packages.xml"))
    assert [title for title, _ in found] == [
        "Other added to pyindex",
        "demo added to pyindex",
        "Demo_Pkg added to pyindex",
    ]


def test_package_releases_feed(client, backend):
    found = items(client.get("/rss/project/Demo_Pkg/releases.xml"))
    assert [title for title, _ in found] == [
        "Demo_Pkg 2.0b1",
        "Demo_Pkg 1.11",
        "Demo_Pkg 1.10",
        "Demo_Pkg 1.9",
        "Demo_Pkg 1.0",
    ]
    assert client.get("/rss/project/nope/releases.xml").status_code == 404
