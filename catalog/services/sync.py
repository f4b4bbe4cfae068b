"""Live sync: relational writes reach MongoDB when their transaction commits.

The receivers in ``catalog/receivers.py`` only say which rows changed; this
module collects their primary keys and, on commit, rebuilds exactly those
documents through ``catalog.mapping`` (the same path as the migration, so an
unchanged document is not rewritten and a deleted row's document is removed).

Keys are collected per thread and flushed by the first commit hook that runs.
A transaction that rolls back discards its hooks, so it writes nothing; keys it
left behind are flushed with the next commit, which is harmless: a flush
rebuilds documents from the committed rows, whatever queued them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.db import transaction

from catalog.models import Package, Release
from catalog.services.migration.specs import SPECS
from catalog.services.migration.state import MigrationResult
from catalog.services.migration.to_mongo import documents_sync

logger = logging.getLogger(__name__)

_local = threading.local()
# Set while rows are written from their documents (the reverse migration): the
# documents are the source then, and echoing the rows back would rewrite them.
_suspended: ContextVar[bool] = ContextVar("live_sync_suspended", default=False)


def _pending() -> dict[str, set[int]]:
    if not hasattr(_local, "pending"):
        _local.pending = {"packages": set(), "releases": set(), "users": set()}
    return _local.pending


def live_sync_enabled() -> bool:
    return bool(getattr(settings, "CATALOG_LIVE_SYNC", False)) and not _suspended.get()


@contextmanager
def live_sync_suspended() -> Iterator[None]:
    """Relational writes in this block (this thread or task only) do not reach MongoDB."""
    token = _suspended.set(True)
    try:
        yield
    finally:
        _suspended.reset(token)


def live_sync_enqueue(
    *, packages: Iterable[int] = (), releases: Iterable[int] = (), users: Iterable[int] = ()
) -> None:
    """Queue rows whose documents must be rebuilt when the current transaction commits."""
    if not live_sync_enabled():
        return
    pending = _pending()
    pending["packages"].update(pk for pk in packages if pk is not None)
    pending["releases"].update(pk for pk in releases if pk is not None)
    pending["users"].update(pk for pk in users if pk is not None)
    # robust: a MongoDB outage is logged, it does not fail a request that committed.
    transaction.on_commit(live_sync_flush, robust=True)


def live_sync_flush() -> MigrationResult | None:
    """Rebuild the queued documents now (called on commit)."""
    pending = _pending()
    if not any(pending.values()):
        return None
    packages, releases, users = (set(pending[name]) for name in ("packages", "releases", "users"))
    for keys in pending.values():
        keys.clear()
    releases |= _releases_of_renamed_packages(packages)
    result = documents_sync(packages=packages, releases=releases, users=users)
    for report in result.collections:
        for error in report.errors:
            logger.error("live sync could not write a document: %s", error)
    return result


def _releases_of_renamed_packages(pks: set[int]) -> set[int]:
    """A renamed package renames its releases' documents too."""
    if not pks:
        return set()
    names = dict(Package.objects.filter(pk__in=pks).values_list("pk", "name"))
    stored = SPECS["packages"].collection.find({"sql_id": {"$in": list(pks)}}, {"sql_id": 1})
    renamed = {
        doc["sql_id"] for doc in stored if names.get(doc["sql_id"]) not in (None, doc["_id"])
    }
    if not renamed:
        return set()
    return set(Release.objects.filter(package_id__in=renamed).values_list("pk", flat=True))
