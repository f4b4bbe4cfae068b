"""The worker processes of ``migrate_to_mongo --workers N`` (``to_mongo``).

Each worker is a fresh interpreter (``spawn``): it sets Django up, opens its
own connections to both databases (the ones its parent uses, which may differ
from what the settings file says: a test database, a script pointing at
another server) and runs its primary-key ranges under the parent run's audit
context, so every entry carries the run's actor and correlation id, and a run
inside ``audit_disabled()`` records nothing in the workers either.

This module imports nothing of Django at import time: a spawned process
unpickles the worker functions by importing their module before Django is set
up.
"""

from __future__ import annotations

from typing import Any


def worker_setup(stores: dict[str, Any]) -> None:
    """Pool initializer: Django, and the parent's databases."""
    import django

    django.setup()
    from django.db import connections
    from mongoengine import connection

    connections["default"].settings_dict["NAME"] = stores["sql_name"]
    connection.disconnect("default")
    connection.register_connection("default", **stores["mongo"])


def worker_run_range(name: str, options: dict[str, Any], audit: dict[str, Any], *args: Any) -> Any:
    """One primary-key range of collection ``name`` (a ``CollectionReport``)."""
    from django.db import connections

    from audit.context import audit_context_restored
    from catalog.services.migration.specs import SPECS
    from catalog.services.migration.writer import BatchContext, range_run

    try:
        with audit_context_restored(audit):
            return range_run(SPECS[name], BatchContext(**options), *args)
    finally:
        connections.close_all()
