"""Django admin for the relational catalog, usable on tens of thousands of packages.

Changelists select their foreign keys in the same query (``list_select_related``)
and never annotate per row, so a page runs a constant number of queries;
foreign keys use autocomplete widgets instead of loading every row into a
<select>.

A change form's size never grows with the catalog: a package's releases are a
read-only summary (count, newest, the ten newest) linking to the release
changelist filtered on the package, and the rows of an inline (a release's
files, a package's maintainers) are editable in place only while they are few
(``BoundedInlinesMixin``); past that the form shows a summary and a link. So no
form ever posts more than a few hundred fields, far below Django's
``DATA_UPLOAD_MAX_NUMBER_FIELDS`` (1,000), whatever the size of the package.

A package's change page also says whether its MongoDB document is in sync
(computed there only, never on the changelist), and the index links to the
read-only document admin (``catalog.mongo_admin``).
"""

import logging
from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin.utils import quote
from django.contrib.admin.widgets import AdminURLFieldWidget
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db import models
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from pymongo.errors import PyMongoError

from audit.admin import AuditHistoryMixin  # History with diffs, restore, deleted objects
from catalog.admin_saving import NORMALIZED_FIELDS, ChangedFieldsOnlyMixin
from catalog.documents import PackageDocument, ReleaseDocument
from catalog.models import Classifier, License, Maintainer, Package, Release, ReleaseFile, User
from catalog.mongo_admin import changelist_url, document_url
from catalog.services.migration.verify import package_document_check
from catalog.versions import canonicalize_name
from project.admin import EstimatedCountPaginator

logger = logging.getLogger(__name__)

# A URL typed without a scheme is taken as https (Django 6.0's default; 5.2
# still assumes http and warns).
HTTPS_URLS = {
    **NORMALIZED_FIELDS,
    models.URLField: {
        **NORMALIZED_FIELDS[models.URLField],
        "widget": AdminURLFieldWidget,
        "assume_scheme": "https",
    },
}

# How many of a package's newest releases its change page lists.
RELEASES_SHOWN = 10
# Inline rows editable in place up to these counts (each row posts about ten
# fields); beyond, the rows are listed read-only with a link to their changelist.
MAINTAINERS_INLINE_LIMIT = 50
FILES_INLINE_LIMIT = 30
SUMMARY_SHOWN = 10


