"""Admin saves write only what the user changed, judged after the form's normalization."""

from __future__ import annotations

import pytest

from audit.models import AuditEntry
from catalog.documents import PackageDocument
from catalog.models import Package
from tests.admin_form import form_data
from tests.audit.conftest import mongo_entries
from tests.web.conftest import fill_mongo

pytestmark = pytest.mark.django_db

AS_IMPORTED = {
    "description": "# Title\n\nFirst paragraph.\nSecond line.\n",
    "author_email": "Ann.Lee@Example.ORG",
    "maintainer_email": "Bob <Bob@Example.ORG>",
    "summary": "  padded as it came  ",
    "home_page": "example.org/home",
}


@pytest.fixture
def package():
    package = Package.objects.create(display_name="Keep-As-Is")
    # Stored as the importer keeps them (update() runs no pre_save normalization).
    Package.objects.filter(pk=package.pk).update(**AS_IMPORTED)
    return Package.objects.get(pk=package.pk)


def url(package: Package) -> str:
    return f"/admin/catalog/package/{package.pk}/change/"


def stored(package: Package) -> dict:
    return Package.objects.filter(pk=package.pk).values(*AS_IMPORTED).get()


def test_saving_the_form_unchanged_writes_nothing(
    staff_client, package, settings, django_capture_on_commit_callbacks
):
    settings.CATALOG_LIVE_SYNC = True
    fill_mongo()
    document = PackageDocument._get_collection().find_one({"_id": package.name})
    entries, document_entries = AuditEntry.objects.count(), len(mongo_entries())
    html = staff_client.get(url(package)).content.decode()
    data = form_data(html, "package_form")
    assert "\r\n" in data["description"]  # what a browser posts

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(url(package), data)

    assert response.status_code == 302
    assert stored(package) == AS_IMPORTED
    assert AuditEntry.objects.count() == entries
    assert len(mongo_entries()) == document_entries
    assert PackageDocument._get_collection().find_one({"_id": package.name}) == document


def test_an_edit_writes_only_the_edited_field(staff_client, package):
    html = staff_client.get(url(package)).content.decode()

    staff_client.post(url(package), form_data(html, "package_form", keywords="one two"))

    assert stored(package) == AS_IMPORTED
    [entry] = AuditEntry.objects.filter(model="catalog.package", operation="update").order_by(
        "-id"
    )[:1]
    # The edited field, and the serial every change raises.
    assert entry.changes == {"keywords": ["", "one two"], "last_serial": [0, 1]}


def test_an_edited_description_is_stored_with_plain_newlines(staff_client, package):
    Package.objects.filter(pk=package.pk).update(description="one\r\ntwo\r\n")
    html = staff_client.get(url(package)).content.decode()
    data = form_data(html, "package_form")
    staff_client.post(url(package), data)  # unchanged: the CRLF text is kept as stored
    assert Package.objects.get(pk=package.pk).description == "one\r\ntwo\r\n"

    data["description"] = "one\r\ntwo\r\nthree\r\n"
    staff_client.post(url(package), data)

    # Django's form field strips surrounding whitespace of what was typed.
    assert Package.objects.get(pk=package.pk).description == "one\ntwo\nthree"
