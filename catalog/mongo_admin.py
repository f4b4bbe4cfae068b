"""The MongoDB mirror in the browser: a read-only document admin beside the Django admin.

Mounted at ``/admin/mongo/`` (``project/urls.py``) for staff, with the Django
admin's login. It is django-mongoengine's document admin made to run on
Django 5.2 by ``catalog.mongo_admin_compat``; this module adds what the
project wants from it:

- read-only: nothing can be added, changed or deleted (the views answer 403
  and the pages show no buttons); the detail page of a document shows every
  stored field, embedded documents and lists as nested tables;
- search that cannot be turned into a query: each word is escaped into a
  case-insensitive ``$regex`` over the declared search fields, and query-string
  filters are refused except an exact match on the fields an admin names;
- a change list that reads one page: ``skip``/``limit`` on the sorted query,
  only the listed fields, and no count of the whole collection.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseBadRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils.text import capfirst, smart_split, unescape_string_literal
from django_mongoengine.mongo_admin.decorators import register
from mongoengine import Q

from catalog.documents import (
    PackageDocument,
    ReleaseDocument,
    UserDocument,
    release_document_id,
)
from catalog.mongo_admin_compat import (
    CompatAdminSite,
    CompatDocumentAdmin,
    CompatDocumentChangeList,
)

LONG_TEXT = 200  # characters: longer strings (or any with a line break) are shown in a <pre>


class DocumentAdminSite(CompatAdminSite):
    site_header = "MongoDB documents"
    site_title = "MongoDB documents"
    index_title = "The MongoDB mirror of the catalog (read-only)"
    index_template = "catalog/mongo_admin/index.html"

    def each_context(self, request):
        return {
            **super().each_context(request),
            "django_admin_url": reverse("admin:index", current_app=admin.site.name),
        }

    def login(self, request, extra_context=None):
        # One login for both admins: the Django admin's, which sends people back
        # here through ?next= (and tells a non-staff user they may not enter).
        url = reverse("admin:login", current_app=admin.site.name)
        query = request.GET.urlencode()
        return HttpResponseRedirect(f"{url}?{query}" if query else url)


site = DocumentAdminSite(name="mongo_admin")


def document_url(document_cls: type, key: Any) -> str:
    """The detail page of a document of this site."""
    opts = document_cls._meta
    return reverse(f"{site.name}:{opts.app_label}_{opts.model_name}_change", args=[quote(str(key))])


def changelist_url(document_cls: type) -> str:
    opts = document_cls._meta
    return reverse(f"{site.name}:{opts.app_label}_{opts.model_name}_changelist")


def _django_admin_url(name: str, pk: Any) -> str | None:
    if not isinstance(pk, int):
        return None
    try:
        return reverse(f"admin:{name}", args=[pk], current_app=admin.site.name)
    except NoReverseMatch:
        return None


# --- the detail page: a stored document as a tree of values -------------------------


@dataclass
class Value:
    """One value of a stored document, ready for ``includes/value.html``."""

    kind: str  # empty, text, long, bool, masked, list, mapping or table
    text: str = ""
    url: str | None = None
    items: list[Value] = field(default_factory=list)  # list
    rows: list[tuple[str, Value]] = field(default_factory=list)  # mapping
    columns: list[str] = field(default_factory=list)  # table
    cells: list[list[Value]] = field(default_factory=list)  # table


@dataclass
class Row:
    key: str  # the stored name: the anchor of the row is #field-<key>
    label: str
    value: Value
    declared: bool = True


def _text(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="milliseconds")
    return str(value)


class ReadOnlyDocumentAdmin(CompatDocumentAdmin):
    """List, search and look at documents; never write them."""

    actions = None
    list_per_page = 50
    # The unfiltered total would be a count of the whole collection on every page.
    show_full_result_count = False
    # Fields loaded for the change list (the rest of each document is not read).
    list_only: tuple[str, ...] = ()
    # Query-string parameters accepted as exact-match filters (?package=requests).
    exact_filters: tuple[str, ...] = ()
    # Stored fields shown only as "set" or empty.
    masked_fields: frozenset[str] = frozenset()
    detail_template = "catalog/mongo_admin/document_detail.html"

    # The relational model a document mirrors: Django's view (or change)
    # permission on it is what lets a staff member see these documents.
    mirrors: str = ""

    # --- permissions: staff with the model's view permission may look; nobody writes ---

    def has_view_permission(self, request, obj=None):
        user = request.user
        if not (user.is_active and user.is_staff):
            return False
        app_label, model_name = self.mirrors.split(".")
        return user.has_perm(f"{app_label}.view_{model_name}") or user.has_perm(
            f"{app_label}.change_{model_name}"
        )

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def add_view(self, request, form_url="", extra_context=None):
        raise PermissionDenied

    def delete_view(self, request, object_id, extra_context=None):
        raise PermissionDenied

    # --- change list ------------------------------------------------------------

    def get_changelist(self, request, **kwargs):
        return DocumentChangeList

    def lookup_allowed(self, lookup, value, request):
        # Query-string lookups reach QuerySet.filter(**lookups) as they are, where
        # "summary__regex" or "name__ne" would be MongoDB operators: only the
        # declared exact-match fields pass (anything else is a 400).
        return lookup in self.exact_filters

    def search_paths(self) -> list[str]:
        """The stored (dotted) names of the search fields."""
        paths = []
        for name in self.get_search_fields(None):
            fields = self.model._lookup_field(name.split("."))
            paths.append(".".join(f.db_field for f in fields))
        return paths

    def get_search_results(self, request, queryset, search_term):
        # Every word must match one of the fields; the user's text only ever
        # becomes the body of a regular expression, escaped (".*" finds a literal
        # ".*", '{"$gt": ""}' that literal text), never a MongoDB operator.
        paths = self.search_paths()
        if not paths or not search_term:
            return queryset, False
        for bit in smart_split(search_term):
            if bit.startswith(('"', "'")) and bit[0] == bit[-1] and len(bit) > 1:
                bit = unescape_string_literal(bit)
            pattern = {"$regex": re.escape(bit), "$options": "i"}
            queryset = queryset.filter(Q(__raw__={"$or": [{p: pattern} for p in paths]}))
        return queryset, False

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        refused = _refused_list_parameters(request, self.exact_filters)
        if refused:
            return HttpResponseBadRequest(refused, content_type="text/plain; charset=utf-8")
        filters = {name: request.GET[name] for name in self.exact_filters if request.GET.get(name)}
        if filters:
            subtitle = ", ".join(f"{name} = {value}" for name, value in filters.items())
            extra_context = {"subtitle": subtitle, **(extra_context or {})}
        return super().changelist_view(request, extra_context)

    # --- detail page ------------------------------------------------------------

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method not in ("GET", "HEAD"):
            raise PermissionDenied  # read-only: no form, nothing to post
        if not self.has_view_permission(request):
            raise PermissionDenied
        stored = self.stored_document(unquote(object_id))
        if stored is None:
            raise Http404(f"No {self.opts.verbose_name} with _id {unquote(object_id)!r}.")
        opts = self.opts
        request.current_app = self.admin_site.name
        context = {
            **self.admin_site.each_context(request),
            "title": f"{capfirst(opts.verbose_name)}: {stored['_id']}",
            "subtitle": None,
            "opts": opts,
            "document_id": stored["_id"],
            "collection": self.model._get_collection_name(),
            "rows": self.detail_rows(stored),
            "related_links": self.related_links(stored),
            "changelist_url": changelist_url(self.model),
            **(extra_context or {}),
        }
        return TemplateResponse(request, self.detail_template, context)

    def stored_document(self, object_id: str) -> dict | None:
        """The document as stored (declared or not, every field), or None."""
        pk_field = self.model._fields[self.model._meta["id_field"]]
        try:
            key = pk_field.to_mongo(pk_field.to_python(object_id))
        except (ValidationError, ValueError, TypeError):
            return None
        return self.model._get_collection().find_one({"_id": key})

    def detail_rows(self, stored: dict) -> list[Row]:
        rows = []
        shown = set()
        for name in self.model._fields_ordered:
            db_field = self.model._fields[name].db_field
            shown.add(db_field)
            label = name if db_field == name else f"{name} ({db_field})"
            rows.append(Row(db_field, label, self.value(stored, db_field, stored.get(db_field))))
        for key in stored:
            if key not in shown:  # written by something that does not go through the document
                rows.append(Row(key, key, self.value(stored, key, stored[key]), declared=False))
        return rows

    def value(self, stored: dict, path: str, value: Any) -> Value:
        if path in self.masked_fields:
            return Value("masked", "set (not shown)") if value else Value("empty")
        url = self.value_url(stored, path, value)
        if value is None or value == "" or value == [] or value == {}:
            return Value("empty")
        if isinstance(value, bool):
            return Value("bool", "yes" if value else "no")
        if isinstance(value, dict):
            return Value(
                "mapping",
                rows=[(str(k), self.value(stored, f"{path}.{k}", v)) for k, v in value.items()],
            )
        if isinstance(value, list):
            if all(isinstance(item, dict) for item in value):
                columns = list(dict.fromkeys(k for item in value for k in item))
                cells = [
                    [self.value(stored, f"{path}.{c}", item.get(c)) for c in columns]
                    for item in value
                ]
                return Value("table", columns=columns, cells=cells)
            return Value("list", items=[self.value(stored, path, item) for item in value])
        text = _text(value)
        if isinstance(value, str) and (len(text) > LONG_TEXT or "\n" in text):
            return Value("long", text)
        return Value("text", text, url=url)

    def value_url(self, stored: dict, path: str, value: Any) -> str | None:
        """A link for a value (another document, the relational row), if there is one."""
        return None

    def related_links(self, stored: dict) -> list[tuple[str, str]]:
        return []


# A page number longer than this is no page of any collection (skip() takes a
# 64-bit integer; int() of thousands of digits raises).
PAGE_MAX_DIGITS = 9


def _refused_list_parameters(request, exact_filters: tuple[str, ...]) -> str:
    """Why the change list's query string is refused (400), or "" when it is fine."""
    for name in (*exact_filters, "p", "q", "o"):
        values = request.GET.getlist(name)
        if len(values) > 1:
            return f"400 Bad Request: the parameter {name!r} is given {len(values)} times.\n"
    page = request.GET.get("p")
    if page is not None and not (
        page.isascii() and page.isdigit() and len(page) <= PAGE_MAX_DIGITS
    ):
        return f"400 Bad Request: the page number {page[:20]!r} is not a page number.\n"
    return ""


