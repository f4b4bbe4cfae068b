import pytest
from django.db import IntegrityError, transaction

from catalog.models import Package, Release, ReleaseFile

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
