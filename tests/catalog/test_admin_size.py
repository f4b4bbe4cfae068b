"""Admin change forms at real size: saved through the form the page renders, never too big."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.models import Maintainer, Package, Release, ReleaseFile, User
from tests.admin_form import form_data, form_fields

pytestmark = pytest.mark.django_db


def admin_url(model, action="changelist", *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{action}", args=args)


def big_package(releases: int, *, name: str = "Big.Pkg") -> Package:
    package = Package.objects.create(
        display_name=name, summary="old summary", description="# Big\n\nTwo lines.\n"
    )
    rows = []
    for index in range(releases):
        rows.append(Release(package=package, version=f"{index // 100}.{index % 100}.0"))
    Release.objects.bulk_create(rows)
    return package


def release_with_files(files: int) -> Release:
    package = Package.objects.create(display_name="Many-Files")
    release = Release.objects.create(package=package, version="1.0")
    ReleaseFile.objects.bulk_create(
        ReleaseFile(
            release=release,
            filename=f"many_files-1.0-cp3{index % 10}-abi-plat{index}.whl",
            packagetype="bdist_wheel",
            sha256=f"{index:064x}",
        )
        for index in range(files)
    )
    return release


def test_a_package_with_2000_releases_is_saved_through_its_rendered_form(staff_client):
    package = big_package(2000)
    url = admin_url(Package, "change", package.pk)
    html = staff_client.get(url).content.decode()

    fields = form_fields(html, "package_form")
    assert len(fields) < settings.DATA_UPLOAD_MAX_NUMBER_FIELDS // 2
    response = staff_client.post(url, form_data(html, "package_form", summary="new summary"))

    assert response.status_code == 302, response.content.decode()[:2000]
    package.refresh_from_db()
    assert package.summary == "new summary"
    assert package.releases.count() == 2000


def test_the_package_page_summarizes_its_releases_and_links_to_them(staff_client):
    package = big_package(2000)
    other = big_package(3, name="Other")
    html = staff_client.get(admin_url(Package, "change", package.pk)).content.decode()

    assert "<strong>2000</strong> releases" in html
    assert 'name="releases-TOTAL_FORMS"' not in html  # no editable release rows
    newest = package.releases.newest_first().first()
    assert f'newest: <a href="{admin_url(Release, "change", newest.pk)}">19.99.0</a>' in html
    listing_url = f"{admin_url(Release)}?package__id__exact={package.pk}"
    assert f'href="{listing_url}"' in html

    listing = staff_client.get(listing_url).content.decode()
    assert "19.99.0" in listing
    assert other.releases.first().get_absolute_url() not in listing
    assert f"/admin/catalog/release/{other.releases.first().pk}/change/" not in listing


def test_a_release_with_200_files_is_saved_through_its_rendered_form(staff_client):
    release = release_with_files(200)
    url = admin_url(Release, "change", release.pk)
    html = staff_client.get(url).content.decode()

    assert "<strong>200</strong> files, too many to edit here" in html
    assert f'href="{admin_url(ReleaseFile)}?release__id__exact={release.pk}"' in html
    response = staff_client.post(
        url, form_data(html, "release_form", yanked_reason="broken wheels", yanked="on")
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    release.refresh_from_db()
    assert (release.yanked, release.yanked_reason) == (True, "broken wheels")
    assert release.files.count() == 200


def test_a_release_with_few_files_edits_them_in_place(staff_client):
    release = release_with_files(3)
    url = admin_url(Release, "change", release.pk)
    html = staff_client.get(url).content.decode()
    first = release.files.order_by("pk").first()
    index = next(
        name.split("-")[1]
        for name, value in form_fields(html, "release_form")
        if name.endswith("-id") and value == str(first.pk)
    )

    data = form_data(html, "release_form", **{f"files-{index}-size": "4321"})
    assert staff_client.post(url, data).status_code == 302
    first.refresh_from_db()
    assert first.size == 4321


# Session, user, package, maintainer count, classifiers, maintainer rows (with
# their users), one per maintainer row for its user autocomplete widget (at most
# MAINTAINERS_INLINE_LIMIT rows), the newest releases, the release count, then
# the MongoDB document check (mapping.package_documents: package, classifiers,
# maintainers, release history, default release).
MAINTAINERS = 2
PACKAGE_CHANGE_QUERIES = 13 + MAINTAINERS
PAGE_BYTES = 150_000


@pytest.mark.parametrize("releases", [10, 1000])
def test_package_change_form_costs_fixed_queries_and_bounded_html(
    staff_client, django_assert_num_queries, releases
):
    package = big_package(releases)
    for index in range(MAINTAINERS):
        user = User.objects.create_user(username=f"maintainer{index}")
        Maintainer.objects.create(package=package, user=user)
    url = admin_url(Package, "change", package.pk)
    staff_client.get(url)  # warm: the content type cache is per process

    with django_assert_num_queries(PACKAGE_CHANGE_QUERIES):
        response = staff_client.get(url)

    assert response.status_code == 200
    assert len(response.content) <= PAGE_BYTES


COUNT_QUERY = re.compile(r'SELECT COUNT\(\*\) AS "__count" FROM (?P<source>\S+)')


def count_queries(client, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return [q["sql"] for q in captured.captured_queries if COUNT_QUERY.search(q["sql"])]


@pytest.mark.parametrize("model", [Package, Release, ReleaseFile], ids=lambda m: m.__name__)
def test_changelists_never_count_a_whole_table(staff_client, model):
    release_with_files(3)
    for url in (admin_url(model), f"{admin_url(model)}?q=many"):
        for sql in count_queries(staff_client, url):
            # A count is bounded: over a subquery with a LIMIT, never the bare table.
            assert COUNT_QUERY.search(sql)["source"] == "(SELECT", sql
            assert " LIMIT 10001" in sql


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL keeps row estimates")
def test_a_large_unfiltered_changelist_shows_the_estimated_count(staff_client):
    from audit.context import audit_disabled

    with audit_disabled():
        big_package(10_500)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE catalog_release")

    assert count_queries(staff_client, admin_url(Release)) == []  # the estimate, no COUNT(*)
    html = staff_client.get(admin_url(Release)).content.decode()
    assert re.search(r"about 10[45]\d\d releases", html)
    filtered = staff_client.get(f"{admin_url(Release)}?q=big-pkg").content.decode()
    assert "more than 10000 releases" in filtered


def test_release_search_and_autocomplete_take_a_name_then_a_version(staff_client):
    big_package(150)
    big_package(3, name="Big.Other")

    listing = staff_client.get(admin_url(Release), {"q": "Big_Pkg 1.4"}).content.decode()
    assert "1.49.0" in listing and "0.1.0" not in listing and "Big.Other" not in listing
    response = staff_client.get(
        "/admin/autocomplete/",
        {
            "app_label": "catalog",
            "model_name": "releasefile",
            "field_name": "release",
            "term": "big-other",
        },
    )
    assert sorted(r["text"] for r in response.json()["results"]) == [
        "Big.Other 0.0.0",
        "Big.Other 0.1.0",
        "Big.Other 0.2.0",
    ]