class DocumentChangeList(CompatDocumentChangeList):
    def get_queryset(self, request=None):
        queryset = super().get_queryset(request)
        return (
            queryset.only(*self.model_admin.list_only) if self.model_admin.list_only else queryset
        )


# --- the catalog's documents ----------------------------------------------------------


@register(PackageDocument, site=site)
class PackageDocumentAdmin(ReadOnlyDocumentAdmin):
    mirrors = "catalog.package"
    list_display = ("name", "display_name", "summary", "latest_version", "release_count", "updated")
    list_only = ("name", "display_name", "summary", "latest", "release_count", "updated")
    search_fields = ("name", "display_name", "summary")
    ordering = ("name",)

    @admin.display(description="latest", ordering="latest.version")
    def latest_version(self, obj):
        return obj.latest.version if obj.latest else None

    def value_url(self, stored, path, value):
        if path == "sql_id":
            return _django_admin_url("catalog_package_change", value)
        if path == "maintainers.username" and value:
            return document_url(UserDocument, value)
        if path == "maintainers.user_id":
            return _django_admin_url("catalog_user_change", value)
        if path == "latest.version" and value:
            return document_url(ReleaseDocument, release_document_id(stored["_id"], value))
        return None

    def related_links(self, stored):
        releases = f"{changelist_url(ReleaseDocument)}?{urlencode({'package': stored['_id']})}"
        links = [("Release documents", releases)]
        row = _django_admin_url("catalog_package_change", stored.get("sql_id"))
        if row:
            links.append(("Package in the Django admin", row))
        return links


