"""When a package's kept listing (``PackageListing``) may be shown: the write counter and
its triggers, and what else the rendering depends on.

Every write to a release or a file adds one to its package's
``PackageListing.written`` in the same transaction, through database
triggers: the admin, the importer's bulk writes, a restore and plain SQL all
count, with no writer having to remember. A listing records the ``written``
it was built after (``built``); the pages show it only while the two are
equal, else they read the rows (``listing_current``).

Why this is safe under concurrent writes (READ COMMITTED): the builder first
makes sure the listing row exists (committed, so that every later write
counts), then reads ``written``, then the rows. A write committed before that
read is in the rows; one committed after it moves ``written`` past ``built``.

SQLite rebuilds a table (and drops its triggers) for most schema changes, so
after every ``migrate`` ``listing_triggers_ensure`` puts back what is missing,
and then marks every listing stale: writes made without the triggers were not
counted.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connections, transaction

from catalog.links import path_for

logger = logging.getLogger(__name__)

LISTING_TABLE = "catalog_packagelisting"
RELEASE_TABLE = "catalog_release"
FILE_TABLE = "catalog_releasefile"
# Raised when the markup or the text of a listing changes: older listings are then ignored.
LISTING_VERSION = 1

_BUMP = f"UPDATE {LISTING_TABLE} SET written = written + 1 WHERE package_id"  # noqa: S608

_POSTGRES_FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION catalog_listing_releases() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {_BUMP} IN (SELECT package_id FROM changed_rows);
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION catalog_listing_files() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {_BUMP} IN (
        SELECT package_id FROM {RELEASE_TABLE}
        WHERE id IN (SELECT release_id FROM changed_rows)
    );
    RETURN NULL;
END $$;
"""  # noqa: S608 - fixed identifiers only, no value from outside


def _triggers(vendor: str) -> dict[str, tuple[str, str]]:
    """Trigger name -> (its table, its CREATE statement)."""
    if vendor == "postgresql":
        # One statement-level trigger per event and side: a bulk write of
        # thousands of rows counts once, from the rows it changed.
        triggers = {}
        for table, function, short in (
            (RELEASE_TABLE, "catalog_listing_releases", "rel"),
            (FILE_TABLE, "catalog_listing_files", "file"),
        ):
            for event, side in (
                ("INSERT", "NEW"),
                ("DELETE", "OLD"),
                ("UPDATE", "OLD"),
                ("UPDATE", "NEW"),
            ):
                name = f"catalog_listing_{short}_{event.lower()}_{side.lower()}"
                triggers[name] = (
                    table,
                    f"CREATE TRIGGER {name} AFTER {event} ON {table} "
                    f"REFERENCING {side} TABLE AS changed_rows FOR EACH STATEMENT "
                    f"EXECUTE FUNCTION {function}()",
                )
        return triggers
    release_of = f"(SELECT package_id FROM {RELEASE_TABLE} WHERE id = %s.release_id)"  # noqa: S608
    bumps = {
        (RELEASE_TABLE, "rel", "INSERT"): f"{_BUMP} = NEW.package_id",
        (RELEASE_TABLE, "rel", "DELETE"): f"{_BUMP} = OLD.package_id",
        (RELEASE_TABLE, "rel", "UPDATE"): f"{_BUMP} IN (OLD.package_id, NEW.package_id)",
        (FILE_TABLE, "file", "INSERT"): f"{_BUMP} = {release_of % 'NEW'}",
        (FILE_TABLE, "file", "DELETE"): f"{_BUMP} = {release_of % 'OLD'}",
        (FILE_TABLE, "file", "UPDATE"): (
            f"{_BUMP} IN ({release_of % 'OLD'}, {release_of % 'NEW'})"
        ),
    }
    return {
        f"catalog_listing_{short}_{event.lower()}": (
            table,
            f"CREATE TRIGGER catalog_listing_{short}_{event.lower()} AFTER {event} ON {table} "
            f"FOR EACH ROW BEGIN {bump}; END",
        )
        for (table, short, event), bump in bumps.items()
    }


def _present(cursor, vendor: str) -> set[str]:
    if vendor == "postgresql":
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgname LIKE %s AND NOT tgisinternal",
            ["catalog_listing_%"],
        )
    else:
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE %s",
            ["catalog_listing_%"],
        )
    return {row[0] for row in cursor.fetchall()}


def listing_triggers_ensure(*, using: str = "default") -> list[str]:
    """Install the missing write-counting triggers; if any was missing, mark every listing stale.

    Returns the triggers installed. Does nothing before the listings' table
    exists, or on a database other than PostgreSQL and SQLite (whose pages
    then never show a listing: nothing would count its writes).
    """
    connection = connections[using]
    vendor = connection.vendor
    if vendor not in ("postgresql", "sqlite"):
        return []
    if LISTING_TABLE not in connection.introspection.table_names():
        return []
    wanted = _triggers(vendor)
    with transaction.atomic(using=using), connection.cursor() as cursor:
        missing = sorted(set(wanted) - _present(cursor, vendor))
        if not missing:
            return []
        if vendor == "postgresql":
            cursor.execute(_POSTGRES_FUNCTIONS)
        for name in missing:
            cursor.execute(wanted[name][1])
        cursor.execute(f"UPDATE {LISTING_TABLE} SET built = NULL")  # noqa: S608
    logger.info("listing triggers installed: %s", ", ".join(missing))
    return missing


@contextmanager
def listing_triggers_held_off(*, using: str = "default") -> Iterator[None]:
    """Switch the write-counting triggers off for a bulk load into empty tables, inside a
    transaction (PostgreSQL; elsewhere they stay on).

    Only for loads that start with no listing at all (a seed): there is then
    nothing for the triggers to mark stale, and on PostgreSQL each would keep
    a copy of every row a COPY writes.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        yield
        return
    names = _triggers("postgresql")
    with connection.cursor() as cursor:
        for name, (table, _) in names.items():
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {name}")
    yield
    with connection.cursor() as cursor:
        for name, (table, _) in names.items():
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER {name}")


@functools.cache
def _format(time_zone: str, version: int) -> str:
    # The history's links and dates depend on the URL layout and the time zone.
    parts = (
        str(version),
        time_zone,
        path_for("catalog:package", "n"),
        path_for("catalog:release", "n", "v"),
    )
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def listing_format() -> str:
    """What a listing's rendering depends on besides the rows."""
    return _format(settings.TIME_ZONE, LISTING_VERSION)


def listing_min_releases() -> int:
    """How many releases make a package large enough to keep its listings (both stores)."""
    return int(getattr(settings, "CATALOG_LISTING_MIN_RELEASES", 200))


def listing_current(written: int | None, built: int | None, format: str | None) -> bool:
    """Whether a listing read with these values may be shown."""
    return built is not None and built == written and format == listing_format()
