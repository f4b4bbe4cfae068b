"""The project's admin site and the paging its changelists use at catalog size.

``PyindexAdminSite`` is the default site (``project.apps.PyindexAdminConfig``
names it, Django's documented way to replace ``admin.site``), so every
``@admin.register`` in the apps lands on it.

``EstimatedCountPaginator`` keeps a changelist from counting a large table: an
unfiltered list on PostgreSQL takes the planner's row estimate
(``pg_class.reltuples``, kept by ANALYZE and autovacuum), and any other list
counts at most ``COUNT_CAP`` + 1 rows (``SELECT COUNT(*) FROM (... LIMIT n)``),
so the count costs the same at a thousand rows or a million. The changelist's
pagination says "about" or "more than" when the count is not exact.
"""

from __future__ import annotations

from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property

# Below this many rows an exact COUNT(*) is cheap and says more.
COUNT_CAP = 10_000


class EstimatedCountPaginator(Paginator):
    count_is_estimate = False
    count_is_capped = False

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not hasattr(queryset, "query"):  # a plain list
            return len(queryset)
        estimate = self._table_estimate(queryset)
        if estimate is not None and estimate > COUNT_CAP:
            self.count_is_estimate = True
            return estimate
        counted = queryset.order_by()[: COUNT_CAP + 1].count()
        if counted > COUNT_CAP:
            self.count_is_capped = True
            return COUNT_CAP
        return counted

    @staticmethod
    def _table_estimate(queryset) -> int | None:
        """The planner's row count of an unfiltered table (PostgreSQL), else None."""
        query = queryset.query
        if query.where or query.distinct or query.is_sliced or query.combinator:
            return None
        connection = connections[queryset.db]
        if connection.vendor != "postgresql":
            return None
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                [connection.ops.quote_name(queryset.model._meta.db_table)],
            )
            row = cursor.fetchone()
        # -1: never analyzed (PostgreSQL 14+); 0 may be a table not analyzed yet.
        return row[0] if row and row[0] > 0 else None


class PyindexAdminSite(admin.AdminSite):
    site_header = "pyindex administration"
    site_title = "pyindex administration"
    index_title = "Catalog and audit trail"
    # The index links to the read-only MongoDB document admin too.
    index_template = "catalog/admin/index.html"
