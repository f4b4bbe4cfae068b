"""History, revert, restore and restore-deleted views for the catalog's ModelAdmins.

``AuditHistoryMixin`` replaces the admin's History page with the audit trail
of the object (each change as old and new values side by side, newest first,
paginated so the page costs the same queries however long the history is).
Each entry offers "Revert this change" (back to the state before it: its Old
column) and "Restore this state" (back to the state right after it: its New
column); both work for objects that existed before auditing began. A
"Deleted objects" page on the changelist lists deletions with their label and
parent (``geo-cache 1.0.0``, linked when the parent exists) and restores an
object together with everything its deletion took with it. Every restore is
itself recorded, by the staff user, with a note naming the entry.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.views.decorators.http import require_POST

from audit.entry_fields import ENTRY_NAMES
from audit.models import AuditEntry, Operation
from audit.restore import RestoreError, object_restore, object_restore_deleted
from audit.tracking import model_label
from project.admin import EstimatedCountPaginator

logger = logging.getLogger(__name__)

PER_PAGE = 25
DELETES = (Operation.DELETE, Operation.BULK_DELETE)
CREATES = (Operation.CREATE, Operation.BULK_CREATE)


def _show(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return str(value)


def entry_rows(entry: AuditEntry, *, hidden: Iterable[str] = ()) -> list[tuple[str, str, str]]:
    """(field, old, new) rows of one entry, for the side-by-side diff (without ``hidden``)."""
    hidden = frozenset(hidden)
    rows = []
    for name, change in sorted(entry.changes.items()):
        if name in hidden:
            continue
        if isinstance(change, dict):  # m2m: {"added": [...]} / {"removed": [...]}
            rows.append((name, _show(change.get("removed")), _show(change.get("added"))))
        elif isinstance(change, list) and len(change) == 2:
            rows.append((name, _show(change[0]), _show(change[1])))
        else:  # audit's own entries (prune) record plain values
            rows.append((name, "", _show(change)))
    return rows


def _label_fields(site: admin.AdminSite, model: type[models.Model]) -> tuple[str, ...]:
    return tuple(getattr(site._registry.get(model), "audit_label_fields", ()))


def _own_label(values: dict[str, Any], label_fields: Iterable[str]) -> str | None:
    for name in label_fields:
        if values.get(name):
            return str(values[name])
    return None


def _deleted_values(model: type[models.Model], keys: set[str]) -> dict[str, dict[str, Any]]:
    """Each key's field values as its latest deletion recorded them (one query)."""
    values: dict[str, dict[str, Any]] = {}
    for entry in AuditEntry.objects.filter(
        model=model_label(model), object_key__in=keys, operation__in=DELETES
    ).order_by("id"):
        values[entry.object_key] = {
            name: pair[0] for name, pair in entry.changes.items() if isinstance(pair, list)
        }
    return values


def object_labels(
    site: admin.AdminSite, model: type[models.Model], values: dict[str, dict[str, Any]]
) -> dict[str, tuple[str, str | None, str | None]]:
    """(label, parent label, parent change URL or None) per key, from each object's field
    values: ``geo-cache 1.0.0`` for a release, its package as parent. Parents are read
    live when they exist, else from their deletion entries: a few queries per level."""
    model_admin = site._registry.get(model)
    parent_name = getattr(model_admin, "audit_parent", None)
    parents: dict[str, tuple[str, str | None]] = {}
    if parent_name:
        parent_model = model._meta.get_field(parent_name).related_model
        parent_keys = {str(v[parent_name]) for v in values.values() if v.get(parent_name)}
        live = _live_values(parent_model, parent_keys, _label_fields(site, parent_model))
        gone = _deleted_values(parent_model, parent_keys - set(live))
        labels = object_labels(site, parent_model, {**gone, **live})
        for key, (label, _, _) in labels.items():
            parents[key] = (label, _change_url(site, parent_model, key) if key in live else None)
    label_fields = _label_fields(site, model)
    result = {}
    for key, fields in values.items():
        own = _own_label(fields, label_fields) or f"#{key}"
        parent = parents.get(str(fields.get(parent_name))) if parent_name else None
        if parent and getattr(model_admin, "audit_label_with_parent", False):
            own = f"{parent[0]} {own}"
        result[key] = (own, parent[0] if parent else None, parent[1] if parent else None)
    return result


def _live_values(
    model: type[models.Model], keys: set[str], label_fields: Iterable[str]
) -> dict[str, dict[str, Any]]:
    if not keys:
        return {}
    label_fields = set(label_fields)
    fields = [f for f in model._meta.concrete_fields if f.name in label_fields or f.is_relation]
    rows = model._default_manager.filter(pk__in=keys).values("pk", *[f.attname for f in fields])
    return {str(row["pk"]): {f.name: row[f.attname] for f in fields} for row in rows}


