"""Putting objects back from the trail: revert a change, restore a state, restore a deletion.

The admin's History and Deleted objects pages call these; every restore is
itself recorded (by the staff user, with a note naming the entry).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import models, transaction

from audit.context import audit_context
from audit.models import AuditEntry, Operation
from audit.services import replay
from audit.signals import objects_restored
from audit.tracking import REDACTED_FIELDS, field_value, tracked_fields


class RestoreError(Exception):
    pass


def _model_for(label: str) -> type[models.Model]:
    try:
        return apps.get_model(label)
    except (LookupError, ValueError) as exc:
        raise RestoreError(f"Entry names an unknown model {label!r}.") from exc


def _assign(obj: models.Model, state: Mapping[str, Any]) -> dict[str, list[int]]:
    """Set concrete fields from an entry state; return m2m values to set after saving."""
    by_name = {f.name: f for f in tracked_fields(type(obj))}
    m2m = {f.name for f in type(obj)._meta.many_to_many}
    later = {}
    for name, value in state.items():
        if name in m2m:
            later[name] = list(value or [])
            continue
        f = by_name.get(name)
        if f is None or name in REDACTED_FIELDS:
            continue
        if value is not None or f.null:
            setattr(obj, f.attname, f.to_python(value))
    return later


@dataclass(frozen=True)
class RestoreResult:
    model: str
    object_key: str
    entry_id: int
    changed: bool
    # Everything a restore of a deletion brought back: (model label, key) pairs.
    restored: tuple[tuple[str, str], ...] = ()


def _current_state(obj: models.Model) -> dict[str, Any]:
    """The object's tracked values as entries record them, m2m links as sorted ids."""
    state = {f.name: field_value(f, getattr(obj, f.attname)) for f in tracked_fields(type(obj))}
    for f in type(obj)._meta.many_to_many:
        state[f.name] = sorted(getattr(obj, f.name).values_list("pk", flat=True))
    return state


def _rewind(state: dict[str, Any], entries: Iterable[AuditEntry]) -> tuple[dict[str, Any], bool]:
    """Undo ``entries`` (newest first) from ``state``: (the state before them, existed then).

    Starting from the object as it is now works for objects that existed before
    auditing too: a field no entry touched keeps its value, and one first
    recorded by an update gets that update's old side back.
    """
    exists = True
    for entry in entries:
        op, changes = entry.operation, entry.changes
        if op in (Operation.CREATE, Operation.BULK_CREATE):
            exists = False  # before its creation (or re-creation) it was not there
        elif op in (Operation.DELETE, Operation.BULK_DELETE):
            exists = True
            state.update({name: pair[0] for name, pair in changes.items()})
        elif op in (Operation.UPDATE, Operation.BULK_UPDATE):
            state.update({name: pair[0] for name, pair in changes.items()})
        elif op in (Operation.M2M_ADD, Operation.M2M_REMOVE, Operation.M2M_CLEAR):
            for name, delta in changes.items():
                current = set(state.get(name) or [])
                current -= set(delta.get("added", []))
                current |= set(delta.get("removed", []))
                state[name] = sorted(current)
    return state, exists


def object_restore(*, entry_id: int, user: Any = None, before: bool = False) -> RestoreResult:
    """Put an object back to its state just after entry ``entry_id`` ("restore this
    state"), or just before it (``before=True``: "revert this change"); itself recorded.
    """
    entry = AuditEntry.objects.filter(pk=entry_id).first()
    if entry is None:
        raise RestoreError(f"Audit entry #{entry_id} does not exist.")
    model = _model_for(entry.model)
    obj = model._default_manager.filter(pk=entry.object_key).first()
    if obj is None:
        raise RestoreError(
            f"{entry.model} {entry.object_key} has been deleted; restore it from the deleted "
            "objects view first."
        )
    own_entries = AuditEntry.objects.filter(model=entry.model, object_key=entry.object_key)
    later = own_entries.filter(id__gte=entry.id) if before else own_entries.filter(id__gt=entry.id)
    state, existed = _rewind(_current_state(obj), later.order_by("-id"))
    if not existed:
        when = "before" if before else "after"
        raise RestoreError(
            f"{entry.model} {entry.object_key} did not exist {when} entry #{entry_id}; "
            "delete it instead."
        )
    count = own_entries.count()  # the object's own history: an indexed, small count
    note = f"{'revert' if before else 'restore'} of entry #{entry_id}"
    with audit_context(user=user, note=note), transaction.atomic():
        m2m = _assign(obj, state)
        obj.save()
        for name, ids in m2m.items():
            getattr(obj, name).set(ids)
    return RestoreResult(entry.model, entry.object_key, entry_id, own_entries.count() > count)


DELETES = (Operation.DELETE, Operation.BULK_DELETE)


@dataclass
class _Deleted:
    entry: AuditEntry
    model: type[models.Model]

    @property
    def key(self) -> tuple[str, str]:
        return (self.entry.model, self.entry.object_key)

    def old(self, name: str) -> Any:
        pair = self.entry.changes.get(name)
        return pair[0] if isinstance(pair, list) else None


def _deleted_with(entry: AuditEntry) -> list[_Deleted]:
    """The deletion and every deletion it cascaded to (same correlation id, pointing at it
    through a cascading foreign key), parents before children."""
    group = [
        _Deleted(e, _model_for(e.model))
        for e in AuditEntry.objects.filter(
            correlation_id=entry.correlation_id, operation__in=DELETES
        ).order_by("id")
        if e.model in _known_models()
    ]
    chosen = [d for d in group if d.entry.pk == entry.pk]
    if not chosen:
        chosen = [_Deleted(entry, _model_for(entry.model))]
    keys = {chosen[0].key}
    grew = True
    while grew:
        grew = False
        for item in group:
            if item.key in keys:
                continue
            for f in item.model._meta.concrete_fields:
                if not f.is_relation or f.remote_field.on_delete is not models.CASCADE:
                    continue
                target = (f.related_model._meta.label_lower, str(item.old(f.name)))
                if target in keys:
                    keys.add(item.key)
                    chosen.append(item)
                    grew = True
                    break
    return chosen


