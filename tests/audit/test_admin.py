"""The admin History view (diffs, paging, query budget) and restores, without a browser."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import Classifier, Package, PackageListing
from tests.audit.conftest import sql_entries

pytestmark = pytest.mark.django_db


def history_url(package: Package) -> str:
    return f"/admin/catalog/package/{package.pk}/history/"


def test_history_shows_old_and_new_values_side_by_side(staff_client, package):
    package.summary = "Better summary"
    package.save()

    page = staff_client.get(history_url(package)).content.decode()

    assert '<td class="audit-old"><code>A demo</code></td>' in page
    assert '<td class="audit-new"><code>Better summary</code></td>' in page
    # Both entries can be restored; only the update can be reverted (the create has no before).
    assert page.count("Restore this state (New)") == 2
    assert page.count("Revert this change (back to Old)") == 1


def test_history_query_count_does_not_grow_with_entries(staff_client, package):
    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert staff_client.get(history_url(package)).status_code == 200
        return len(ctx.captured_queries)

    package.summary = "one"
    package.save()
    few = queries()
    for i in range(40):
        package.summary = f"change {i}"
        package.save()
    many = queries()
    assert few == many
    assert "Page 1 of 2" in staff_client.get(history_url(package)).content.decode()


def test_restore_a_version_is_itself_recorded(staff_client, staff_user, package):
    web = Classifier.objects.create(name="Web")
    package.classifiers.add(web)
    first_version = sql_entries(model="catalog.package")[-1]
    package.summary = "Vandalised"
    package.save()
    package.classifiers.clear()

    response = staff_client.post(f"{history_url(package)}{first_version.pk}/restore/")

    assert response.status_code == 302
    package.refresh_from_db()
    assert package.summary == "A demo"
    assert list(package.classifiers.all()) == [web]
    restore_entries = sql_entries(note=f"restore of entry #{first_version.pk}")
    assert {e.operation for e in restore_entries} == {"update", "m2m_add"}
    assert {e.actor for e in restore_entries} == {"staff"}
    assert "Restored package" in staff_client.get(response["Location"]).content.decode()


def test_restore_deleted_recreates_the_object_with_its_key(staff_client, package, releases):
    pk = package.pk
    package.delete()

    listing = staff_client.get("/admin/catalog/package/deleted/").content.decode()
    assert "demo-pkg" in listing
    [deleted] = sql_entries(model="catalog.package", operation="delete")
    response = staff_client.post(f"/admin/catalog/package/deleted/{deleted.pk}/restore/")

    assert response.status_code == 302
    assert response["Location"] == f"/admin/catalog/package/{pk}/change/"
    restored = Package.objects.get(pk=pk)
    assert (restored.name, restored.summary) == ("demo-pkg", "A demo")
    [entry] = sql_entries(model="catalog.package", operation="create", note__startswith="restore")
    assert entry.actor == "staff"
    # Its releases were deleted with it: they came back with it, in the same operation.
    assert sorted(restored.releases.values_list("version", flat=True)) == ["1.0", "1.1", "2.0b1"]
    page = staff_client.get(response["Location"]).content.decode()
    assert "with 3 releases" in page
    assert (
        "(restored since)" in staff_client.get("/admin/catalog/package/deleted/").content.decode()
    )


def test_a_restored_package_gets_its_release_listing_back(
    staff_client, package, releases, settings, django_capture_on_commit_callbacks
):
    settings.CATALOG_LISTING_MIN_RELEASES = 3  # demo-pkg's three releases make it large
    pk = package.pk
    package.delete()
    [deleted] = sql_entries(model="catalog.package", operation="delete")

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(f"/admin/catalog/package/deleted/{deleted.pk}/restore/")

    assert response.status_code == 302
    listing = PackageListing.objects.get(package_id=pk)
    assert listing.built == listing.written
    assert (listing.name, listing.default_version) == ("demo-pkg", "1.1")
    assert '"1.0": []' in listing.json_releases


def test_restore_deleted_refuses_an_object_that_exists(staff_client, package):
    package.delete()
    [deleted] = sql_entries(model="catalog.package", operation="delete")
    staff_client.post(f"/admin/catalog/package/deleted/{deleted.pk}/restore/")

    again = staff_client.post(
        f"/admin/catalog/package/deleted/{deleted.pk}/restore/", follow=True
    ).content.decode()

    assert "already exists" in again


# --- revert / restore of pre-audit objects, deletions with what they took, listings ---


def test_an_object_from_before_auditing_reverts_to_its_state_before_its_first_change(
    staff_client,
):
    from audit.context import audit_disabled

    with audit_disabled():  # seeded or imported before auditing: no create entry
        package = Package.objects.create(display_name="Old-Timer", summary="as seeded")
    package.summary = "first recorded edit"
    package.save()
    package.summary = "second edit"
    package.save()
    first, second = sql_entries(model="catalog.package")

    page = staff_client.get(history_url(package)).content.decode()
    assert f'aria-label="Revert the change of entry {first.pk}"' in page
    response = staff_client.post(f"{history_url(package)}{first.pk}/revert/", follow=True)

    package.refresh_from_db()
    assert package.summary == "as seeded"
    assert f"Reverted package “Old-Timer” to its state before entry #{first.pk}" in (
        response.content.decode()
    )
    [revert] = sql_entries(note=f"revert of entry #{first.pk}")
    # The serial is never lowered by a revert: it goes up like on any change.
    assert revert.changes == {"summary": ["second edit", "as seeded"], "last_serial": [2, 3]}

    # "Restore this state" of the first change: its New side.
    staff_client.post(f"{history_url(package)}{first.pk}/restore/")
    package.refresh_from_db()
    assert package.summary == "first recorded edit"
    assert second.pk  # the second edit is undone by both


def test_a_deleted_release_comes_back_with_its_files_in_one_operation(staff_client, package):
    from catalog.models import Release, ReleaseFile

    release = Release.objects.create(package=package, version="1.0")
    for name in ("demo_pkg-1.0.tar.gz", "demo_pkg-1.0-py3-none-any.whl"):
        ReleaseFile.objects.create(release=release, filename=name, sha256="a" * 64)
    staff_client.post(f"/admin/catalog/release/{release.pk}/delete/", {"post": "yes"})
    assert not ReleaseFile.objects.exists()
    [deleted] = sql_entries(model="catalog.release", operation="delete")

    listing = staff_client.get("/admin/catalog/release/deleted/").content.decode()
    assert "<h2>demo-pkg 1.0</h2>" in listing
    assert f'<a href="/admin/catalog/package/{package.pk}/change/">demo-pkg</a>' in listing
    assert "sort_key" not in listing  # internal fields stay out of the diff
    files_listing = staff_client.get("/admin/catalog/releasefile/deleted/").content.decode()
    assert "Release: demo-pkg 1.0 (deleted too)" in files_listing

    response = staff_client.post(
        f"/admin/catalog/release/deleted/{deleted.pk}/restore/", follow=True
    )

    assert "with 2 release files" in response.content.decode()
    assert sorted(Release.objects.get(pk=release.pk).files.values_list("filename", flat=True)) == [
        "demo_pkg-1.0-py3-none-any.whl",
        "demo_pkg-1.0.tar.gz",
    ]
    restore_entries = sql_entries(note=f"restore of deleted entry #{deleted.pk}")
    assert sorted(e.model for e in restore_entries) == [
        "catalog.package",  # its last_serial goes up with the restored release
        "catalog.release",
        "catalog.releasefile",
        "catalog.releasefile",
    ]
    assert len({e.correlation_id for e in restore_entries}) == 1
    assert {e.actor for e in restore_entries} == {"staff"}


def test_a_restore_that_cannot_be_whole_says_why_and_restores_nothing(
    staff_client, package, releases
):
    package.delete()
    [deleted] = sql_entries(model="catalog.package", operation="delete")
    Package.objects.create(display_name="demo.pkg")  # takes the canonical name demo-pkg

    response = staff_client.post(
        f"/admin/catalog/package/deleted/{deleted.pk}/restore/", follow=True
    )

    page = response.content.decode()
    assert "Nothing was restored: package with name &#x27;demo-pkg&#x27; exists" in page
    assert not Package.objects.filter(pk=deleted.object_key).exists()
    from catalog.models import Release

    assert not Release.objects.exists()
    assert not sql_entries(note__startswith="restore")


def test_the_audit_entry_detail_shows_changes_as_a_table(staff_client, package):
    package.description = "word " * 400
    package.save()
    entry = sql_entries(model="catalog.package")[-1]

    page = staff_client.get(f"/admin/audit/auditentry/{entry.pk}/change/").content.decode()

    assert "<title>" in page and "pyindex administration" in page
    assert '<table class="audit-diff">' in page
    assert '<th scope="row">description</th>' in page
    assert ("word " * 400).strip() in page  # whole, wrapped by CSS, not cut
    assert "audit/history.css" in page


def test_audit_entries_filter_by_model_without_reading_them_all(staff_client, package, releases):
    page = staff_client.get("/admin/audit/auditentry/?model=catalog.release").content.decode()

    assert "catalog.release" in page
    assert page.count('<td class="field-model">catalog.package</td>') == 0
    assert page.count('<td class="field-model">catalog.release</td>') == 3


def test_a_restore_names_a_parent_deleted_since_and_restores_nothing(staff_client):
    from catalog.models import License, Release

    mit = License.objects.create(name="MIT")
    package = Package.objects.create(display_name="Licensed", license=mit)
    Release.objects.create(package=package, version="1.0")
    license_pk = mit.pk
    package.delete()
    mit.delete()
    [deleted] = sql_entries(model="catalog.package", operation="delete")

    page = staff_client.post(
        f"/admin/catalog/package/deleted/{deleted.pk}/restore/", follow=True
    ).content.decode()

    assert f"its license #{license_pk} no longer exists (restore that license first)" in page
    assert not Package.objects.exists() and not Release.objects.exists()