def _change_url(site: admin.AdminSite, model: type[models.Model], key: str) -> str | None:
    try:
        return reverse(
            f"{site.name}:{model._meta.app_label}_{model._meta.model_name}_change",
            args=[quote(key)],
        )
    except NoReverseMatch:
        return None


class AuditHistoryMixin:
    """Mix into a ModelAdmin (first base) to get the audit History and restore views.

    ``audit_label_fields`` are the fields that name an object on the
    deleted-objects page (the first one with a value; else ``#pk``);
    ``audit_parent`` names the foreign key shown as its parent there;
    ``audit_label_with_parent`` prefixes the parent's label to the object's own
    (a release is ``geo-cache 1.0.0``). ``audit_hidden_fields`` are left out of
    the diffs (values derived on save from other fields: noise); the audit
    entry's own admin page shows every field.
    """

    change_list_template = "audit/change_list.html"
    audit_label_fields: tuple[str, ...] = ()
    audit_parent: str | None = None
    audit_label_with_parent = False
    audit_hidden_fields: tuple[str, ...] = ()

    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        wrap = self.admin_site.admin_view
        return [
            path(
                "deleted/",
                wrap(self.deleted_view),
                name=f"{prefix}_audit_deleted",
            ),
            path(
                "deleted/<int:entry_id>/restore/",
                wrap(require_POST(self.restore_deleted_view)),
                name=f"{prefix}_audit_restore_deleted",
            ),
            path(
                "<path:object_id>/history/<int:entry_id>/restore/",
                wrap(require_POST(self.restore_view)),
                name=f"{prefix}_audit_restore",
            ),
            path(
                "<path:object_id>/history/<int:entry_id>/revert/",
                wrap(require_POST(self.revert_view)),
                name=f"{prefix}_audit_revert",
            ),
            *super().get_urls(),
        ]

    def _url(self, name: str, *args: Any) -> str:
        return reverse(
            f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_{name}",
            args=args,
        )

    def history_view(self, request: HttpRequest, object_id: str, extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        entries = AuditEntry.objects.filter(
            model=model_label(self.model), object_key=str(obj.pk)
        ).order_by("-id")
        page = Paginator(entries, PER_PAGE).get_page(request.GET.get("page"))
        can_restore = self.has_change_permission(request, obj)
        rows = []
        for entry in page.object_list:
            editable = can_restore and entry.operation not in DELETES
            rows.append(
                {
                    "entry": entry,
                    "diff": entry_rows(entry, hidden=self.audit_hidden_fields),
                    "restore_url": self._url("audit_restore", quote(obj.pk), entry.pk)
                    if editable
                    else None,
                    # Before its creation there is nothing to go back to.
                    "revert_url": self._url("audit_revert", quote(obj.pk), entry.pk)
                    if editable and entry.operation not in CREATES
                    else None,
                }
            )
        context = {
            **self.admin_site.each_context(request),
            "title": f"History: {obj}",
            "subtitle": None,
            "object": obj,
            "opts": self.opts,
            "page": page,
            "rows": rows,
            "change_url": self._url("change", quote(obj.pk)),
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "audit/object_history.html", context)

    def restore_view(self, request: HttpRequest, object_id: str, entry_id: int) -> HttpResponse:
        return self._restore(request, object_id, entry_id, before=False)

    def revert_view(self, request: HttpRequest, object_id: str, entry_id: int) -> HttpResponse:
        return self._restore(request, object_id, entry_id, before=True)

    def _restore(
        self, request: HttpRequest, object_id: str, entry_id: int, *, before: bool
    ) -> HttpResponse:
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404
        if not self.has_change_permission(request, obj):
            raise PermissionDenied
        entry = AuditEntry.objects.filter(
            pk=entry_id, model=model_label(self.model), object_key=str(obj.pk)
        ).first()
        if entry is None:
            raise Http404
        try:
            result = object_restore(entry_id=entry.pk, user=request.user, before=before)
        except RestoreError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return HttpResponseRedirect(self._url("history", quote(obj.pk)))
        state = f"its state {'before' if before else 'after'} entry #{entry_id}"
        verb = "Reverted" if before else "Restored"
        message = (
            f"{verb} {obj._meta.verbose_name} “{obj}” to {state}."
            if result.changed
            else f"“{obj}” already is in {state}: nothing changed."
        )
        self.message_user(request, message, messages.SUCCESS)
        return HttpResponseRedirect(self._url("history", quote(obj.pk)))

    def deleted_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        entries = AuditEntry.objects.filter(
            model=model_label(self.model), operation__in=DELETES
        ).order_by("-id")
        page = Paginator(entries, PER_PAGE).get_page(request.GET.get("page"))
        keys = [entry.object_key for entry in page.object_list]
        # One query tells which of the page's objects have come back since.
        existing = {
            str(pk)
            for pk in self.model._default_manager.filter(pk__in=keys).values_list("pk", flat=True)
        }
        # Labels and parents of the whole page at once (keyed by entry: a key can recur).
        labels = object_labels(
            self.admin_site,
            self.model,
            {
                str(entry.pk): {n: p[0] for n, p in entry.changes.items() if isinstance(p, list)}
                for entry in page.object_list
            },
        )
        can_add = self.has_add_permission(request)
        rows = []
        for entry in page.object_list:
            label, parent, parent_url = labels[str(entry.pk)]
            rows.append(
                {
                    "entry": entry,
                    "label": label,
                    "parent": parent,
                    "parent_url": parent_url,
                    "parent_noun": self.model._meta.get_field(self.audit_parent).verbose_name
                    if self.audit_parent
                    else None,
                    "diff": entry_rows(entry, hidden=self.audit_hidden_fields),
                    "exists": entry.object_key in existing,
                    "restore_url": self._url("audit_restore_deleted", entry.pk)
                    if can_add and entry.object_key not in existing
                    else None,
                }
            )
        context = {
            **self.admin_site.each_context(request),
            "title": f"Deleted {self.opts.verbose_name_plural}",
            "subtitle": None,
            "opts": self.opts,
            "page": page,
            "rows": rows,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "audit/deleted.html", context)

    def restore_deleted_view(self, request: HttpRequest, entry_id: int) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        entry = AuditEntry.objects.filter(
            pk=entry_id, model=model_label(self.model), operation__in=DELETES
        ).first()
        if entry is None:
            raise Http404
        try:
            result = object_restore_deleted(entry_id=entry.pk, user=request.user)
        except (RestoreError, ValueError) as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return HttpResponseRedirect(self._url("audit_deleted"))
        except Exception as exc:  # an integrity error names what blocks the restore
            logger.warning("restore of deleted entry #%s failed", entry_id, exc_info=True)
            self.message_user(
                request, f"Could not restore entry #{entry_id}: {exc}", messages.ERROR
            )
            return HttpResponseRedirect(self._url("audit_deleted"))
        obj = self.model._default_manager.get(pk=entry.object_key)
        with_it = _counted(result.restored[1:])
        self.message_user(
            request,
            f"Restored deleted {self.opts.verbose_name} “{obj}”"
            + (f" with {with_it}." if with_it else "."),
            messages.SUCCESS,
        )
        return HttpResponseRedirect(self._url("change", quote(obj.pk)))


def _counted(keys: tuple[tuple[str, str], ...]) -> str:
    """``3 releases and 6 release files`` for what came back with an object."""
    from django.apps import apps

    counts: dict[str, int] = {}
    for label, _ in keys:
        counts[label] = counts.get(label, 0) + 1
    parts = []
    for label, count in counts.items():
        opts = apps.get_model(label)._meta
        noun = opts.verbose_name if count == 1 else opts.verbose_name_plural
        parts.append(f"{count} {noun}")
    return " and ".join(parts)


class EntryModelFilter(admin.SimpleListFilter):
    """The audited models, from the code: no DISTINCT over millions of entries."""

    title = "model"
    parameter_name = "model"

    def lookups(self, request, model_admin):
        from audit.receivers import audited_models

        labels = sorted(model_label(m) for m in audited_models())
        return [(label, label) for label in labels]

    def queryset(self, request, queryset):
        # On the (model, object_key, timestamp) index.
        return queryset.filter(model=self.value()) if self.value() else queryset


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: entries are append-only. The detail shows the changes as a table."""

    list_display = ("timestamp", "operation", "model", "object_key", "actor", "remote_addr")
    list_filter = ("operation", EntryModelFilter)
    search_fields = ("=object_key", "=actor", "=correlation_id")
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    sortable_by = ("timestamp",)
    change_form_template = "audit/entry_change_form.html"
    # Every entry field (when and what first), the changes as a table.
    fields = (
        "timestamp",
        "operation",
        *(
            "changes_table" if name == "changes" else name
            for name in ENTRY_NAMES
            if name not in ("timestamp", "operation")
        ),
    )
    readonly_fields = fields

    @admin.display(description="changes")
    def changes_table(self, obj: AuditEntry) -> str:
        return render_to_string("audit/_diff.html", {"diff": entry_rows(obj), "full": True})

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
