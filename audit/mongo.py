"""MongoDB capture: MongoEngine signal receivers and an audited document QuerySet.

Entries name the collection (``packages``), the document ``_id`` and the
changed top-level fields by their stored names, with JSON-safe old and new
values. They are written to ``audit_entries`` right after the change
(MongoDB offers no transaction on a standalone server or the in-process
store; the window between the two writes is documented).

Documents opt in with ``meta = {"queryset_class": AuditedDocumentQuerySet}``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from mongoengine import QuerySet, signals
from mongoengine.queryset import transform

from audit.context import is_enabled
from audit.models import Operation
from audit.recorder import EntryData, json_safe, mongo_record

_CHUNK = 1000


def collection_label(document_cls: Any) -> str:
    return document_cls._get_collection_name()


def doc_changes(
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    keys: Iterable[str] | None = None,
) -> dict[str, list[Any]]:
    """{field: [old, new]} over top-level stored fields that differ."""
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
        stored = sender._get_collection().find_one({"_id": document.to_mongo()["_id"]})
        document.__dict__["_audit_before"] = stored


def record_save(sender, document, created=False, **kwargs) -> None:
    if not is_enabled():
        return
    after = document.to_mongo().to_dict()
    before = document.__dict__.pop("_audit_before", None)
    if before is None and not created:
        before = document.__dict__.get("_audit_snapshot")
    document.__dict__["_audit_snapshot"] = after
    if before is None:
        entry = _entry(sender, document.pk, Operation.CREATE, doc_changes(None, after))
    else:
        changes = doc_changes(before, after)
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
    entries = []
    for document in documents:
        after = document.to_mongo().to_dict()
        document.__dict__["_audit_snapshot"] = after
        entries.append(_entry(sender, document.pk, Operation.BULK_CREATE, doc_changes(None, after)))
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
        return {d["_id"]: d for d in self._collection.find(query, projection)}

    def _fetch_ids(self, ids: list[Any], keys: list[str] | None) -> dict[Any, dict]:
        found: dict[Any, dict] = {}
        for start in range(0, len(ids), _CHUNK):
            found.update(self._fetch({"_id": {"$in": ids[start : start + _CHUNK]}}, keys))
        return found

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
        after = queryset._fetch_ids(ids, keys)
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
        ids = list(before)
        deleted = 0
        for start in range(0, len(ids), _CHUNK):
            result = queryset._collection.delete_many({"_id": {"$in": ids[start : start + _CHUNK]}})
            deleted += result.deleted_count
        mongo_record(
            [
                _entry(document, _id, Operation.BULK_DELETE, doc_changes(doc, None))
                for _id, doc in before.items()
            ]
        )
        return deleted
