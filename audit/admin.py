"""History, restore and restore-deleted views for the catalog's ModelAdmins.

``AuditHistoryMixin`` replaces the admin's History page with the audit trail
of the object (each change as old and new values side by side, newest first,
paginated so the page costs the same queries however long the history is),
with a "Restore this version" button per entry, and adds a "Deleted objects"
page to the changelist. Every restore is itself recorded, by the staff user,
with a note naming the entry it restored.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from audit.models import AuditEntry, Operation
from audit.services import RestoreError, object_restore, object_restore_deleted
from audit.tracking import model_label

PER_PAGE = 25
DELETES = (Operation.DELETE, Operation.BULK_DELETE)


def _show(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return str(value)


def entry_rows(entry: AuditEntry) -> list[tuple[str, str, str]]:
    """(field, old, new) rows of one entry, for the side-by-side diff."""
    rows = []
    for name, change in sorted(entry.changes.items()):
        if isinstance(change, dict):  # m2m: {"added": [...]} / {"removed": [...]}
            rows.append((name, _show(change.get("removed")), _show(change.get("added"))))
        else:
            rows.append((name, _show(change[0]), _show(change[1])))
    return rows


class AuditHistoryMixin:
    """Mix into a ModelAdmin (first base) to get the audit History and restore views."""

    change_list_template = "audit/change_list.html"

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
        rows = [
            {
                "entry": entry,
                "diff": entry_rows(entry),
                "restore_url": self._url("audit_restore", quote(obj.pk), entry.pk)
                if can_restore and entry.operation not in DELETES
                else None,
            }
            for entry in page.object_list
        ]
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
            result = object_restore(entry_id=entry.pk, user=request.user)
        except RestoreError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return HttpResponseRedirect(self._url("history", quote(obj.pk)))
        message = (
            f"Restored {obj._meta.verbose_name} “{obj}” to its version of entry #{entry_id}."
            if result.changed
            else f"“{obj}” already matches the version of entry #{entry_id}."
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
        can_add = self.has_add_permission(request)
        rows = [
            {
                "entry": entry,
                "label": entry.changes.get("name", [None])[0]
                or entry.changes.get("display_name", [None])[0]
                or entry.changes.get("username", [None])[0]
                or entry.changes.get("filename", [None])[0]
                or entry.changes.get("version", [None])[0]
                or f"#{entry.object_key}",
                "diff": entry_rows(entry),
                "exists": entry.object_key in existing,
                "restore_url": self._url("audit_restore_deleted", entry.pk)
                if can_add and entry.object_key not in existing
                else None,
            }
            for entry in page.object_list
        ]
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
            object_restore_deleted(entry_id=entry.pk, user=request.user)
        except (RestoreError, ValueError) as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return HttpResponseRedirect(self._url("audit_deleted"))
        except Exception as exc:  # an integrity error names what blocks the restore
            self.message_user(
                request, f"Could not restore entry #{entry_id}: {exc}", messages.ERROR
            )
            return HttpResponseRedirect(self._url("audit_deleted"))
        obj = self.model._default_manager.get(pk=entry.object_key)
        self.message_user(
            request, f"Restored deleted {self.opts.verbose_name} “{obj}”.", messages.SUCCESS
        )
        return HttpResponseRedirect(self._url("change", quote(obj.pk)))


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: entries are append-only."""

    list_display = ("timestamp", "operation", "model", "object_key", "actor", "remote_addr")
    list_filter = ("operation", "model")
    search_fields = ("=object_key", "=actor", "=correlation_id")
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
