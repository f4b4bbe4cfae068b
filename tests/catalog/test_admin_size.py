"""Admin change forms at real size: saved through the form the page renders, never too big."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse

from catalog.models import Package, Release, ReleaseFile
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
        release = Release(package=package, version=f"{index // 100}.{index % 100}.0")
        release.compute_version_fields()
        rows.append(release)
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
