"""The in-process MongoDB store (mongomock), with one fix to its cursor.

mongomock 4.3's ``Cursor.__next__`` slices the whole result list on every
document it returns (``results[skip:]``), so reading a cursor of N documents
costs O(N²): a re-run of the migration over 200,000 release documents spent
four minutes there. A MongoDB server streams a cursor in batches; this gives
the stand-in the same linear cost and the same results (skip and limit as
before). Only the embedded store is touched; a ``mongodb://`` URI never
imports this module.
"""

from __future__ import annotations

from typing import Any

import mongomock
from mongomock.collection import Cursor


def _cursor_next(self: Cursor) -> Any:
    results = self._compute_results()
    index = self._skip + self._emitted
    if (self._limit and self._emitted >= abs(self._limit)) or index >= len(results):
        raise StopIteration
    self._emitted += 1
    return results[index]


def client_class() -> type[mongomock.MongoClient]:
    """mongomock's client, its cursor made linear (idempotent)."""
    Cursor.__next__ = _cursor_next
    Cursor.next = _cursor_next
    return mongomock.MongoClient
