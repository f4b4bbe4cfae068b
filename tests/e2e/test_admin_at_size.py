"""Staff in Chromium: a 2,000-release package saved, a release deleted and restored with its
files, a change reverted. Screenshots go to test-artifacts/."""

from __future__ import annotations

import re

import pytest
from django.test import override_settings
from playwright.sync_api import expect

from audit.models import AuditEntry
from catalog.models import Package, Release, ReleaseFile
from tests.catalog.test_admin_size import big_package

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def log_in(page) -> None:
    page.goto("/admin/")
    page.get_by_label("Username").fill("staff")
    page.get_by_label("Password").fill("staff-password-123")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#site-name")).to_have_text("pyindex administration")


@override_settings(SESSION_COOKIE_SECURE=False, CSRF_COOKIE_SECURE=False)
def test_staff_saves_a_package_with_2000_releases(page, staff_user, artifacts):
    package = big_package(2000)
    log_in(page)

    page.goto(f"/admin/catalog/package/{package.pk}/change/")
    expect(page.locator(".release-summary")).to_contain_text("2000 releases; newest: 19.99.0")
    page.get_by_label("Summary").fill("Saved with 2,000 releases")
    page.screenshot(path=str(artifacts / "admin-2000-releases-change.png"), full_page=True)
    page.get_by_role("button", name="Save and continue editing").click()

    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    package.refresh_from_db()
    assert package.summary == "Saved with 2,000 releases"
    assert package.releases.count() == 2000
    height = page.evaluate("document.documentElement.scrollHeight")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert height < 4000 and width <= 1280, (height, width)

    page.get_by_role("link", name="All 2000 releases of Big.Pkg").click()
    expect(page).to_have_url(
        re.compile(rf"/admin/catalog/release/\?package__id__exact={package.pk}$")
    )
    expect(page.locator("#result_list")).to_contain_text("19.99.0")
    page.screenshot(path=str(artifacts / "admin-2000-releases-list.png"), full_page=True)


@override_settings(SESSION_COOKIE_SECURE=False, CSRF_COOKIE_SECURE=False)
def test_staff_deletes_a_release_and_restores_it_with_its_files(page, staff_user, artifacts):
    package = Package.objects.create(display_name="geo-cache")
    release = Release.objects.create(package=package, version="1.0.0")
    for name in ("geo_cache-1.0.0.tar.gz", "geo_cache-1.0.0-py3-none-any.whl"):
        ReleaseFile.objects.create(release=release, filename=name, sha256="b" * 64)
    log_in(page)

    page.goto(f"/admin/catalog/release/{release.pk}/delete/")
    page.get_by_role("button", name="Yes, I’m sure").click()
    expect(page.locator(".messagelist")).to_contain_text("was deleted successfully")
    assert not ReleaseFile.objects.exists()

    page.get_by_role("link", name="Deleted releases").click()
    entry = page.get_by_role("region", name="Deleted geo-cache 1.0.0")
    expect(entry.get_by_role("link", name="geo-cache")).to_have_attribute(
        "href", f"/admin/catalog/package/{package.pk}/change/"
    )
    expect(entry).not_to_contain_text("sort_key")
    page.screenshot(path=str(artifacts / "admin-deleted-releases.png"), full_page=True)
    entry.get_by_role("button", name="Restore geo-cache 1.0.0").click()

    expect(page).to_have_url(re.compile(rf"/admin/catalog/release/{release.pk}/change/$"))
    expect(page.locator(".messagelist")).to_contain_text("with 2 release files")
    page.screenshot(path=str(artifacts / "admin-release-restored.png"), full_page=True)
    assert Release.objects.get(pk=release.pk).files.count() == 2
    restored = AuditEntry.objects.filter(note__startswith="restore of deleted")
    # The release, its two files, and its package's raised last_serial.
    assert restored.count() == 4
    assert restored.values("correlation_id").distinct().count() == 1


@override_settings(SESSION_COOKIE_SECURE=False, CSRF_COOKIE_SECURE=False)
def test_staff_reverts_a_change_from_history(page, staff_user, artifacts):
    package = Package.objects.create(display_name="Revert-Me", summary="Right summary")
    log_in(page)

    page.goto(f"/admin/catalog/package/{package.pk}/change/")
    page.get_by_label("Summary").fill("Wrong summary")
    page.get_by_role("button", name="Save and continue editing").click()
    page.get_by_role("link", name="History").click()
    change = AuditEntry.objects.filter(model="catalog.package", operation="update").get()
    page.screenshot(path=str(artifacts / "admin-history.png"), full_page=True)
    page.get_by_role("button", name=f"Revert the change of entry {change.pk}").click()

    expect(page.locator(".messagelist")).to_contain_text(f"to its state before entry #{change.pk}")
    package.refresh_from_db()
    assert package.summary == "Right summary"
    page.screenshot(path=str(artifacts / "admin-history-reverted.png"), full_page=True)
