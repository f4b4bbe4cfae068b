"""The triggers that keep the home page's row counters, and a repair when one is missing.

Migration 0008_catalog_counters installed them (its copy of these statements
stays frozen, as applied migrations do). SQLite has no ALTER for most schema
changes: Django rebuilds the table (create, copy, drop, rename), and the drop
takes the table's triggers with it, so a later migration that alters a
counted table silently stops its counter. After every ``migrate``
(``post_migrate``), ``triggers_ensure`` puts back what is missing and
recounts those tables, in one transaction.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from django.apps import apps
from django.db import connections, models, transaction

logger = logging.getLogger(__name__)

# Counter name -> the model whose rows it counts.
COUNTED = {
    "packages": "catalog.Package",
    "releases": "catalog.Release",
    "files": "catalog.ReleaseFile",
    "users": "catalog.User",
}
COUNTERS_TABLE = "catalog_catalogcounter"

_POSTGRES_FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION catalog_counter_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {COUNTERS_TABLE} (name, value) SELECT TG_ARGV[0], count(*) FROM new_rows
    ON CONFLICT (name) DO UPDATE SET value = {COUNTERS_TABLE}.value + EXCLUDED.value;
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION catalog_counter_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE {COUNTERS_TABLE} SET value = value - (SELECT count(*) FROM old_rows)
    WHERE name = TG_ARGV[0];
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION catalog_counter_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE {COUNTERS_TABLE} SET value = 0 WHERE name = TG_ARGV[0];
    RETURN NULL;
END $$;
"""  # noqa: S608 - fixed identifiers only, no value from outside


def _triggers(vendor: str, table: str, name: str) -> dict[str, str]:
    """Trigger name -> its CREATE statement, for one counted table."""
    if vendor == "postgresql":
        return {
            "catalog_counter_ins": f"CREATE TRIGGER catalog_counter_ins AFTER INSERT ON {table} "
            f"REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
            f"EXECUTE FUNCTION catalog_counter_insert('{name}')",
            "catalog_counter_del": f"CREATE TRIGGER catalog_counter_del AFTER DELETE ON {table} "
            f"REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT "
            f"EXECUTE FUNCTION catalog_counter_delete('{name}')",
            "catalog_counter_trunc": f"CREATE TRIGGER catalog_counter_trunc AFTER TRUNCATE ON "
            f"{table} FOR EACH STATEMENT EXECUTE FUNCTION catalog_counter_truncate('{name}')",
        }
    # Fixed identifiers and counter names only, no value from outside.
    insert = (
        f"INSERT INTO {COUNTERS_TABLE} (name, value) VALUES ('{name}', 1) "  # noqa: S608
        "ON CONFLICT (name) DO UPDATE SET value = value + 1"
    )
    delete = f"UPDATE {COUNTERS_TABLE} SET value = value - 1 WHERE name = '{name}'"  # noqa: S608
    return {
        f"catalog_counter_ins_{name}": f"CREATE TRIGGER catalog_counter_ins_{name} AFTER INSERT "
        f"ON {table} BEGIN {insert}; END",
        f"catalog_counter_del_{name}": f"CREATE TRIGGER catalog_counter_del_{name} AFTER DELETE "
        f"ON {table} BEGIN {delete}; END",
    }


def _present(cursor, vendor: str, table: str) -> set[str]:
    if vendor == "postgresql":
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal",
            [table],
        )
    else:
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s", [table]
        )
    return {row[0] for row in cursor.fetchall()}


def triggers_ensure(*, using: str = "default") -> list[str]:
    """Reinstall the missing counter triggers and recount their tables; the counters repaired.

    Does nothing before migration 0008 has made the counters' table, or on a
    database other than PostgreSQL and SQLite.
    """
    connection = connections[using]
    vendor = connection.vendor
    if vendor not in ("postgresql", "sqlite"):
        return []
    if COUNTERS_TABLE not in connection.introspection.table_names():
        return []
    repaired = []
    with transaction.atomic(using=using), connection.cursor() as cursor:
        for name, label in COUNTED.items():
            model = apps.get_model(label)
            table = model._meta.db_table
            wanted = _triggers(vendor, connection.ops.quote_name(table), name)
            present = _present(cursor, vendor, table)
            if set(wanted) <= present:
                continue
            if vendor == "postgresql":
                cursor.execute(_POSTGRES_FUNCTIONS)
                # Counted and triggered at once: no row is missed or counted twice.
                cursor.execute(f"LOCK TABLE {connection.ops.quote_name(table)} IN SHARE MODE")
            for trigger in present & set(wanted):
                on = f" ON {connection.ops.quote_name(table)}" if vendor == "postgresql" else ""
                cursor.execute(f"DROP TRIGGER {trigger}{on}")
            count = model._base_manager.using(using).count()
            cursor.execute(
                f"INSERT INTO {COUNTERS_TABLE} (name, value) VALUES (%s, %s) "  # noqa: S608
                "ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
                [name, count],
            )
            for statement in wanted.values():
                cursor.execute(statement)
            repaired.append(name)
    if repaired:
        logger.warning("counter triggers reinstalled and recounted: %s", ", ".join(repaired))
    return repaired


@contextmanager
def counted_after_load(
    model_list: list[type[models.Model]], *, using: str = "default"
) -> Iterator[Counter]:
    """Hold off the insert counters of these tables for a bulk load inside a transaction.

    Yields a ``Counter`` of rows written per model, which the loader fills;
    on leaving, the counters grow by those counts and the triggers are on
    again, in the same transaction. On PostgreSQL a statement-level trigger
    with a transition table keeps a copy of every row a COPY writes (1.7 GB
    of file rows for a 100,000-project seed) only to count it. Elsewhere the
    triggers stay on and count as the rows go in.
    """
    connection = connections[using]
    counts: Counter = Counter()
    names = {apps.get_model(label): name for name, label in COUNTED.items()}
    paused = [model for model in model_list if model in names]
    if connection.vendor != "postgresql" or not paused:
        yield counts
        return
    with connection.cursor() as cursor:
        for model in paused:
            table = connection.ops.quote_name(model._meta.db_table)
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER catalog_counter_ins")
    yield counts
    with connection.cursor() as cursor:
        for model in paused:
            cursor.execute(
                f"INSERT INTO {COUNTERS_TABLE} (name, value) VALUES (%s, %s) "  # noqa: S608
                "ON CONFLICT (name) DO UPDATE SET value = "
                f"{COUNTERS_TABLE}.value + EXCLUDED.value",
                [names[model], counts[model]],
            )
            table = connection.ops.quote_name(model._meta.db_table)
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER catalog_counter_ins")
