"""Hostile rows in the catalog, as if written before import validation existed.

The rows are created through the ORM without validation (``objects.create``
does not run field validators), which is how an older import, a raw SQL write
or a restore could have left them. Every public page must survive them.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from catalog.models import Package
from tests.web.conftest import (  # noqa: F401 - fixtures shared with tests/web
    BASE_TIME,
    catalog,
    clear_page_cache,
    fill_mongo,
    make_release,
)

# URLs that must never become a link (scheme tricks browsers accept).
SCRIPT_URLS = [
    "javascript:alert(origin)",
    "JaVaScRiPt:alert(origin)",
    " javascript:alert(origin)",
    "\x01javascript:alert(origin)",
    "java\tscript:alert(origin)",
    "java\nscript:alert(origin)",
    "javascript://example.org/%0Aalert(origin)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydChvcmlnaW4pPC9zY3JpcHQ+",
    "vbscript:msgbox(1)",
    "//evil.example/x",
    "/relative/path",
    "https:alert(origin)",
    "http://[::1",
    "https://exa mple.org/",
]

SCRIPT_NAME = "javascript:alert(origin)%2F%2F"


def _hostile_package(display_name: str, *, days: int, **fields) -> Package:
    return Package.objects.create(
        display_name=display_name, created=BASE_TIME + timedelta(days=days), **fields
    )


@pytest.fixture
def hostile_links(catalog):  # noqa: F811 - the fixture imported above
    """Packages whose URLs are scripts, and a project named like a javascript: URL."""
    evil = _hostile_package(
        "evil-links",
        days=10,
        summary="links that are scripts",
        home_page=SCRIPT_URLS[0],
        docs_url=SCRIPT_URLS[7],
        project_urls={f"Link {i}": url for i, url in enumerate(SCRIPT_URLS)},
    )
    release = make_release(evil, "1.0", days=10, files=1)
    for file in release.files.all():
        file.url = "javascript:alert(origin)//" + file.filename
        file.save()
    named = _hostile_package(SCRIPT_NAME, days=11, summary="a name that is a URL")
    make_release(named, "1.0", days=11, files=1)
    return {"evil": evil, "named": named}


@pytest.fixture(params=["sql", "mongo"])
def read_backend(request, settings):
    """The read store of a test (call after the rows exist: it copies them to MongoDB)."""
    settings.CATALOG_READ_BACKEND = request.param

    def ready() -> str:
        if request.param == "mongo":
            fill_mongo()
        return request.param

    return ready
