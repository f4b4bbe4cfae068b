"""Signal receivers for both stores, connected in ``AuditConfig.ready()``.

Relational models: ``post_init`` remembers the loaded values (no query on
save to learn what changed), ``pre_save`` reads the stored row only when the
instance was not loaded from the database (``Model(pk=...)``, fixtures),
``post_save`` records the difference (nothing when nothing changed),
``post_delete`` and ``m2m_changed`` record deletes and link changes.

Documents: the same with MongoEngine's signals; ``post_bulk_insert`` covers
``Document.objects.insert()``. Queryset writes are in ``audit.tracking`` and
``audit.mongo``.
"""

from __future__ import annotations

from django.db import models
from django.db.models import signals as dj

from audit.context import is_enabled
from audit.models import Operation
from audit.recorder import EntryData, sql_record
from audit.tracking import (
    MISSING,
    AuditedModelMixin,
    diff,
    full_changes,
    in_queryset_delete,
    model_label,
    snapshot,
    tracked_fields,
)


def audited_models() -> list[type[models.Model]]:
    from django.apps import apps

    return [m for m in apps.get_models() if issubclass(m, AuditedModelMixin)]


# --- relational ------------------------------------------------------------------


def remember_loaded(sender, instance, **kwargs) -> None:
    # A new object (no pk yet) has nothing loaded to remember; with recording
    # off there is nobody to remember it for. read_stored() reads the row for
    # an instance without a snapshot, so skipping here never loses a change.
    if instance.pk is None or not is_enabled():
        return
    instance._audit_snapshot = snapshot(instance)


def read_stored(sender, instance, raw=False, using=None, **kwargs) -> None:
    if not is_enabled() or instance.pk is None:
        return
    snap = instance.__dict__.get("_audit_snapshot")
    fields = tracked_fields(sender)
    unknown = [
        f.attname
        for f in fields
        if f.attname in instance.__dict__ and (snap is None or snap.get(f.attname) is MISSING)
    ]
    if instance._state.adding or raw or snap is None:
        unknown = [f.attname for f in fields]
    if unknown:
        # Not loaded from the database (or partly deferred): the stored row is the "before".
        row = sender._base_manager.using(using).filter(pk=instance.pk).values(*unknown).first()
        instance._audit_before = None if row is None else {**(snap or {}), **row}


def record_save(sender, instance, created, raw=False, using=None, update_fields=None, **kw):
    if not is_enabled():
        return
    before = instance.__dict__.pop("_audit_before", MISSING)
    label = model_label(sender)
    if created or before is None:
        entry = EntryData(
            label,
            str(instance.pk),
            Operation.CREATE,
            full_changes(instance, created=True),
            raw=raw,
        )
    else:
        if before is MISSING:
            before = instance.__dict__.get("_audit_snapshot") or {}
        fields = tracked_fields(sender)
        if update_fields is not None:
            fields = [f for f in fields if f.name in update_fields or f.attname in update_fields]
        changes = diff(fields, before, instance.__dict__)
        entry = EntryData(label, str(instance.pk), Operation.UPDATE, changes, raw=raw)
    # The saved values are the "before" of the next save (taken once, after the diff).
    instance._audit_snapshot = snapshot(instance)
    if entry.changes or entry.operation == Operation.CREATE:  # a save that changed nothing: none
        sql_record([entry], using=using)


def record_delete(sender, instance, using=None, **kwargs) -> None:
    if not is_enabled():
        return
    op = Operation.BULK_DELETE if in_queryset_delete() else Operation.DELETE
    changes = full_changes(instance, created=False)
    sql_record([EntryData(model_label(sender), str(instance.pk), op, changes)], using=using)


_M2M_FIELDS: dict[type[models.Model], tuple[type[models.Model], models.ManyToManyField]] = {}


def record_m2m(sender, instance, action, reverse, model, pk_set, using=None, **kwargs) -> None:
    if not is_enabled() or sender not in _M2M_FIELDS:
        return
    owner, field = _M2M_FIELDS[sender]
    if action == "pre_clear":
        # The cleared links are gone by post_clear: read them now (one query).
        related = field.m2m_reverse_field_name() if not reverse else field.m2m_field_name()
        own = field.m2m_field_name() if not reverse else field.m2m_reverse_field_name()
        instance._audit_cleared = sorted(
            sender._base_manager.using(using)
            .filter(**{own: instance.pk})
            .values_list(f"{related}_id", flat=True)
        )
        return
    if action not in {"post_add", "post_remove", "post_clear"}:
        return
    if action == "post_clear":
        pk_set = instance.__dict__.pop("_audit_cleared", [])
    if not pk_set:
        return
    op, verb = {
        "post_add": (Operation.M2M_ADD, "added"),
        "post_remove": (Operation.M2M_REMOVE, "removed"),
        "post_clear": (Operation.M2M_CLEAR, "removed"),
    }[action]
    label = model_label(owner)
    if not reverse:
        entries = [EntryData(label, str(instance.pk), op, {field.name: {verb: sorted(pk_set)}})]
    else:
        # classifier.packages.add(p1, p2): one entry per package whose links changed.
        entries = [
            EntryData(label, str(pk), op, {field.name: {verb: [instance.pk]}})
            for pk in sorted(pk_set)
        ]
    sql_record(entries, using=using)


def connect_relational() -> None:
    for model in audited_models():
        uid = model_label(model)
        dj.post_init.connect(remember_loaded, sender=model, dispatch_uid=f"audit-init-{uid}")
        dj.pre_save.connect(read_stored, sender=model, dispatch_uid=f"audit-pre-{uid}")
        dj.post_save.connect(record_save, sender=model, dispatch_uid=f"audit-save-{uid}")
        dj.post_delete.connect(record_delete, sender=model, dispatch_uid=f"audit-del-{uid}")
        for field in model._meta.local_many_to_many:
            through = field.remote_field.through
            # A custom through model that is itself audited records its own rows.
            if issubclass(through, AuditedModelMixin):
                continue
            _M2M_FIELDS[through] = (model, field)
            dj.m2m_changed.connect(
                record_m2m, sender=through, dispatch_uid=f"audit-m2m-{uid}-{field.name}"
            )


# --- MongoDB ---------------------------------------------------------------------


def connect_documents() -> None:
    from audit import mongo

    mongo.connect()


def connect_all() -> None:
    connect_relational()
    connect_documents()
