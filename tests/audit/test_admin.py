"""The admin History view (diffs, paging, query budget) and restores, without a browser."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import Classifier, Package
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
    assert page.count("Restore this version") == 2


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
    # Its releases were deleted too: each can be restored from the release admin.
    release_entries = sql_entries(model="catalog.release", operation="delete")
    assert len(release_entries) == 3
    staff_client.post(f"/admin/catalog/release/deleted/{release_entries[0].pk}/restore/")
    assert restored.releases.count() == 1
    assert (
        "(restored since)" in staff_client.get("/admin/catalog/package/deleted/").content.decode()
    )


def test_restore_deleted_refuses_an_object_that_exists(staff_client, package):
    package.delete()
    [deleted] = sql_entries(model="catalog.package", operation="delete")
    staff_client.post(f"/admin/catalog/package/deleted/{deleted.pk}/restore/")

    again = staff_client.post(
        f"/admin/catalog/package/deleted/{deleted.pk}/restore/", follow=True
    ).content.decode()

    assert "already exists" in again
