import pytest
from django.db import IntegrityError, transaction

from catalog.models import Package, Release, ReleaseFile
from catalog.versions import parse_version

pytestmark = pytest.mark.django_db


def make_package(display="My_Package.Name"):
    return Package.objects.create(display_name=display)


def test_package_names_are_stored_canonical_with_the_display_name_kept():
    package = make_package()
    assert package.name == "my-package-name"
    assert package.display_name == "My_Package.Name"


def test_canonical_name_is_unique():
    make_package("Foo.Bar")
    with pytest.raises(IntegrityError), transaction.atomic():
        make_package("foo_bar")


def test_version_is_unique_within_a_package_only():
    a, b = make_package("a"), make_package("b")
    Release.objects.create(package=a, version="1.0")
    Release.objects.create(package=b, version="1.0")
    with pytest.raises(IntegrityError), transaction.atomic():
        Release.objects.create(package=a, version="1.0")


def test_file_name_is_unique():
    release = Release.objects.create(package=make_package(), version="1.0")
    ReleaseFile.objects.create(
        release=release, filename="x-1.0.tar.gz", sha256="0" * 64, packagetype="sdist"
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        ReleaseFile.objects.create(
            release=release, filename="x-1.0.tar.gz", sha256="1" * 64, packagetype="sdist"
        )


def test_the_database_orders_releases_newest_first_by_pep_440():
    package = make_package()
    published = [
        "1.0",
        "1.0.post1",
        "2004d",
        "1.0rc1",
        "1!0.1",
        "1.0.dev1",
        "0.9.8-beta",
        "1.10",
        "1.9",
        "1.0a1",
    ]
    for version in published:
        Release.objects.create(package=package, version=version)
    ordered = list(package.releases.newest_first().values_list("version", flat=True))
    assert ordered == [
        "1!0.1",
        "1.10",
        "1.9",
        "1.0.post1",
        "1.0",
        "1.0rc1",
        "1.0a1",
        "1.0.dev1",
        "0.9.8-beta",
        "2004d",
    ]


def test_prerelease_flag_is_computed_on_save():
    release = Release.objects.create(package=make_package(), version="2.0b3")
    assert release.is_prerelease
    release.version = "2.0"
    release.save()
    release.refresh_from_db()
    assert not release.is_prerelease


def test_bulk_create_sets_the_sort_key_and_prerelease_flag_from_the_version():
    package = make_package()
    # As importers and seeders build them: no sort key, no flag; bulk_create skips save().
    Release.objects.bulk_create(
        [Release(package=package, version=v) for v in ("1.0", "2.0rc1", "1.10", "0.9.dev1")]
    )
    rows = {
        r.version: (r.sort_key, r.is_prerelease) for r in Release.objects.filter(package=package)
    }
    assert rows == {
        v: (parse_version(v).sort_key, parse_version(v).is_prerelease)
        for v in ("1.0", "2.0rc1", "1.10", "0.9.dev1")
    }
    assert rows["2.0rc1"][1] and rows["0.9.dev1"][1] and not rows["1.10"][1]
    newest = Release.objects.filter(package=package).newest_first()
    assert [r.version for r in newest] == ["2.0rc1", "1.10", "1.0", "0.9.dev1"]


def test_bulk_update_of_the_version_recomputes_the_derived_fields():
    release = Release.objects.create(package=make_package(), version="1.0")
    release.version = "1.1b2"
    Release.objects.bulk_update([release], ["version"])
    release.refresh_from_db()
    assert (release.sort_key, release.is_prerelease) == (parse_version("1.1b2").sort_key, True)


def test_the_database_refuses_an_empty_sort_key():
    release = Release.objects.create(package=make_package(), version="1.0")
    with pytest.raises(IntegrityError), transaction.atomic():
        Release.objects.filter(pk=release.pk).update(sort_key="")
    release.refresh_from_db()
    assert release.sort_key == parse_version("1.0").sort_key
