"""Prepared read statements return what the ORM returns, for any values, on both databases."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import Package, Release
from catalog.selectors.prepared import PreparedQuery

pytestmark = pytest.mark.django_db

COLUMNS = ("version", "is_prerelease", "yanked", "yanked_reason", "created", "updated")


def _releases(package_id, since):
    return (
        Release.objects.filter(package_id=package_id, created__gte=since)
        .order_by("-sort_key", "-id")
        .values_list(*COLUMNS)
    )


@pytest.fixture
def packages():
    start = datetime(2020, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)
    made = []
    for name, count in (("alpha", 5), ("beta/odd '\" name", 3)):
        package = Package.objects.create(display_name=name.replace("/", "-"))
        for number in range(count):
            Release.objects.create(
                package=package,
                version=f"{number}.0rc1" if number % 2 else f"{number}.0",
                yanked=number == 1,
                yanked_reason="bad <b>" if number == 1 else "",
                created=start + timedelta(days=number, microseconds=number),
            )
        made.append(package)
    # A release without a time: NULL comes back as None.
    Release.objects.create(package=made[0], version="9.0", created=None)
    return made


def test_rows_equal_the_orms_for_each_set_of_values(packages):
    prepared = PreparedQuery(_releases, params=("package_id", "since"), kinds=(int, datetime))
    for package in packages:
        for since in (datetime(2019, 1, 1, tzinfo=UTC), datetime(2020, 1, 3, tzinfo=UTC)):
            expected = list(_releases(package.pk, since))
            assert expected, "the case selects rows"
            got = prepared.rows(package.pk, since)
            assert got == [tuple(row) for row in expected]
            # Same types too: aware datetimes and real booleans, not 1/0 or text.
            assert {type(row[1]) for row in got} == {bool}
            assert all(row[4].utcoffset() == timedelta(0) for row in got)


def test_text_values_are_bound_as_parameters_not_spliced(packages):
    prepared = PreparedQuery(
        lambda name: Package.objects.filter(name=name).values_list("display_name"),
        params=("name",),
    )
    assert prepared.rows(packages[1].name) == [(packages[1].display_name,)]
    assert prepared.rows("alpha' OR '1'='1") == []
    assert prepared.rows("nope") == []


def test_one_query_per_call_and_no_rebuild(packages):
    builds = []

    def build(name):
        builds.append(name)
        return Package.objects.filter(name=name).values_list("pk")

    prepared = PreparedQuery(build, params=("name",))
    with CaptureQueriesContext(connection) as queries:
        for package in packages:
            assert prepared.rows(package.name) == [(package.pk,)]
    assert len(queries) == len(packages)
    assert len(builds) == 1


def test_a_value_the_orm_rewrites_is_refused():
    # icontains wraps the value in %...%: the stand-in never reaches the SQL as given.
    prepared = PreparedQuery(
        lambda text: Package.objects.filter(summary__icontains=text).values_list("pk"),
        params=("text",),
    )
    with pytest.raises(ValueError, match="must appear once"):
        prepared.rows("x")
