"""Both stores render every page type identically from the same catalog."""

from __future__ import annotations

import pytest
from django.test import override_settings

from tests.web.conftest import fill_mongo

PAGES = [
    "/",
    "/search/?q=demo",
    "/search/?q=demo&o=name",
    "/search/?o=-updated",
    "/search/?c=Programming+Language+%3A%3A+Python",
    "/search/?license=MIT+License",
    "/project/demo-pkg/",
    "/project/demo-pkg/1.11/",
    "/project/demo-pkg/2.0b1/",
    "/project/other/",
    "/project/demo/0.1/",
    "/project/nope/",
    "/project/demo-pkg/9/",
    "/user/alice/",
    "/user/carol/",
    "/user/nobody/",
    "/pypi/demo-pkg/json",
    "/pypi/demo-pkg/1.0/json",
    "/pypi/nope/json",
    "/simple/",
    "/simple/demo-pkg/",
    "/simple/nope/",
    "/rss/updates.xml",
    "/rss/packages.xml",
    "/rss/project/demo-pkg/releases.xml",
]


@pytest.mark.parametrize("accept", ["text/html", "application/vnd.pypi.simple.v1+json"])
def test_every_page_is_the_same_on_both_backends(client, catalog, accept):
    fill_mongo()
    for url in PAGES:
        with override_settings(CATALOG_READ_BACKEND="sql"):
            sql = client.get(url, HTTP_ACCEPT=accept)
        with override_settings(CATALOG_READ_BACKEND="mongo"):
            mongo = client.get(url, HTTP_ACCEPT=accept)
        assert sql.status_code == mongo.status_code, url
        assert sql.get("Content-Type") == mongo.get("Content-Type"), url
        # getvalue(): /simple/ streams.
        assert sql.getvalue().decode() == mongo.getvalue().decode(), url
        assert sql.get("ETag") == mongo.get("ETag"), url
        assert sql.get("Last-Modified") == mongo.get("Last-Modified"), url
    # And the pages are not trivially equal: they show the catalog.
    assert b"Demo_Pkg" in client.get("/project/demo-pkg/").content


@pytest.mark.slow
def test_a_seeded_catalog_renders_the_same_on_both_backends(client, db):
    from catalog.models import Package, Release, User
    from catalog.services.seed import catalog_seed

    catalog_seed(packages=12, seed=7)
    fill_mongo()
    urls = ["/", "/search/?o=-updated", "/search/?o=name&page=1", "/simple/"]
    urls += ["/rss/updates.xml", "/rss/packages.xml"]
    for package in Package.objects.order_by("name")[:6]:
        release = Release.objects.filter(package=package).order_by("sort_key").first()
        urls += [
            f"/project/{package.name}/",
            f"/project/{package.name}/{release.version}/",
            f"/pypi/{package.name}/json",
            f"/simple/{package.name}/",
            f"/search/?q={package.name[:4]}",
        ]
    urls += [f"/user/{u}/" for u in User.objects.values_list("username", flat=True)[:4]]
    for url in urls:
        with override_settings(CATALOG_READ_BACKEND="sql"):
            sql = client.get(url)
        with override_settings(CATALOG_READ_BACKEND="mongo"):
            mongo = client.get(url)
        assert sql.status_code == mongo.status_code == 200, url
        # getvalue(): /simple/ streams.
        assert sql.getvalue().decode() == mongo.getvalue().decode(), url