@register(ReleaseDocument, site=site)
class ReleaseDocumentAdmin(ReadOnlyDocumentAdmin):
    mirrors = "catalog.release"
    list_display = (
        "version",
        "package",
        "prerelease",
        "yanked_flag",
        "requires_python",
        "file_count",
        "created",
    )
    list_only = (
        "id",
        "package",
        "version",
        "is_prerelease",
        "yanked",
        "requires_python",
        "files",
        "created",
    )
    search_fields = ("package", "version", "files.filename")
    exact_filters = ("package",)
    # The (package, -sort_key) index: newest release of each package first.
    ordering = ("package", "-sort_key")

    @admin.display(description="pre-release", boolean=True, ordering="is_prerelease")
    def prerelease(self, obj):
        return obj.is_prerelease

    @admin.display(description="yanked", boolean=True, ordering="yanked")
    def yanked_flag(self, obj):
        return obj.yanked

    @admin.display(description="files")
    def file_count(self, obj):
        return len(obj.files)

    def value_url(self, stored, path, value):
        if path == "sql_id":
            return _django_admin_url("catalog_release_change", value)
        if path == "package" and value:
            return document_url(PackageDocument, value)
        return None

    def related_links(self, stored):
        links = [("Package document", document_url(PackageDocument, stored.get("package")))]
        row = _django_admin_url("catalog_release_change", stored.get("sql_id"))
        if row:
            links.append(("Release in the Django admin", row))
        return links


@register(UserDocument, site=site)
class UserDocumentAdmin(ReadOnlyDocumentAdmin):
    mirrors = "catalog.user"
    list_display = ("username", "email", "first_name", "last_name", "staff", "date_joined")
    list_only = ("username", "email", "first_name", "last_name", "is_staff", "date_joined")
    search_fields = ("username", "email", "first_name", "last_name")
    ordering = ("username",)
    # A password hash is copied only when the operator asks for it; never shown.
    masked_fields = frozenset({"password"})

    @admin.display(description="staff", boolean=True, ordering="is_staff")
    def staff(self, obj):
        return obj.is_staff

    def value_url(self, stored, path, value):
        if path == "sql_id":
            return _django_admin_url("catalog_user_change", value)
        return None

    def related_links(self, stored):
        row = _django_admin_url("catalog_user_change", stored.get("sql_id"))
        return [("User in the Django admin", row)] if row else []
