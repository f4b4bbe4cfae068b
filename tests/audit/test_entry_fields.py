"""One list of audit entry fields (audit.entry_fields): the table, the timeline's entries
and PostgreSQL's audit_append() write and read exactly those fields."""

from __future__ import annotations

import dataclasses

import pytest
from django.db import connection

from audit.entry_fields import CONTENT_FIELDS, ENTRY_NAMES
from audit.migrations._append_function import append_function_sql
from audit.models import AuditEntry
from audit.services import TimelineEntry
from tests.audit.conftest import sql_entries


def test_the_table_has_the_listed_columns_in_order():
    columns = [f.name for f in AuditEntry._meta.concrete_fields if not f.primary_key]
    assert columns == list(ENTRY_NAMES)


def test_a_timeline_entry_carries_every_listed_field():
    names = {f.name for f in dataclasses.fields(TimelineEntry)}
    assert names == {"store", "id", *ENTRY_NAMES}


def _function_body(sql: str) -> str:
    return sql.split("$$")[1]


@pytest.mark.django_db
def test_the_database_append_function_writes_the_listed_fields(package):
    """A change to the list without a migration that re-creates the function fails here."""
    if connection.vendor != "postgresql":
        pytest.skip("audit_append() exists on PostgreSQL only")
    with connection.cursor() as cursor:
        cursor.execute("SELECT prosrc FROM pg_proc WHERE proname = 'audit_append'")
        (stored,) = cursor.fetchone()
    assert stored == _function_body(append_function_sql(CONTENT_FIELDS))
    # And the entry it wrote for the package fixture has each listed field set.
    (entry,) = sql_entries(model="catalog.package", operation="create")
    assert entry.model == "catalog.package"
    assert entry.changes["display_name"] == [None, "Demo_Pkg"]
    assert entry.prev_hash and len(entry.hash) == 64
