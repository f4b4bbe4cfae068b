"""Home page counts come from counters the database keeps, carried into MongoDB."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import override_settings

from catalog.models import CatalogCounter, Package, Release, ReleaseFile, User
from catalog.services.seed import catalog_seed
from catalog.services.seed_pypi import catalog_seed_pypi
from tests.migrate.conftest import migrate

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_page_cache(settings):
    settings.CATALOG_PAGE_CACHE = False


def counters() -> dict[str, int]:
    return dict(CatalogCounter.objects.values_list("name", "value"))


def actual() -> dict[str, int]:
    return {
        "packages": Package.objects.count(),
        "releases": Release.objects.count(),
        "files": ReleaseFile.objects.count(),
        "users": User.objects.count(),
    }


def home_stats(client) -> list[str]:
    page = client.get("/").content.decode()
    return re.findall(r"<strong>([\d,]+)</strong> (packages|releases|files|users)", page)


def test_counters_follow_every_kind_of_write():
    catalog_seed(packages=6, seed=1)  # bulk_create
    assert counters() == actual() and actual()["files"] > 0
    package = Package.objects.create(display_name="one-more")  # save()
    Release.objects.create(package=package, version="1.0")
    assert counters() == actual()
    Package.objects.filter(name__startswith="a").delete()  # queryset delete, cascades
    Release.objects.filter(version="1.0").delete()
    User.objects.order_by("pk").first().delete()
    assert counters() == actual()
    table = connection.ops.quote_name(ReleaseFile._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE size > %s", [10_000])  # noqa: S608
    assert counters() == actual()


def test_copy_loads_are_counted():
    catalog_seed_pypi(projects=25, seed=3)
    assert counters() == actual()
    assert counters()["packages"] == 25
    # The load held the insert triggers off and added its counts; they count again after.
    package = Package.objects.create(display_name="after-the-load")
    Release.objects.create(package=package, version="1.0")
    assert counters() == actual()
    assert counters()["packages"] == 26


def test_home_page_shows_the_counters_on_both_stores(client):
    catalog_seed(packages=5, seed=4)
    migrate()
    with override_settings(CATALOG_READ_BACKEND="sql"):
        sql = home_stats(client)
    with override_settings(CATALOG_READ_BACKEND="mongo"):
        mongo = home_stats(client)
    want = actual()
    assert sql == mongo == [(f"{want[name]:,}", name) for name in want]


def test_live_sync_carries_changed_counts(client, settings, django_capture_on_commit_callbacks):
    catalog_seed(packages=3, seed=5)
    settings.CATALOG_LIVE_SYNC = True
    migrate()
    with django_capture_on_commit_callbacks(execute=True):
        Package.objects.create(display_name="fresh-one")
    with override_settings(CATALOG_READ_BACKEND="mongo"):
        assert (str(actual()["packages"]), "packages") in home_stats(client)
    assert Package.objects.filter(name="fresh-one").exists()


def test_migrate_puts_back_a_lost_counter_trigger_and_recounts():
    """SQLite rebuilds a table to alter it, which drops its triggers: after every migrate the
    missing ones are put back and their table recounted."""
    from django.core.management import call_command

    package = Package.objects.create(display_name="kept", summary="s")
    table = connection.ops.quote_name(Release._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"DROP TRIGGER catalog_counter_ins ON {table}")
        else:
            cursor.execute("DROP TRIGGER catalog_counter_ins_releases")
    Release.objects.create(package=package, version="1.0")
    assert counters().get("releases", 0) == 0  # no trigger, no count (a flush empties both)

    call_command("migrate", verbosity=0)

    # A table emptied by a flush has no counter row: zero.
    assert {**dict.fromkeys(actual(), 0), **counters()} == actual()
    Release.objects.create(package=package, version="2.0")
    assert counters()["releases"] == 2 == actual()["releases"]
