"""Query budgets that do not grow with a package's size, and conditional GETs."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import Maintainer, Package, User
from tests.web.conftest import fill_mongo, make_release

# What the server is asked: find_one is a find with limit 1, and a release list
# that fits in the first batch needs no getMore.

# Pinned budgets for a cold cache: the stamp, then package, classifiers,
# maintainers, history, release, files (no kept listing: see
# test_listings.py). A cached page costs the stamp.
STAMP_QUERIES = 1
PACKAGE_PAGE_QUERIES = 7
PACKAGE_PAGE_MONGO_OPS = 3


@pytest.fixture
def mongo_ops(mongo_commands):
    """The MongoDB commands a page sends (tests/conftest.py listens to the driver)."""
    return mongo_commands


def grow(package: Package) -> None:
    """40 more releases with files and five more maintainers."""
    for index in range(40):
        make_release(package, f"0.{index}.0", days=-index - 1)
    for index in range(5):
        user = User.objects.create_user(username=f"extra{index}", password="x-password-9")
        Maintainer.objects.create(package=package, user=user)


def sql_queries(client, url: str, *, cold: bool = True) -> int:
    if cold:
        cache.clear()
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_sql_package_page_queries_do_not_grow(client, catalog, settings):
    settings.CATALOG_READ_BACKEND = "sql"
    urls = ["/project/demo-pkg/", "/project/demo-pkg/1.9/"]
    before = [sql_queries(client, url) for url in urls]
    grow(catalog["demo_pkg"])
    after = [sql_queries(client, url) for url in urls]
    assert before == after == [PACKAGE_PAGE_QUERIES, PACKAGE_PAGE_QUERIES]
    # Served again from the cache: only the stamp is read.
    for url in urls:
        client.get(url)
    assert [sql_queries(client, url, cold=False) for url in urls] == [STAMP_QUERIES] * 2


def test_sql_budgets_of_other_pages(client, catalog, settings, django_assert_num_queries):
    settings.CATALOG_READ_BACKEND = "sql"
    grow(catalog["demo_pkg"])
    budgets = {
        # The counters; newest releases and updated packages, each an index read of
        # the newest timestamp's edge, then the rows from there.
        "/": 5,
        "/search/?q=demo": 3,  # names within one edit, ranked hits with their total, the page
        "/user/alice/": 2,
        "/pypi/demo-pkg/json": PACKAGE_PAGE_QUERIES + 1,  # + every file
        "/simple/demo-pkg/": STAMP_QUERIES + 3,  # package, versions, files
        "/rss/project/demo-pkg/releases.xml": 2,
    }
    for url, budget in budgets.items():
        cache.clear()
        with django_assert_num_queries(budget):
            assert client.get(url).status_code == 200, url


def test_mongo_package_page_operations_do_not_grow(client, catalog, settings, mongo_ops):
    settings.CATALOG_READ_BACKEND = "mongo"
    fill_mongo()
    mongo_ops.clear()
    assert client.get("/project/demo-pkg/").status_code == 200
    before = list(mongo_ops)
    grow(catalog["demo_pkg"])
    fill_mongo()
    cache.clear()
    mongo_ops.clear()
    assert client.get("/project/demo-pkg/").status_code == 200
    assert mongo_ops == before
    assert mongo_ops == [
        ("packages", "find"),  # the stamp
        ("packages", "find"),  # the package, its release history embedded
        ("releases", "find"),  # the release shown
    ]
    assert len(mongo_ops) == PACKAGE_PAGE_MONGO_OPS
    mongo_ops.clear()
    assert client.get("/project/demo-pkg/").status_code == 200
    assert mongo_ops == [("packages", "find")]


def test_cached_sql_pages_show_every_change_at_once(client, catalog, settings):
    settings.CATALOG_READ_BACKEND = "sql"
    package = catalog["demo_pkg"]
    page = client.get("/project/demo-pkg/").content.decode()
    assert "Yanked: gone" not in page
    old = package.releases.get(version="1.0")
    old.yanked, old.yanked_reason = True, "gone"
    old.save()
    assert "Yanked: gone" in client.get("/project/demo-pkg/").content.decode()
    package.roles.get(user__username="bob").delete()
    assert 'href="/user/bob/"' not in client.get("/project/demo-pkg/").content.decode()
    file = old.files.first()
    file.sha256 = "f" * 64
    file.save()
    assert "f" * 64 in client.get("/project/demo-pkg/1.0/").content.decode()
    assert "f" * 64 in client.get("/pypi/demo-pkg/json").content.decode()


def test_pages_answer_conditional_requests(client, backend, catalog):
    first = client.get("/project/demo-pkg/")
    etag, last_modified = first["ETag"], first["Last-Modified"]
    assert etag.startswith('"') and last_modified.endswith("GMT")
    again = client.get("/project/demo-pkg/", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b""
    since = client.get("/project/demo-pkg/", HTTP_IF_MODIFIED_SINCE=last_modified)
    assert since.status_code == 304
    for url in ("/", "/search/?q=demo", "/user/alice/", "/pypi/demo-pkg/json", "/simple/demo/"):
        response = client.get(url)
        assert response.status_code == 200 and response["ETag"], url
        assert client.get(url, HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304, url
    # A change gives a new ETag and a full page.
    package = catalog["demo_pkg"]
    package.summary = "A changed summary"
    package.save()
    package.releases.filter(version="1.9").update(updated=package.updated + timedelta(seconds=5))
    if backend == "mongo":
        fill_mongo()
    changed = client.get("/project/demo-pkg/", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag
    assert b"A changed summary" in changed.content
    assert changed["Last-Modified"] != last_modified


def test_a_checked_stamp_is_trusted_for_a_moment(client, catalog, settings):
    settings.CATALOG_READ_BACKEND = "sql"
    settings.CATALOG_STAMP_SECONDS = 1.5
    assert sql_queries(client, "/project/demo-pkg/") == PACKAGE_PAGE_QUERIES
    # Within the window the page comes from the cache without asking the database.
    assert sql_queries(client, "/project/demo-pkg/", cold=False) == 0
    release = catalog["demo_pkg"].releases.get(version="1.9")
    release.yanked, release.yanked_reason = True, "window"
    release.save()
    assert b"Yanked: window" not in client.get("/project/demo-pkg/").content
    # Once the window is over the stamp is checked again and the change shows.
    time.sleep(1.6)
    with CaptureQueriesContext(connection) as captured:
        page = client.get("/project/demo-pkg/").content
    assert b"Yanked: window" in page
    assert len(captured) == PACKAGE_PAGE_QUERIES
