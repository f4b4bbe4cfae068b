"""Relational capture that signals miss: audited querysets and the save wrapper.

``QuerySet.update()``, ``bulk_create()`` and ``bulk_update()`` send no
signals, and ``delete()`` sends one per object; the catalog's managers use
:class:`AuditedQuerySet`, which records one entry per affected object in one
batch (a constant number of queries per call), in the same transaction.

:class:`AuditedModelMixin` makes a lone ``save()`` (autocommit) atomic, so the
change and its entry commit or roll back together.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import models, router, transaction
from django.db.models import Q

from audit.context import is_enabled, one_operation
from audit.models import Operation
from audit.recorder import EntryData, json_safe, sql_batch, sql_record

MISSING = object()
# Fields whose changes are noise (Django's auth sets last_login on every login)
# or secrets. A model adds its own noise (a field derived from another on save)
# as ``audit_ignored_fields``.
IGNORED_FIELDS = frozenset({"last_login"})
REDACTED_FIELDS = frozenset({"password"})
REDACTED = "<redacted>"
_CHUNK = 2000
_PLAIN = (str, int, float, bool, type(None))
_inside_bulk_update: ContextVar[bool] = ContextVar("audit_inside_bulk_update", default=False)
_in_queryset_delete: ContextVar[bool] = ContextVar("audit_queryset_delete", default=False)


@contextmanager
def queryset_delete() -> Iterator[None]:
    """Deletions in this block come from a queryset delete (recorded as bulk deletes)."""
    token = _in_queryset_delete.set(True)
    try:
        yield
    finally:
        _in_queryset_delete.reset(token)


def in_queryset_delete() -> bool:
    """Whether the current deletion is part of a queryset delete (see :func:`queryset_delete`)."""
    return _in_queryset_delete.get()


def model_label(model: type[models.Model]) -> str:
    return model._meta.label_lower


def tracked_fields(model: type[models.Model]) -> list[models.Field]:
    """Concrete fields an entry records (auto_now timestamps say nothing new)."""
    cached = model.__dict__.get("_audit_tracked_fields")
    if cached is None:
        ignored = IGNORED_FIELDS | frozenset(getattr(model, "audit_ignored_fields", ()))
        cached = [
            f
            for f in model._meta.concrete_fields
            if not f.primary_key and not getattr(f, "auto_now", False) and f.name not in ignored
        ]
        model._audit_tracked_fields = cached
    return cached


def field_value(field: models.Field, value: Any) -> Any:
    if field.name in REDACTED_FIELDS:
        return REDACTED if value else ""
    return json_safe(value)


def snapshot(instance: models.Model) -> dict[str, Any]:
    """The instance's loaded field values (deep copies of mutable JSON values)."""
    data = instance.__dict__
    snap = {}
    for f in tracked_fields(type(instance)):
        value = data.get(f.attname, MISSING)
        if isinstance(value, dict | list):
            value = copy.deepcopy(value)
        snap[f.attname] = value
    return snap


def full_changes(instance: models.Model, *, created: bool) -> dict[str, list[Any]]:
    data = instance.__dict__
    changes = {}
    for f in tracked_fields(type(instance)):
        if f.attname in data:
            value = field_value(f, data[f.attname])
            changes[f.name] = [None, value] if created else [value, None]
    return changes


def diff(
    fields: Iterable[models.Field], old: dict[str, Any], new: dict[str, Any]
) -> dict[str, list[Any]]:
    """{field: [old, new]} for fields whose value changed (unknown old values count)."""
    changes = {}
    for f in fields:
        after = new.get(f.attname, MISSING)
        if after is MISSING:
            continue
        before = old.get(f.attname, MISSING)
        if before is not MISSING and before == after:
            continue
        before = None if before is MISSING else field_value(f, before)
        after = field_value(f, after)
        if before != after or f.name in REDACTED_FIELDS:
            changes[f.name] = [before, after]
    return changes


def unique_key_fields(model: type[models.Model]) -> list[str]:
    for f in model._meta.concrete_fields:
        if f.unique and not f.primary_key:
            return [f.attname]
    for constraint in model._meta.constraints:
        if isinstance(constraint, models.UniqueConstraint) and constraint.fields:
            return [model._meta.get_field(name).attname for name in constraint.fields]
    return []


def object_key(instance: models.Model) -> str:
    if instance.pk is not None:
        return str(instance.pk)
    # ignore_conflicts inserts return no primary keys: name the row by its natural key.
    names = unique_key_fields(type(instance))
    return ",".join(f"{name}={getattr(instance, name)}" for name in names) or "?"


class AuditedModelMixin:
    """Make ``save()`` atomic so its audit entry commits (or rolls back) with it."""

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not is_enabled():
            return super().save(*args, **kwargs)
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        with transaction.atomic(using=using, savepoint=False):
            return super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any):
        if not is_enabled():
            return super().delete(*args, **kwargs)
        # The object and what its deletion cascades to: one correlation id.
        with one_operation():
            return super().delete(*args, **kwargs)

    delete.alters_data = True