def admin_url(model: type[models.Model], action: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{action}", args=args)


def filtered_url(model: type[models.Model], action: str, query: dict) -> str:
    return f"{admin_url(model, action)}?{urlencode(query)}"


class BoundedInlinesMixin:
    """Keep an inline only while its rows are few (``max_num`` rows at most).

    An inline class names its reverse accessor (``related_name``); its rows are
    counted once per request and object. The same count decides on the GET and
    on the POST, so the posted formsets are the ones that were rendered.
    """

    def related_count(self, obj: models.Model, inline) -> int:
        counts = obj.__dict__.setdefault("_admin_related_counts", {})
        if inline.related_name not in counts:
            counts[inline.related_name] = getattr(obj, inline.related_name).count()
        return counts[inline.related_name]

    def inline_fits(self, obj: models.Model | None, inline) -> bool:
        return obj is None or self.related_count(obj, inline) <= inline.max_num

    def get_inlines(self, request, obj):
        return [i for i in super().get_inlines(request, obj) if self.inline_fits(obj, i)]

    def related_summary(self, obj, inline, *, filter_name: str, label, noun: str) -> str:
        """The read-only stand-in of an inline that does not fit: count, a few rows, a link."""
        model = inline.model
        rows = (
            getattr(obj, inline.related_name)
            .select_related(*inline.summary_select_related)
            .order_by(*inline.summary_ordering)
        )
        shown = [
            (label(row), admin_url(model, "change", quote(row.pk))) for row in rows[:SUMMARY_SHOWN]
        ]
        return render_to_string(
            "catalog/admin/includes/related_summary.html",
            {
                "count": self.related_count(obj, inline),
                "noun": noun,
                "shown": shown,
                "changelist_url": filtered_url(model, "changelist", {filter_name: obj.pk}),
                "add_url": filtered_url(model, "add", {filter_name.split("__")[0]: obj.pk}),
            },
        )


class PreReleaseFilter(admin.SimpleListFilter):
    title = "pre-release"
    parameter_name = "prerelease"

    def lookups(self, request, model_admin):
        return (("yes", "Pre-releases"), ("no", "Final releases"))

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(is_prerelease=True)
        if self.value() == "no":
            return queryset.filter(is_prerelease=False)
        return queryset


class ClassifierFilter(admin.SimpleListFilter):
    """Filter by a classifier and its sub-classifiers, listing only the top groups."""

    title = "classifier"
    parameter_name = "classifier"

    def lookups(self, request, model_admin):
        names = Classifier.objects.values_list("name", flat=True)
        prefixes = sorted({" :: ".join(n.split(" :: ")[:2]) for n in names})
        return [(p, p) for p in prefixes]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        matching = Classifier.objects.filter(Q(name=value) | Q(name__startswith=value + " :: "))
        return queryset.filter(classifiers__in=matching).distinct()


@admin.register(User)
class UserAdmin(AuditHistoryMixin, ChangedFieldsOnlyMixin, DjangoUserAdmin):
    audit_label_fields = ("username",)
    list_display = ("username", "email", "first_name", "last_name", "is_staff", "date_joined")
    search_fields = ("username", "email", "first_name", "last_name")
    fieldsets = (*DjangoUserAdmin.fieldsets, ("Profile", {"fields": ("homepage",)}))
    formfield_overrides = HTTPS_URLS
    show_full_result_count = False
    paginator = EstimatedCountPaginator


@admin.register(License)
class LicenseAdmin(AuditHistoryMixin, ChangedFieldsOnlyMixin, admin.ModelAdmin):
    audit_label_fields = ("name",)
    list_display = ("name", "spdx_id")
    formfield_overrides = HTTPS_URLS
    search_fields = ("name", "spdx_id")
    show_full_result_count = False
    paginator = EstimatedCountPaginator


@admin.register(Classifier)
class ClassifierAdmin(AuditHistoryMixin, ChangedFieldsOnlyMixin, admin.ModelAdmin):
    audit_label_fields = ("name",)
    list_display = ("name",)
    search_fields = ("name",)
    formfield_overrides = HTTPS_URLS
    list_per_page = 200
    show_full_result_count = False
    paginator = EstimatedCountPaginator


class MaintainerInline(admin.TabularInline):
    model = Maintainer
    formfield_overrides = HTTPS_URLS
    autocomplete_fields = ("user",)
    extra = 0
    max_num = MAINTAINERS_INLINE_LIMIT
    related_name = "roles"
    summary_ordering = ("role", "user__username")
    summary_select_related = ("user",)

    def get_queryset(self, request):
        # Each row's label names its user and package: read them with the rows.
        return super().get_queryset(request).select_related("user", "package")


@admin.register(Package)
class PackageAdmin(
    AuditHistoryMixin, ChangedFieldsOnlyMixin, BoundedInlinesMixin, admin.ModelAdmin
):
    list_display = ("display_name", "name", "summary", "license", "updated")
    audit_label_fields = ("name", "display_name")
    list_select_related = ("license",)
    list_filter = ("license", ClassifierFilter)
    # The search box matches a name prefix on the unique name's index (see
    # get_search_results); search_fields only turns the box (and autocomplete) on.
    search_fields = ("name",)
    search_help_text = "A package name or the start of one (any spelling: Foo_Bar = foo-bar)."
    sortable_by = ("display_name", "name", "updated")
    readonly_fields = (
        "name",
        "created",
        "updated",
        "mongo_document",
        "releases_summary",
        "maintainers_summary",
    )
    autocomplete_fields = ("license", "classifiers")
    inlines = (MaintainerInline,)
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    formfield_overrides = HTTPS_URLS
    derived_fields = {"display_name": ("name",)}
    fieldsets = (
        (None, {"fields": ("display_name", "name", "summary", "license", "classifiers")}),
        ("MongoDB", {"fields": ("mongo_document",)}),
        ("Description", {"fields": ("description", "description_content_type", "keywords")}),
        (
            "Links and people",
            {
                "fields": (
                    "home_page",
                    "docs_url",
                    "project_urls",
                    "author",
                    "author_email",
                    "maintainer",
                    "maintainer_email",
                )
            },
        ),
        ("Bookkeeping", {"fields": ("last_serial", "created", "updated")}),
    )

    def get_search_results(self, request, queryset, search_term):
        term = canonicalize_name(search_term.strip())
        if not term:
            return queryset, False
        # A prefix on the canonical name. The lower bound lets the list, ordered by
        # name, start its index scan at the prefix (a prefix sorts before its
        # extensions in any collation); alone, LIKE made PostgreSQL walk the names
        # from "a" (66 ms for "open-" among 100,000 packages, 0.3 ms with it).
        return queryset.filter(name__gte=term, name__startswith=term), False

    def get_fieldsets(self, request, obj=None):
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is None:
            # A package being added has no document to compare with, nor releases.
            return [f for f in fieldsets if f[0] != "MongoDB"]
        fieldsets.insert(1, ("Releases", {"fields": ("releases_summary",)}))
        if not self.inline_fits(obj, MaintainerInline):
            fieldsets.insert(2, ("Maintainers", {"fields": ("maintainers_summary",)}))
        return fieldsets

    @admin.display(description="releases")
    def releases_summary(self, obj):
        """Count, newest and the newest few, read-only: releases are edited on their own pages."""
        releases = [
            (release, admin_url(Release, "change", release["pk"]))
            for release in obj.releases.newest_first().values(
                "pk", "version", "is_prerelease", "yanked", "created"
            )[:RELEASES_SHOWN]
        ]
        count = obj.releases.count()  # on the (package, sort_key) index
        return render_to_string(
            "catalog/admin/includes/release_summary.html",
            {
                "package": obj,
                "count": count,
                "newest": releases[0][0] if releases else None,
                "newest_url": releases[0][1] if releases else None,
                "releases": releases,
                "changelist_url": filtered_url(
                    Release, "changelist", {"package__id__exact": obj.pk}
                ),
                "add_url": filtered_url(Release, "add", {"package": obj.pk}),
            },
        )

    @admin.display(description="maintainers")
    def maintainers_summary(self, obj):
        return self.related_summary(
            obj,
            MaintainerInline,
            filter_name="package__id__exact",
            label=lambda role: f"{role.user.username} ({role.role})",
            noun="maintainers",
        )

    @admin.display(description="document")
    def mongo_document(self, obj):
        """In sync, differs (which fields) or missing: the row's document against the stored one."""
        try:
            check = package_document_check(pk=obj.pk)
        except PyMongoError as exc:
            logger.warning(
                "package %s: MongoDB could not be read for its sync status: %s", obj.pk, exc
            )
            return f"MongoDB could not be read: {exc}"
        url = document_url(PackageDocument, check.key)
        return render_to_string(
            "catalog/admin/includes/mongo_status.html",
            {
                "check": check,
                "document_url": url,
                "fields": [(name, f"{url}#field-{name}") for name in check.fields],
                "releases_url": (
                    f"{changelist_url(ReleaseDocument)}?{urlencode({'package': check.key})}"
                ),
            },
        )


class ReleaseFileInline(admin.TabularInline):
    model = ReleaseFile
    fields = ("filename", "packagetype", "python_version", "size", "sha256", "upload_time")
    extra = 0
    max_num = FILES_INLINE_LIMIT
    related_name = "files"
    summary_ordering = ("filename",)
    summary_select_related = ()
    formfield_overrides = HTTPS_URLS


@admin.register(Release)
class ReleaseAdmin(
    AuditHistoryMixin, ChangedFieldsOnlyMixin, BoundedInlinesMixin, admin.ModelAdmin
):
    list_display = ("package", "version", "is_prerelease", "yanked", "created")
    list_select_related = ("package",)
    list_filter = ("yanked", PreReleaseFilter)
    search_fields = ("package__name",)
    search_help_text = "A package name or its start, then optionally a version or its start."
    autocomplete_fields = ("package",)
    readonly_fields = ("sort_key", "is_prerelease", "updated", "files_summary")
    inlines = (ReleaseFileInline,)
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    # The (package, sort_key) index gives this order without sorting the table;
    # column sorts that would sort a million rows are not offered.
    ordering = ("package_id", "-sort_key")
    sortable_by = ()
    formfield_overrides = HTTPS_URLS
    derived_fields = {"version": ("sort_key", "is_prerelease")}
    audit_label_fields = ("version",)
    audit_hidden_fields = ("sort_key",)  # derived from the version; not for people
    audit_parent = "package"
    audit_label_with_parent = True

    def get_search_results(self, request, queryset, search_term):
        """``geo-cache`` or ``geo-cache 1.0``: name prefix, then version prefix (both indexed)."""
        name, _, version = search_term.strip().partition(" ")
        name = canonicalize_name(name)
        if not name:
            return queryset, False
        # select_related: autocomplete labels a release with its package's name.
        queryset = queryset.filter(package__name__startswith=name).select_related("package")
        if version.strip():
            queryset = queryset.filter(version__startswith=version.strip())
        return queryset, False

    def get_fields(self, request, obj=None):
        fields = [f for f in super().get_fields(request, obj) if f != "files_summary"]
        if obj is not None and not self.inline_fits(obj, ReleaseFileInline):
            fields.append("files_summary")
        return fields

    @admin.display(description="files")
    def files_summary(self, obj):
        return self.related_summary(
            obj,
            ReleaseFileInline,
            filter_name="release__id__exact",
            label=lambda file: file.filename,
            noun="files",
        )


@admin.register(ReleaseFile)
class ReleaseFileAdmin(AuditHistoryMixin, ChangedFieldsOnlyMixin, admin.ModelAdmin):
    list_display = ("filename", "release", "packagetype", "size", "upload_time")
    list_select_related = ("release__package",)
    list_filter = ("packagetype",)
    search_fields = ("filename",)
    search_help_text = "The start of a file name, or a whole SHA-256 digest."
    audit_label_fields = ("filename",)
    audit_parent = "release"
    sortable_by = ()
    autocomplete_fields = ("release",)
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    formfield_overrides = HTTPS_URLS

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        if len(term) == 64 and all(c in "0123456789abcdef" for c in term.lower()):
            return queryset.filter(sha256=term.lower()).select_related("release__package"), False
        # File names are unique (indexed) and case-sensitive, as PyPI serves them.
        return queryset.filter(filename__startswith=term).select_related("release__package"), False


@admin.register(Maintainer)
class MaintainerAdmin(AuditHistoryMixin, ChangedFieldsOnlyMixin, admin.ModelAdmin):
    list_display = ("package", "user", "role", "created")
    formfield_overrides = HTTPS_URLS
    audit_parent = "package"
    list_select_related = ("package", "user")
    list_filter = ("role",)
    search_fields = ("package__name", "user__username")
    autocomplete_fields = ("package", "user")
    show_full_result_count = False
    paginator = EstimatedCountPaginator
