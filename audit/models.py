"""Audit entries for relational changes (MongoDB ones live in ``audit_entries``).

Entries are append-only: the model refuses updates and deletes, and the only
removal path is ``audit_log --prune-before``, which records itself in the
chain. Each entry carries the hash of the previous entry of its store, so an
edited, removed or reordered entry breaks the chain at that point.
"""

from __future__ import annotations

from django.db import models


class Operation(models.TextChoices):
    CREATE = "create", "create"
    UPDATE = "update", "update"
    DELETE = "delete", "delete"
    M2M_ADD = "m2m_add", "m2m add"
    M2M_REMOVE = "m2m_remove", "m2m remove"
    M2M_CLEAR = "m2m_clear", "m2m clear"
    BULK_CREATE = "bulk_create", "bulk create"
    BULK_UPDATE = "bulk_update", "bulk update"
    BULK_DELETE = "bulk_delete", "bulk delete"
    PRUNE = "prune", "prune"


class AppendOnlyError(Exception):
    pass


class AuditEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("Audit entries are append-only.")

    def delete(self):
        raise AppendOnlyError("Audit entries are append-only; use audit_log --prune-before.")

    def for_object(self, model: str, key: str) -> AuditEntryQuerySet:
        return self.filter(model=model, object_key=key)


class AuditEntry(models.Model):
    # Chain order is id order: ids are assigned while the chain lock is held.
    model = models.CharField(max_length=100)
    object_key = models.CharField(max_length=255)
    operation = models.CharField(max_length=16, choices=Operation.choices)
    # {field: [old, new]} for saves; {field: {"added"|"removed": [...]}} for m2m.
    changes = models.JSONField(default=dict)
    timestamp = models.DateTimeField()
    actor = models.CharField(max_length=255)
    actor_id = models.BigIntegerField(null=True, blank=True)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    correlation_id = models.CharField(max_length=64)
    # Loaded from a fixture (loaddata): values as given, signals sent with raw=True.
    raw = models.BooleanField(default=False)
    note = models.CharField(max_length=255, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["model", "object_key", "timestamp"], name="audit_object_time"),
            models.Index(fields=["actor", "timestamp"], name="audit_actor_time"),
            models.Index(fields=["correlation_id"], name="audit_correlation"),
            models.Index(fields=["timestamp"], name="audit_time"),
            # The deleted-objects page; partial, so only deletions maintain it.
            models.Index(
                fields=["model", "-id"],
                name="audit_deleted",
                condition=models.Q(operation__in=["delete", "bulk_delete"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.operation} {self.model}:{self.object_key} by {self.actor}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise AppendOnlyError("Audit entries are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Audit entries are append-only; use audit_log --prune-before.")


class AuditChainTip(models.Model):
    """The newest entry of the relational chain, written with every append.

    A chain verifies link by link, so removing its newest entries leaves a
    shorter chain that still verifies; the tip, moved in the same transaction
    as each append, tells ``audit_log --verify-chain`` where the chain must end
    (the MongoDB chain keeps its tip in the ``audit_chain`` collection).
    """

    store = models.CharField(max_length=16, primary_key=True)
    entry_id = models.BigIntegerField()
    hash = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"{self.store} chain tip: entry #{self.entry_id}"