class AuditedQuerySet(models.QuerySet):
    """A QuerySet whose signal-less writes are recorded, one entry per object."""

    def _tracked(self, names: Iterable[str]) -> list[models.Field]:
        tracked = {f.name: f for f in tracked_fields(self.model)}
        tracked.update({f.attname: f for f in tracked.values()})
        return [tracked[name] for name in names if name in tracked]

    def update(self, **kwargs: Any) -> int:
        fields = self._tracked(kwargs)
        if not is_enabled() or not fields or _inside_bulk_update.get():
            return super().update(**kwargs)
        attnames = [f.attname for f in fields]
        with transaction.atomic(using=self.db, savepoint=False):
            locked = self
            if self._can_lock():
                locked = self.select_for_update(of=("self",))
            old = {row["pk"]: row for row in locked.values("pk", *attnames)}
            count = super().update(**kwargs)
            given = [kwargs.get(f.name, kwargs.get(f.attname)) for f in fields]
            if all(isinstance(v, _PLAIN) for v in given):
                # Plain values are stored as given: no need to read them back.
                values = {f.attname: f.to_python(v) for f, v in zip(fields, given, strict=True)}
                new_rows = {pk: values for pk in old}
            else:
                # Expressions (F(), Case, a related object): read the stored result.
                new_rows = self._rows_by_pk(old, attnames)
            entries = []
            for pk, before in old.items():
                changes = diff(fields, before, new_rows.get(pk, {}))
                if changes:
                    entries.append(
                        EntryData(model_label(self.model), str(pk), Operation.BULK_UPDATE, changes)
                    )
            sql_record(entries, using=self.db)
        return count

    def _can_lock(self) -> bool:
        from django.db import connections

        features = connections[self.db].features
        return (
            features.has_select_for_update
            and features.has_select_for_update_of
            and not self.query.distinct
            and not self.query.is_sliced
        )

    def _rows_by_pk(self, pks: Iterable[Any], attnames: Sequence[str]) -> dict[Any, dict]:
        pks = list(pks)
        rows: dict[Any, dict] = {}
        base = self.model._base_manager.using(self.db)
        for start in range(0, len(pks), _CHUNK):
            for row in base.filter(pk__in=pks[start : start + _CHUNK]).values("pk", *attnames):
                rows[row["pk"]] = row
        return rows

    def bulk_create(self, objs: Iterable[models.Model], *args: Any, **kwargs: Any) -> list:
        if not is_enabled():
            return super().bulk_create(objs, *args, **kwargs)
        objs = list(objs)
        label = model_label(self.model)
        upsert = kwargs.get("update_conflicts", False)
        with transaction.atomic(using=self.db, savepoint=False):
            existing = self._existing_by_natural_key(objs, kwargs) if upsert else {}
            result = super().bulk_create(objs, *args, **kwargs)
            fields = tracked_fields(self.model)
            entries = []
            for obj in objs:
                before = existing.get(self._natural_key(obj, kwargs))
                if before is None:
                    note = "ignore_conflicts" if kwargs.get("ignore_conflicts") else ""
                    changes = full_changes(obj, created=True)
                    entries.append(
                        EntryData(label, object_key(obj), Operation.BULK_CREATE, changes, note=note)
                    )
                else:
                    update_fields = set(kwargs.get("update_fields") or ())
                    changed = diff(
                        [f for f in fields if f.name in update_fields], before, obj.__dict__
                    )
                    if changed:
                        key = object_key(obj) if obj.pk is not None else str(before["pk"])
                        entries.append(EntryData(label, key, Operation.BULK_UPDATE, changed))
                obj._audit_snapshot = snapshot(obj)
            sql_record(entries, using=self.db)
        return result

    def _natural_key(self, obj: models.Model, kwargs: dict) -> tuple:
        names = kwargs.get("unique_fields") or []
        return tuple(getattr(obj, self.model._meta.get_field(n).attname) for n in names)

    def _existing_by_natural_key(self, objs: list[models.Model], kwargs: dict) -> dict:
        """Rows an upsert will overwrite, keyed like :meth:`_natural_key` (one query)."""
        names = kwargs.get("unique_fields") or []
        if not names or not objs:
            return {}
        attnames = [self.model._meta.get_field(n).attname for n in names]
        if len(attnames) == 1:
            condition = Q(**{f"{attnames[0]}__in": {getattr(o, attnames[0]) for o in objs}})
        else:
            condition = Q()
            for obj in objs:
                condition |= Q(**{a: getattr(obj, a) for a in attnames})
        tracked = [f.attname for f in tracked_fields(self.model)]
        rows = self.model._base_manager.using(self.db).filter(condition).values("pk", *tracked)
        return {tuple(row[a] for a in attnames): row for row in rows}

    def bulk_update(self, objs: Iterable[models.Model], fields: Sequence[str], *args, **kwargs):
        tracked = self._tracked(fields)
        if not is_enabled() or not tracked:
            return super().bulk_update(objs, fields, *args, **kwargs)
        objs = list(objs)
        attnames = [f.attname for f in tracked]
        with transaction.atomic(using=self.db, savepoint=False):
            old = self._rows_by_pk([o.pk for o in objs], attnames)
            # Django implements bulk_update() with update(): record it here, once.
            token = _inside_bulk_update.set(True)
            try:
                result = super().bulk_update(objs, fields, *args, **kwargs)
            finally:
                _inside_bulk_update.reset(token)
            label = model_label(self.model)
            entries = []
            for obj in objs:
                changes = diff(tracked, old.get(obj.pk, {}), obj.__dict__)
                if changes:
                    entries.append(EntryData(label, str(obj.pk), Operation.BULK_UPDATE, changes))
                obj._audit_snapshot = snapshot(obj)
            sql_record(entries, using=self.db)
        return result

    def delete(self) -> tuple[int, dict[str, int]]:
        if not is_enabled():
            return super().delete()
        # Django sends post_delete per object (also for cascades); collect those
        # entries and write them in one insert inside the delete's transaction.
        with (
            one_operation(),
            transaction.atomic(using=self.db, savepoint=False),
            queryset_delete(),
            sql_batch(self.db),
        ):
            return super().delete()

    delete.alters_data = True
    delete.queryset_only = True
