"""catalog.mapping, documents -> rows: the inverse of the forward mapping, and its checks."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from catalog import mapping
from catalog.models import Release, User
from tests.migrate.conftest import build_catalog

pytestmark = pytest.mark.django_db


def problems(function, doc, **kwargs) -> list[tuple[str, str]]:
    with pytest.raises(mapping.DocumentInvalid) as raised:
        function(doc, **kwargs)
    return raised.value.problems


@pytest.fixture
def documents(db):
    build_catalog(packages=2, releases=2, files=2)
    release = Release.objects.get(package__name="demo-pkg-1", version="1.0.0")
    user = User.objects.get(username="alice")
    return {
        "package": mapping.package_documents([release.package_id])[0],
        "release": mapping.release_documents([release.pk])[0],
        "user": mapping.user_document(user, include_credentials=True),
        "rows": (release, user),
    }


def test_documents_map_back_to_their_rows(documents):
    release, user = documents["rows"]
    package = release.package

    fields = mapping.package_fields(documents["package"])
    relations = mapping.package_relations(documents["package"])
    release_fields = mapping.release_fields(documents["release"])
    files = mapping.release_files(documents["release"])

    for name, value in fields.items():
        assert mapping.same_value(getattr(package, name), value), name
    assert relations.license is None
    assert relations.classifiers == frozenset(c.name for c in package.classifiers.all())
    assert relations.maintainers == {"alice": "owner"}
    for name, value in release_fields.items():
        assert mapping.same_value(getattr(release, name), value), name
    assert [f["filename"] for f in files] == sorted(f.filename for f in release.files.all())
    assert mapping.document_sql_id(documents["release"]) == release.pk


def test_password_hashes_only_when_asked(documents):
    _, user = documents["rows"]

    assert "password" not in mapping.user_fields(documents["user"])
    assert mapping.user_fields(documents["user"], include_credentials=True)["password"] == (
        user.password
    )


def test_left_out_values_take_the_constant_defaults():
    fields = mapping.package_fields(
        {"_id": "tiny", "display_name": "Tiny", "created": datetime(2024, 5, 1)}
    )

    assert fields["summary"] == ""
    assert fields["project_urls"] == {}
    assert fields["last_serial"] == 0
    # A naive time read from MongoDB is UTC.
    assert fields["created"] == datetime(2024, 5, 1, tzinfo=UTC)
    # No updated: the row's save sets it.
    assert "updated" not in fields


def test_sort_key_and_prerelease_come_from_the_version():
    fields = mapping.release_fields(
        {
            "_id": "tiny==2.0rc1",
            "package": "tiny",
            "version": "2.0rc1",
            "sort_key": "stale",
            "is_prerelease": False,
            "created": datetime(2024, 5, 1, tzinfo=UTC),
        }
    )

    release = Release(version="2.0rc1")
    release.compute_version_fields()
    assert fields["sort_key"] == release.sort_key
    assert fields["is_prerelease"] is True


def test_each_bad_field_is_named_with_the_reason():
    found = problems(
        mapping.package_fields,
        {
            "_id": "Not_Canonical",
            "display_name": "",
            "summary": 42,
            "keywords": "k" * 2000,
            "last_serial": True,
            "project_urls": {"Home": 7},
            "created": "yesterday",
        },
    )

    assert found == [
        ("summary", "expected a string, got int"),
        ("keywords", "is 2000 characters long; at most 1024 fit"),
        ("last_serial", "expected an integer, got bool"),
        ("created", "expected a date and time, got str"),
        ("name", "'Not_Canonical' is not a canonical (PEP 503) name; expected 'not-canonical'"),
        ("display_name", "is empty"),
        ("project_urls", "URL of 'Home' must be a string, got int"),
    ]


def test_bad_relations_are_named():
    found = problems(
        mapping.package_relations,
        {
            "license": "MIT",
            "classifiers": ["Topic :: Fun", 3],
            "maintainers": [
                {"user_id": 1, "username": "alice", "role": "emperor"},
                {"user_id": 2, "username": "bob", "role": "owner"},
                {"user_id": 2, "username": "bob", "role": "owner"},
                "carol",
            ],
        },
    )

    assert found == [
        ("license", "expected an object {name, spdx_id} or null, got str"),
        ("classifiers", "3 expected a string, got int"),
        ("maintainers.role", "'alice' has role 'emperor', expected one of maintainer, owner"),
        ("maintainers.username", "'bob' is listed twice"),
        ("maintainers", "entry 3: expected an object, got str"),
    ]


FILE = {"packagetype": "sdist", "sha256": "0" * 64, "upload_time": datetime(2024, 5, 1)}


def test_bad_release_and_files_are_named():
    doc = {
        "_id": "tiny==1.0",
        "package": "tiny",
        "version": "1.0",
        "created": datetime(2024, 5, 1, tzinfo=UTC),
        "files": [
            {**FILE, "filename": "a.tar.gz", "size": -5},
            {**FILE, "filename": "a.tar.gz", "upload_time": None},  # unknown: allowed
            {**FILE, "filename": "", "size": 2**63},
            {"filename": "b.tar.gz", "upload_time": datetime(2024, 5, 1)},
        ],
    }

    assert problems(mapping.release_files, doc) == [
        ("files.size", "'a.tar.gz': -5 is negative"),
        ("files.filename", "'a.tar.gz' is listed twice"),
        ("files.size", f"entry 2: {2**63} is out of range"),
        ("files.filename", "entry 2: is empty"),
        ("files.packagetype", "'b.tar.gz': is missing"),
        ("files.sha256", "'b.tar.gz': is missing"),
    ]
    assert problems(mapping.release_fields, {**doc, "_id": "other==1.0"}) == [
        ("_id", "does not match its package and version (expected 'tiny==1.0')")
    ]
    assert problems(mapping.release_fields, {**doc, "version": None}) == [("version", "is missing")]


def test_sql_id_must_be_a_positive_integer():
    assert mapping.document_sql_id({}) is None
    assert problems(mapping.document_sql_id, {"sql_id": "7"}) == [
        ("sql_id", "expected a positive integer, got '7'")
    ]


def test_documents_meet_the_import_rules_on_the_way_back():
    """migrate_from_mongo refuses what import_pypi refuses (catalog.validation)."""
    package = {"_id": "tiny", "display_name": "Tiny", "created": datetime(2024, 5, 1)}
    assert problems(
        mapping.package_fields,
        {**package, "home_page": "javascript:alert(1)", "summary": "a\x00b"},
    ) == [
        ("summary", "contains a NUL character at position 1"),
        ("home_page", "scheme 'javascript' is not allowed (http or https only)"),
    ]
    assert problems(mapping.package_fields, {**package, "display_name": "evil/name"}) == [
        (
            "display_name",
            "'evil/name' is not a valid project name (PEP 508: letters, digits, and "
            "'.', '_' or '-' between them)",
        )
    ]
    release = {"_id": "tiny==../x", "package": "tiny", "version": "../x"}
    assert problems(mapping.release_fields, release) == [
        ("version", "'../x' is not a version (no '/', whitespace or control characters)")
    ]
    files = {"files": [{**FILE, "filename": "../../etc/passwd", "packagetype": "evil"}]}
    assert problems(mapping.release_files, files) == [
        ("files.filename", "'../../etc/passwd': '../../etc/passwd' is not a bare file name"),
        (
            "files.packagetype",
            "'../../etc/passwd': 'evil' is not a package type (one of "
            "bdist_dmg, bdist_dumb, bdist_egg, bdist_msi, bdist_rpm, bdist_wheel, bdist_wininst, "
            "sdist)",
        ),
    ]