def _known_models() -> set[str]:
    return {m._meta.label_lower for m in apps.get_models()}


def _conflicts(items: list[_Deleted]) -> list[str]:
    """Why some of ``items`` cannot come back (a key or unique value taken since, a
    parent that is gone), checked with a few queries per model before writing anything."""
    problems: list[str] = []
    keys = {item.key for item in items}
    by_model: dict[type[models.Model], list[_Deleted]] = {}
    for item in items:
        by_model.setdefault(item.model, []).append(item)
    for model, group in by_model.items():
        manager = model._base_manager
        label = model._meta.verbose_name
        taken = {
            str(pk)
            for pk in manager.filter(pk__in=[i.entry.object_key for i in group]).values_list(
                "pk", flat=True
            )
        }
        problems += [f"{label} #{key} exists again" for key in sorted(taken)]
        unique_sets = [[f.name] for f in model._meta.concrete_fields if f.unique]
        unique_sets = [names for names in unique_sets if names != [model._meta.pk.name]]
        unique_sets += [
            list(c.fields)
            for c in model._meta.constraints
            if isinstance(c, models.UniqueConstraint) and c.fields and c.condition is None
        ]
        for names in unique_sets:
            fields = [model._meta.get_field(n) for n in names]
            wanted = {tuple(i.old(f.name) for f in fields) for i in group}
            if len(fields) == 1:
                condition = models.Q(**{f"{fields[0].attname}__in": [v[0] for v in wanted]})
            else:
                condition = models.Q()
                for values in wanted:
                    condition |= models.Q(
                        **{f.attname: v for f, v in zip(fields, values, strict=True)}
                    )
            for row in manager.filter(condition).values("pk", *[f.attname for f in fields]):
                shown = ", ".join(f"{f.name} {row[f.attname]!r}" for f in fields)
                problems.append(f"{label} with {shown} exists (#{row['pk']})")
        for f in model._meta.concrete_fields:
            if not f.is_relation:  # nullable ones too: a license gone since is named
                continue
            parent = f.related_model
            wanted_parents = {str(i.old(f.name)) for i in group if i.old(f.name) is not None} - {
                k for m, k in keys if m == parent._meta.label_lower
            }
            if not wanted_parents:
                continue
            present = {
                str(pk)
                for pk in parent._base_manager.filter(pk__in=wanted_parents).values_list(
                    "pk", flat=True
                )
            }
            for missing in sorted(wanted_parents - present):
                problems.append(
                    f"its {parent._meta.verbose_name} #{missing} no longer exists "
                    f"(restore that {parent._meta.verbose_name} first)"
                )
    return problems


def _restored_state(item: _Deleted) -> dict[str, Any]:
    state = {name: pair[0] for name, pair in item.entry.changes.items()}
    if item.model._meta.many_to_many:
        # Links are not in the deletion entry: replay the object's history for them.
        history = AuditEntry.objects.filter(
            model=item.entry.model, object_key=item.entry.object_key, id__lt=item.entry.id
        ).order_by("id")
        replayed, _ = replay(history)
        state = {**(replayed or {}), **state}
    return state


def object_restore_deleted(*, entry_id: int, user: Any = None) -> RestoreResult:
    """Recreate a deleted object with its primary key, and everything its deletion
    cascaded to (a package's releases and their files, a release's files), in one
    transaction; nothing at all if any of it cannot come back.
    """
    entry = AuditEntry.objects.filter(pk=entry_id, operation__in=DELETES).first()
    if entry is None:
        raise RestoreError(f"Audit entry #{entry_id} is not a deletion.")
    model = _model_for(entry.model)
    if model._default_manager.filter(pk=entry.object_key).exists():
        raise RestoreError(f"{entry.model} {entry.object_key} already exists.")
    items = _deleted_with(entry)
    problems = _conflicts(items)
    if problems:
        raise RestoreError(f"Nothing was restored: {'; '.join(problems)}.")
    root, dependents = items[0], items[1:]
    with (
        audit_context(user=user, note=f"restore of deleted entry #{entry_id}"),
        transaction.atomic(),
    ):
        obj = model(pk=model._meta.pk.to_python(entry.object_key))
        m2m = _assign(obj, _restored_state(root))
        if hasattr(obj, "set_unusable_password") and not obj.password:
            obj.set_unusable_password()  # password hashes are never recorded
        obj.save(force_insert=True)
        for name, ids in m2m.items():
            getattr(obj, name).set(ids)
        # The rest in one insert per model, parents first (the cascade's order).
        by_model: dict[type[models.Model], list[models.Model]] = {}
        links: list[tuple[models.Model, dict[str, list[int]]]] = []
        for item in dependents:
            child = item.model(pk=item.model._meta.pk.to_python(item.entry.object_key))
            child_m2m = _assign(child, _restored_state(item))
            by_model.setdefault(item.model, []).append(child)
            if child_m2m:
                links.append((child, child_m2m))
        for child_model, rows in by_model.items():
            child_model._default_manager.bulk_create(rows)
            objects_restored.send(sender=child_model, pks=[row.pk for row in rows])
        for child, child_m2m in links:
            for name, ids in child_m2m.items():
                getattr(child, name).set(ids)
    return RestoreResult(
        entry.model,
        entry.object_key,
        entry_id,
        True,
        restored=tuple(item.key for item in items),
    )
