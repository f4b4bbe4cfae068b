"""The in-process MongoDB store (mongomock), with three fixes to its speed.

- mongomock 4.3's ``Cursor.__next__`` slices the whole result list on every
  document it returns (``results[skip:]``), so reading a cursor of N documents
  costs O(N²): a re-run of the migration over 200,000 release documents spent
  four minutes there. A MongoDB server streams a cursor in batches; this gives
  the stand-in the same linear cost and the same results (skip and limit as
  before).
- Every query scans the whole collection, even one by ``_id``: saving,
  replacing or deleting one document of a large collection cost a scan (the
  audit's read of a document's stored state before a save, too). A server
  answers those from its ``_id`` index; a filter with a plain ``_id`` value
  (a string, an integer, an ObjectId) now looks the document up directly,
  then applies the whole filter to it, so the results are the same.
- Every document written (and every filter) goes through
  ``helpers.patch_datetime_awareness_in_document``, which copies it to keep
  datetimes as a server does (UTC, milliseconds) with one Python call per
  value, strings and numbers included: half the cost of an insert of a
  release document with its files. The replacement returns the same copy
  and calls itself only for containers and datetimes.

Only the embedded store is touched; a ``mongodb://`` URI never imports this
module.
"""

from __future__ import annotations

from typing import Any

import mongomock
from bson import ObjectId
from mongomock import helpers
from mongomock.collection import Collection, Cursor
from mongomock.filtering import filter_applies

_original_patch_datetimes = helpers.patch_datetime_awareness_in_document
_original_iter_documents = Collection._iter_documents
# _id values looked up directly: exact types (a bool equals 1 in a dict, not
# in MongoDB; documents as _id are stored under mongomock's own hashdict).
_DIRECT_ID_TYPES = frozenset({str, int, ObjectId})
# Values the original returns as they are (it converts only containers,
# datetimes and empty Timestamps).
_KEPT = frozenset({str, int, float, bool, type(None), bytes, ObjectId})


def _cursor_next(self: Cursor) -> Any:
    results = self._compute_results()
    index = self._skip + self._emitted
    if (self._limit and self._emitted >= abs(self._limit)) or index >= len(results):
        raise StopIteration
    self._emitted += 1
    return results[index]


def _iter_documents(self: Collection, filter: Any) -> Any:  # noqa: A002 - mongomock's name
    """``Collection._iter_documents``: a filter on one plain ``_id`` reads one document."""
    if isinstance(filter, dict) and type(filter.get("_id")) in _DIRECT_ID_TYPES:
        try:
            document = self._store[filter["_id"]]
        except KeyError:
            # Evaluated as a scan would evaluate it on a document that does not
            # match: a malformed operator before the _id still raises.
            filter_applies(filter, {})
            return iter(())
        return iter([document] if filter_applies(filter, document) else ())
    return _original_iter_documents(self, filter)


def _patch_datetimes(value: Any) -> Any:
    """``patch_datetime_awareness_in_document(value)``: the same copy, fewer calls."""
    kind = type(value)
    if kind in _KEPT:
        return value
    if kind is dict:
        return {k: v if type(v) in _KEPT else _patch_datetimes(v) for k, v in value.items()}
    if kind is list:
        return [v if type(v) in _KEPT else _patch_datetimes(v) for v in value]
    # Subclasses, tuples, datetimes, Timestamps: the original (whose recursion
    # comes back here through the module attribute).
    return _original_patch_datetimes(value)


def client_class() -> type[mongomock.MongoClient]:
    """mongomock's client, its cursor, _id lookups and datetime copy made faster (idempotent)."""
    Cursor.__next__ = _cursor_next
    Cursor.next = _cursor_next
    Collection._iter_documents = _iter_documents
    helpers.patch_datetime_awareness_in_document = _patch_datetimes
    return mongomock.MongoClient
