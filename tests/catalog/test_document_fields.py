"""catalog.document_fields: one list of fields per entity, and every reader holds to it."""

from __future__ import annotations

import dataclasses

import pytest

from catalog import mapping
from catalog.document_fields import (
    FILE_FIELDS,
    HISTORY_FIELDS,
    LATEST_FIELDS,
    PACKAGE_FIELDS,
    RELEASE_FIELDS,
    USER_FIELDS,
)
from catalog.documents import (
    FileEmbed,
    LatestReleaseEmbed,
    PackageDocument,
    ReleaseDocument,
    UserDocument,
)
from catalog.file_entries import ENTRY_FIELDS
from catalog.models import Package, Release, User
from catalog.selectors.types import PUBLISHED_FIELDS, FileRow, ReleaseRow
from tests.migrate.conftest import build_catalog

pytestmark = pytest.mark.django_db


def test_documents_hold_exactly_the_declared_fields():
    build_catalog(packages=2, releases=2, files=2)
    package = Package.objects.get(name="demo-pkg-1")
    release = Release.objects.filter(package=package).first()
    user = User.objects.get(username="alice")

    package_doc = mapping.package_documents([package.pk])[0]
    release_doc = mapping.release_documents([release.pk])[0]
    user_doc = mapping.user_document(user, include_credentials=True)

    embedded = {
        "license",
        "classifiers",
        "maintainers",
        "latest",
        "release_count",
        "history",
        "terms",
    }
    assert set(package_doc) == {"_id", "sql_id", *PACKAGE_FIELDS, *embedded}
    assert set(package_doc["latest"]) == set(LATEST_FIELDS)
    assert [set(line) for line in package_doc["history"]] == [set(HISTORY_FIELDS)] * 2
    assert set(release_doc) == {"_id", "sql_id", "package", *RELEASE_FIELDS, "files"}
    assert release_doc["files"]
    for file in release_doc["files"]:
        # Beside its fields, each file carries its API entries (computed on write).
        assert set(file) == {*FILE_FIELDS, *ENTRY_FIELDS}
    assert set(user_doc) == {"_id", "sql_id", *USER_FIELDS, "password"}


@pytest.mark.parametrize(
    ("document", "names"),
    [
        (PackageDocument, PACKAGE_FIELDS),
        (LatestReleaseEmbed, LATEST_FIELDS),
        (ReleaseDocument, RELEASE_FIELDS),
        (FileEmbed, FILE_FIELDS),
        (UserDocument, USER_FIELDS),
    ],
)
def test_the_mongoengine_documents_declare_every_field(document, names):
    assert [name for name in names if name not in document._fields] == []


def test_file_rows_have_the_file_fields_in_order():
    # The SQL selectors build FileRow positionally from values_list(*FILE_FIELDS).
    assert tuple(f.name for f in dataclasses.fields(FileRow)) == FILE_FIELDS


def test_the_json_api_publishes_package_fields():
    assert [name for name in PUBLISHED_FIELDS if name not in PACKAGE_FIELDS] == []


def test_history_lines_hold_the_release_history_rows_fields_in_order():
    # The MongoDB selectors build ReleaseRow positionally from a history line.
    assert tuple(f.name for f in dataclasses.fields(ReleaseRow)) == HISTORY_FIELDS
