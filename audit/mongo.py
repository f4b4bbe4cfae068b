"""MongoDB capture: MongoEngine signal receivers and an audited document QuerySet.

Entries name the collection (``packages``), the document ``_id`` and the
changed top-level fields by their stored names, with JSON-safe old and new
values. They are written to ``audit_entries`` right after the change
(MongoDB offers no transaction on a standalone server; the window between
the two writes is documented).

Documents opt in with ``meta = {"queryset_class": AuditedDocumentQuerySet}``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from functools import partial
from typing import Any

import bson
from bson import CodecOptions, ObjectId
from mongoengine import QuerySet, signals
from mongoengine.queryset import transform
from pymongo import DeleteMany, DeleteOne, InsertOne, ReplaceOne
from pymongo.errors import BulkWriteError

from audit.context import is_enabled
from audit.models import Operation
from audit.recorder import EntryData, canonical_json, json_safe, mongo_record
from audit.tracking import REDACTED, REDACTED_FIELDS

_CHUNK = 1000


def collection_label(document_cls: Any) -> str:
    return document_cls._get_collection_name()


def _redacted(value: Any) -> str | None:
    # A secret's entry says only that it was set or changed, never the value
    # (a password hash is an offline-crackable secret), as relational entries do.
    return REDACTED if value else None


def doc_changes(
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    keys: Iterable[str] | None = None,
) -> dict[str, list[Any]]:
    """{field: [old, new]} over top-level stored fields that differ (secrets redacted)."""
    before, after = before or {}, after or {}
    if keys is None:
        keys = dict.fromkeys([*before, *after])
    changes = {}
    for key in keys:
        if key == "_id":
            continue
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if key in REDACTED_FIELDS:
            changes[key] = [_redacted(old), _redacted(new)]
            continue
        old, new = json_safe(old), json_safe(new)
        if old != new:
            changes[key] = [old, new]
    return changes


def _entry(document_cls, key: Any, operation: str, changes: dict) -> EntryData:
    return EntryData(collection_label(document_cls), str(key), operation, changes)


# --- receivers -------------------------------------------------------------------


def remember_loaded(sender, document, **kwargs) -> None:
    # Only documents read from the database have a "before"; new ones start empty.
    if not document._created:
        document.__dict__["_audit_snapshot"] = document.to_mongo().to_dict()


def read_stored(sender, document, **kwargs) -> None:
    if not is_enabled():
        return
    if document._created and document.pk is not None:
        # save() of a new instance with a given _id replaces any stored document.
        id_field = document._fields[document._meta["id_field"]]
        stored = sender._get_collection().find_one({"_id": id_field.to_mongo(document.pk)})
        document.__dict__["_audit_before"] = stored


def record_save(sender, document, created=False, **kwargs) -> None:
    if not is_enabled():
        return
    after = document.to_mongo().to_dict()
    before = document.__dict__.pop("_audit_before", None)
    compared = after
    if before is not None:
        # Read from the server (a new instance over a stored document): compare as stored.
        compared = _as_stored(sender._get_collection(), after)
    elif not created:
        before = document.__dict__.get("_audit_snapshot")
    document.__dict__["_audit_snapshot"] = after
    if before is None:
        # Recorded as stored (UTC milliseconds), like a bulk insert.
        text = created_changes_json(sender._get_collection(), after)
        entry = EntryData(
            collection_label(sender), str(document.pk), Operation.CREATE, None, changes_json=text
        )
    else:
        changes = doc_changes(before, compared)
        if not changes:
            return
        entry = _entry(sender, document.pk, Operation.UPDATE, changes)
    mongo_record([entry])


def record_delete(sender, document, **kwargs) -> None:
    if not is_enabled():
        return
    before = document.__dict__.get("_audit_snapshot") or document.to_mongo().to_dict()
    mongo_record([_entry(sender, document.pk, Operation.DELETE, doc_changes(before, None))])


def record_bulk_insert(sender, documents, loaded=False, **kwargs) -> None:
    if not is_enabled():
        return
    collection, label = sender._get_collection(), collection_label(sender)
    entries = []
    for document in documents:
        after = document.to_mongo().to_dict()
        document.__dict__["_audit_snapshot"] = after
        # Written as given: recorded as the server stores it, serialized once.
        text = created_changes_json(collection, after)
        entries.append(
            EntryData(label, str(document.pk), Operation.BULK_CREATE, None, changes_json=text)
        )
    mongo_record(entries)


def audited_documents() -> list[Any]:
    from mongoengine.base.common import _document_registry

    return [
        cls
        for cls in _document_registry.values()
        if not cls._meta.get("abstract")
        and isinstance(cls._meta.get("queryset_class"), type)
        and issubclass(cls._meta["queryset_class"], AuditedDocumentQuerySet)
    ]


def connect() -> None:
    # Blinker keys receivers by (function, sender): connecting twice is a no-op.
    for cls in audited_documents():
        signals.post_init.connect(remember_loaded, sender=cls)
        signals.pre_save.connect(read_stored, sender=cls)
        signals.post_save.connect(record_save, sender=cls)
        signals.post_delete.connect(record_delete, sender=cls)
        signals.post_bulk_insert.connect(record_bulk_insert, sender=cls)


# --- queryset --------------------------------------------------------------------


def _top_level(update: Mapping[str, Any]) -> list[str]:
    keys: dict[str, None] = {}
    for operator, spec in update.items():
        if operator.startswith("$") and isinstance(spec, Mapping):
            keys.update(dict.fromkeys(path.split(".", 1)[0] for path in spec))
    return list(keys)


class AuditedDocumentQuerySet(QuerySet):
    """update()/update_one()/modify()/delete() recorded, one entry per document, in bulk."""

    def _fetch(self, query: Mapping, keys: list[str] | None) -> dict[Any, dict]:
        projection = dict.fromkeys(keys, 1) if keys else None
        # In _id order: the entries of one bulk change are recorded in this order.
        return {d["_id"]: d for d in self._collection.find(query, projection).sort("_id", 1)}

    def _fetch_ids(self, ids: list[Any], keys: list[str] | None) -> dict[Any, dict]:
        found: dict[Any, dict] = {}
        for start in range(0, len(ids), _CHUNK):
            found.update(self._fetch({"_id": {"$in": ids[start : start + _CHUNK]}}, keys))
        return found

    def _after(self, query: Mapping, ids: list[Any], keys: list[str] | None) -> dict[Any, dict]:
        """The updated documents: re-run the query; look up by _id those it no longer matches."""
        wanted = set(ids)
        after = {k: v for k, v in self._fetch(query, keys).items() if k in wanted}
        missing = [i for i in ids if i not in after]
        if missing:
            after.update(self._fetch_ids(missing, keys))
        return after

    def update(
        self,
        upsert=False,
        multi=True,
        write_concern=None,
        read_concern=None,
        full_result=False,
        array_filters=None,
        **update,
    ):
        if not is_enabled() or not update or "__raw__" in update or self._none or self._empty:
            return super().update(
                upsert=upsert,
                multi=multi,
                write_concern=write_concern,
                read_concern=read_concern,
                full_result=full_result,
                array_filters=array_filters,
                **update,
            )
        queryset = self.clone()
        keys = _top_level(transform.update(queryset._document, **update))
        if multi:
            before = queryset._fetch(queryset._query, keys)
            target = queryset
        else:
            # update_one: pin the document first, so the entry names the one updated.
            first = next(
                iter(queryset._collection.find(queryset._query, {"_id": 1}).limit(1)), None
            )
            target = queryset.filter(pk=first["_id"]) if first else queryset
            before = target._fetch(target._query, keys) if first else {}
        result = super(AuditedDocumentQuerySet, target).update(
            upsert=upsert,
            multi=multi,
            write_concern=write_concern,
            read_concern=read_concern,
            full_result=True,
            array_filters=array_filters,
            **update,
        )
        ids = list(before)
        if result.upserted_id is not None:
            ids.append(result.upserted_id)
        after = queryset._after(target._query, ids, keys)
        entries = []
        for _id in ids:
            old = before.get(_id)
            changes = doc_changes(old, after.get(_id), keys)
            if changes:
                op = Operation.CREATE if old is None else Operation.BULK_UPDATE
                entries.append(_entry(self._document, _id, op, changes))
        mongo_record(entries)
        if full_result:
            return result
        return result.raw_result["n"] if result.raw_result else None

    def modify(self, upsert=False, full_response=False, remove=False, new=False, **update):
        if not is_enabled() or self._none or self._empty:
            return super().modify(
                upsert=upsert, full_response=full_response, remove=remove, new=new, **update
            )
        queryset = self.clone()
        before = next(
            iter(
                queryset._collection.find(queryset._query, sort=queryset._ordering or None).limit(1)
            ),
            None,
        )
        target = queryset.filter(pk=before["_id"]) if before else queryset
        result = super(AuditedDocumentQuerySet, target).modify(
            upsert=upsert, full_response=full_response, remove=remove, new=new, **update
        )
        if remove:
            if before is not None:
                mongo_record(
                    [
                        _entry(
                            self._document,
                            before["_id"],
                            Operation.DELETE,
                            doc_changes(before, None),
                        )
                    ]
                )
            return result
        after = target._collection.find_one({"_id": before["_id"]} if before else target._query)
        if after is not None:
            changes = doc_changes(before, after)
            if changes:
                op = Operation.CREATE if before is None else Operation.UPDATE
                mongo_record([_entry(self._document, after["_id"], op, changes)])
        return result

    def delete(self, write_concern=None, _from_doc_delete=False, cascade_refs=None):
        document = self._document
        if not is_enabled() and not (self._skip or self._limit or _from_doc_delete):
            # Our receivers would make the base class delete one document at a time.
            if self._none or self._empty or document._meta.get("delete_rules"):
                return super().delete(write_concern=write_concern, cascade_refs=cascade_refs)
            return self._collection.delete_many(self._query).deleted_count
        if (
            _from_doc_delete  # Document.delete(): its post_delete signal records it
            or not is_enabled()
            or self._none
            or self._empty
            or self._skip
            or self._limit
            or document._meta.get("delete_rules")
        ):
            return super().delete(
                write_concern=write_concern,
                _from_doc_delete=_from_doc_delete,
                cascade_refs=cascade_refs,
            )
        queryset = self.clone()
        before = queryset._fetch(queryset._query, None)
        # The same delete as MongoEngine's (by query). Without a transaction a
        # document inserted between the read and the delete would go unnamed:
        # the count says so in an extra entry rather than passing silently.
        deleted = queryset._collection.delete_many(queryset._query).deleted_count
        entries = [
            _entry(document, _id, Operation.BULK_DELETE, doc_changes(doc, None))
            for _id, doc in before.items()
        ]
        if deleted > len(before):
            surplus = {"unrecorded_deletes": [None, deleted - len(before)]}
            entries.append(_entry(document, "*", Operation.BULK_DELETE, surplus))
        mongo_record(entries)
        return deleted


# --- raw pymongo writes ----------------------------------------------------------


def _request_id(request: Any) -> Any:
    """The _id a pymongo write request targets (None when its filter is not by _id)."""
    doc = getattr(request, "_doc", None)
    if isinstance(request, InsertOne):
        if "_id" not in doc:
            doc["_id"] = ObjectId()  # what pymongo would do, but known before the write
        return doc["_id"]
    target = getattr(request, "_filter", None) or {}
    value = target.get("_id")
    return None if isinstance(value, Mapping) else value


def _by_id_only(request: Any) -> bool:
    return set(getattr(request, "_filter", None) or ()) == {"_id"}


def _as_stored(collection: Any, doc: Mapping[str, Any]) -> dict[str, Any]:
    """``doc`` as the server keeps it (milliseconds, UTC datetimes), without reading it back."""
    options = CodecOptions(tz_aware=getattr(collection.codec_options, "tz_aware", True))
    return bson.decode(bson.encode(doc, codec_options=options), codec_options=options)


def _stored_default(tz_aware: bool, value: Any) -> Any:
    """json_safe() of ``value`` as the server returns it (json.dumps' default)."""
    if isinstance(value, datetime):
        if tz_aware and value.tzinfo is UTC and not value.microsecond % 1000:
            return value.isoformat()  # already as stored (a migration's values)
        # BSON dates are UTC milliseconds; a naive datetime is taken as UTC.
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
            if not tz_aware:
                value = value.replace(tzinfo=None)
        elif tz_aware:
            value = value.replace(tzinfo=UTC)
        return value.replace(microsecond=value.microsecond // 1000 * 1000).isoformat()
    if isinstance(value, Mapping):
        return dict(value)  # its values go through this function too
    return json_safe(value)


def created_changes_json(collection: Any, doc: Mapping[str, Any]) -> str:
    """The changes of a document created as ``doc``, in canonical text.

    The same text as ``canonical_json(doc_changes(None, _as_stored(collection,
    doc)))`` in one C-speed serialization, without the BSON round trip or the
    intermediate copies: for bulk creates (a first migration), where the entry
    holds the whole document.
    """
    tz_aware = getattr(collection.codec_options, "tz_aware", True)
    changes = {
        key: [None, _redacted(value) if key in REDACTED_FIELDS else value]
        for key, value in doc.items()
        if key != "_id" and value is not None
    }
    return canonical_json(changes, default=partial(_stored_default, tz_aware))


def audited_bulk_write(collection: Any, requests: list[Any], **kwargs: Any) -> Any:
    """``collection.bulk_write(requests, **kwargs)``, recorded: one entry per changed document.

    For code that writes documents with pymongo directly (the migration, the
    merge, the offline jobs). What the requests state is not read back: an
    ``InsertOne`` had no document before and holds its own afterwards, a
    ``ReplaceOne`` or ``DeleteOne`` by ``_id`` alone leaves the replacement or
    nothing. The documents the requests overwrite are read in one query per
    batch (by ``_id``), and documents whose new state the requests do not tell
    (updates with operators, filters beyond ``_id``) in one more, so the
    entries hold real old and new values at a constant number of round trips
    per batch. Requests whose filter is not an ``_id`` are resolved to the
    document they match first (one query each). A ``BulkWriteError`` is
    re-raised after the writes that did succeed are recorded.
    """
    if not is_enabled() or not requests:
        return collection.bulk_write(requests, **kwargs)
    ids = _request_ids(collection, requests)
    before = _fetch_by_ids(
        collection,
        [
            i
            for i, r in zip(ids, requests, strict=True)
            if i is not None and not isinstance(r, InsertOne)
        ],
    )
    error = None
    try:
        result = collection.bulk_write(requests, **kwargs)
    except BulkWriteError as exc:
        error, result = exc, None
    failed = _failed_indexes(error, len(requests), ordered=kwargs.get("ordered", True))
    known, unknown = _states_told(requests, ids, failed, before)
    # Upserts by a non-_id filter create documents we could not name beforehand.
    upserted = getattr(result, "upserted_ids", None) or {}
    unknown.extend(v for v in upserted.values() if v not in before)
    # A read is the final state: it also covers an _id that several requests wrote.
    fetched = _fetch_by_ids(collection, list(dict.fromkeys(unknown)))
    after = {**known, **{_id: fetched.get(_id) for _id in unknown}}
    entries = []
    for _id in dict.fromkeys([*(i for i in ids if i is not None), *after]):
        entry = _bulk_entry(collection, _id, before.get(_id), after, told=_id in known)
        if entry is not None:
            entries.append(entry)
    mongo_record(entries)
    if error is not None:
        raise error
    return result


def _request_ids(collection: Any, requests: list[Any]) -> list[Any]:
    """The _id each request writes (None when it matched nothing): one query per request
    whose filter is not an _id."""
    ids: list[Any] = []
    for request in requests:
        _id = _request_id(request)
        if _id is None:
            match = collection.find_one(getattr(request, "_filter", {}) or {}, {"_id": 1})
            _id = match["_id"] if match else None
        ids.append(_id)
    return ids


def _failed_indexes(error: BulkWriteError | None, count: int, *, ordered: bool) -> set[int]:
    """The indexes of the requests a failed bulk write did not apply."""
    if error is None:
        return set()
    failed = {e["index"] for e in error.details.get("writeErrors", ())}
    if ordered and failed:
        failed |= set(range(min(failed), count))  # an ordered write stops there
    return failed


def _states_told(
    requests: list[Any], ids: list[Any], failed: set[int], before: Mapping[Any, dict]
) -> tuple[dict[Any, dict[str, Any] | None], list[Any]]:
    """({_id: the state the request leaves, None if deleted}, [_ids whose state must be read])."""
    known: dict[Any, dict[str, Any] | None] = {}
    unknown: list[Any] = []
    for index, (request, _id) in enumerate(zip(requests, ids, strict=True)):
        if _id is None or index in failed:
            continue
        if isinstance(request, InsertOne):
            known[_id] = request._doc  # as given: converted to stored values below
        elif isinstance(request, ReplaceOne) and _by_id_only(request):
            if _id in before or request._upsert:  # without upsert, nothing to replace
                known[_id] = {**request._doc, "_id": _id}
        elif isinstance(request, DeleteOne | DeleteMany) and _by_id_only(request):
            known[_id] = None
        else:
            unknown.append(_id)
    return known, unknown


def _bulk_entry(
    collection: Any,
    _id: Any,
    old: dict[str, Any] | None,
    after: Mapping[Any, dict[str, Any] | None],
    *,
    told: bool,
) -> EntryData | None:
    """The entry of one document a bulk write changed (None when nothing changed);
    ``told``: its new state is what a request stated, not read back."""
    label = collection.name
    new = after.get(_id, old)  # a failed request changed nothing
    if told and new is not None:
        if old is None:
            text = created_changes_json(collection, new)
            if text == "{}":
                return None
            return EntryData(label, str(_id), Operation.BULK_CREATE, None, changes_json=text)
        new = _as_stored(collection, new)
    changes = doc_changes(old, new)
    if not changes:
        return None
    if old is None:
        op = Operation.BULK_CREATE
    elif new is None:
        op = Operation.BULK_DELETE
    else:
        op = Operation.BULK_UPDATE
    return EntryData(label, str(_id), op, changes)


def _fetch_by_ids(collection: Any, ids: list[Any]) -> dict[Any, dict]:
    found: dict[Any, dict] = {}
    for start in range(0, len(ids), _CHUNK):
        for doc in collection.find({"_id": {"$in": ids[start : start + _CHUNK]}}).sort("_id", 1):
            found[doc["_id"]] = doc
    return found
