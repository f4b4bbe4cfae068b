"""Django admin for the relational catalog, usable on tens of thousands of packages.

Changelists select their foreign keys in the same query (``list_select_related``)
and never annotate per row, so a page runs a constant number of queries;
foreign keys use autocomplete widgets instead of loading every row into a
<select>.

A package's change page also says whether its MongoDB document is in sync
(computed there only, never on the changelist), and the index links to the
read-only document admin (``catalog.mongo_admin``).
"""

from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin.widgets import AdminURLFieldWidget
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db import models
from django.db.models import Q
from django.template.loader import render_to_string
from pymongo.errors import PyMongoError

from audit.admin import AuditHistoryMixin  # History with diffs, restore, deleted objects
from catalog.documents import PackageDocument, ReleaseDocument
from catalog.models import Classifier, License, Maintainer, Package, Release, ReleaseFile, User
from catalog.mongo_admin import changelist_url, document_url
from catalog.services.migrate_verify import package_document_check

# The Django admin's index links to the MongoDB document admin.
admin.site.index_template = "catalog/admin/index.html"

# A URL typed without a scheme is taken as https (Django 6.0's default; 5.2
# still assumes http and warns).
HTTPS_URLS = {models.URLField: {"widget": AdminURLFieldWidget, "assume_scheme": "https"}}


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
class UserAdmin(AuditHistoryMixin, DjangoUserAdmin):
    list_display = ("username", "email", "first_name", "last_name", "is_staff", "date_joined")
    search_fields = ("username", "email", "first_name", "last_name")
    fieldsets = (*DjangoUserAdmin.fieldsets, ("Profile", {"fields": ("homepage",)}))
    formfield_overrides = HTTPS_URLS
    show_full_result_count = False


@admin.register(License)
class LicenseAdmin(AuditHistoryMixin, admin.ModelAdmin):
    list_display = ("name", "spdx_id")
    search_fields = ("name", "spdx_id")


@admin.register(Classifier)
class ClassifierAdmin(AuditHistoryMixin, admin.ModelAdmin):
    list_display = ("name",)
    search_fields = ("name",)
    list_per_page = 200


class MaintainerInline(admin.TabularInline):
    model = Maintainer
    autocomplete_fields = ("user",)
    extra = 0


class ReleaseInline(admin.TabularInline):
    model = Release
    fields = ("version", "is_prerelease", "yanked", "yanked_reason", "requires_python", "created")
    readonly_fields = ("is_prerelease",)
    show_change_link = True
    extra = 0
    ordering = ("-sort_key",)


@admin.register(Package)
class PackageAdmin(AuditHistoryMixin, admin.ModelAdmin):
    list_display = ("display_name", "name", "summary", "license", "updated")
    list_select_related = ("license",)
    list_filter = ("license", ClassifierFilter)
    search_fields = ("name", "display_name", "summary")
    readonly_fields = ("name", "created", "updated", "mongo_document")
    autocomplete_fields = ("license", "classifiers")
    inlines = (MaintainerInline, ReleaseInline)
    show_full_result_count = False
    formfield_overrides = HTTPS_URLS
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

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        # A package being added has no document to compare with.
        return fieldsets if obj else [f for f in fieldsets if f[0] != "MongoDB"]

    @admin.display(description="document")
    def mongo_document(self, obj):
        """In sync, differs (which fields) or missing: the row's document against the stored one."""
        try:
            check = package_document_check(pk=obj.pk)
        except PyMongoError as exc:
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


@admin.register(Release)
class ReleaseAdmin(AuditHistoryMixin, admin.ModelAdmin):
    list_display = ("package", "version", "is_prerelease", "yanked", "created")
    list_select_related = ("package",)
    list_filter = ("yanked", PreReleaseFilter)
    search_fields = ("package__name", "version")
    autocomplete_fields = ("package",)
    readonly_fields = ("sort_key", "is_prerelease", "updated")
    inlines = (ReleaseFileInline,)
    show_full_result_count = False
    ordering = ("package__name", "-sort_key")


@admin.register(ReleaseFile)
class ReleaseFileAdmin(AuditHistoryMixin, admin.ModelAdmin):
    list_display = ("filename", "release", "packagetype", "size", "upload_time")
    list_select_related = ("release__package",)
    list_filter = ("packagetype",)
    search_fields = ("filename", "sha256")
    autocomplete_fields = ("release",)
    show_full_result_count = False
    formfield_overrides = HTTPS_URLS


@admin.register(Maintainer)
class MaintainerAdmin(AuditHistoryMixin, admin.ModelAdmin):
    list_display = ("package", "user", "role", "created")
    list_select_related = ("package", "user")
    list_filter = ("role",)
    search_fields = ("package__name", "user__username")
    autocomplete_fields = ("package", "user")
