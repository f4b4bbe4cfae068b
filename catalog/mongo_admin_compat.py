"""django-mongoengine's document admin (``mongo_admin``, pinned 0.6.0b5) on Django 5.2.

The package declares Django < 5. Its admin is Django's ``ModelAdmin`` and
``ChangeList`` running on documents through a ``_meta`` wrapper, so it breaks
wherever Django 5.x started to read something the wrapper or the document
fields do not have. This module bridges those places and nothing else: two
attributes patched at import, and subclasses that override single methods,
each with the Django change it answers. Two more pieces are not about a Django
version: ``django_flavoured`` (documents whose meta names their own
``queryset_class``, as this project's audited documents do) and the site's
index template.

Not bridged, because this project does not use them: the add/change forms
(``DocumentForm`` cannot build a form field for an ``EmbeddedDocumentField``:
the field has no ``label``; ``catalog.mongo_admin`` shows documents read-only
instead) and ``list_filter`` specs (Django's filter classes only recognise
model fields).
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.core import validators
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.template.response import TemplateResponse
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django_mongoengine.fields.djangoflavor import DjangoField
from django_mongoengine.forms.document_options import DocumentMetaWrapper
from django_mongoengine.mongo_admin.options import DocumentAdmin
from django_mongoengine.mongo_admin.sites import AdminSite
from django_mongoengine.mongo_admin.views import DocumentChangeList
from django_mongoengine.queryset import BaseQuerySet
from mongoengine.queryset import QuerySet

__all__ = ["CompatAdminSite", "CompatDocumentAdmin", "CompatDocumentChangeList", "django_flavoured"]

# --- patches applied at import ---------------------------------------------------

# Django 5.2 (composite primary keys): AdminSite.register() refuses a model whose
# ``_meta.is_composite_pk`` is true, and reads it from every model it registers.
# The document ``_meta`` wrapper raises AttributeError for attributes it lacks.
DocumentMetaWrapper.is_composite_pk = False

# Django 5.1 (ticket #28404): admin.utils.display_for_field() tests
# ``value in field.empty_values``, an attribute every model Field has, to show
# empty strings as "-". django-mongoengine's field mixin does not define it, so
# any document field in list_display raised AttributeError.
DjangoField.empty_values = list(validators.EMPTY_VALUES)


# --- querysets ---------------------------------------------------------------------

_flavoured: dict[type, type] = {}


def django_flavoured(queryset: QuerySet) -> QuerySet:
    """The same query as a queryset that also has the Django-side methods the admin calls.

    django-mongoengine documents get its ``QuerySet`` (``get_queryset()``,
    ``model``, ``_clone()``, ``ordered``...) unless their meta names another
    ``queryset_class``, such as ``audit.mongo.AuditedDocumentQuerySet``. The
    class is mixed in per queryset class, so behaviour such as auditing stays.
    """
    if isinstance(queryset, BaseQuerySet):
        return queryset
    cls = type(queryset)
    if cls not in _flavoured:
        _flavoured[cls] = type(f"Django{cls.__name__}", (BaseQuerySet, cls), {})
    return queryset._clone_into(_flavoured[cls](queryset._document, queryset._collection))


# --- change list -------------------------------------------------------------------


class CompatDocumentChangeList(DocumentChangeList):
    def get_filters(self, request):
        # Django 5.0 (ticket #1873, multi-valued query parameters in the change
        # list): the lookups left after the list filters are lists of values, and
        # mongo_admin hands them to QuerySet.filter(**lookups) as single values.
        # One value per parameter is kept (Django would OR several; refused here).
        specs, has_filters, lookups, duplicates, active = super().get_filters(request)
        single: dict[str, Any] = {}
        for key, values in lookups.items():
            if len(values) != 1:
                raise IncorrectLookupParameters(f"{key}: expected one value, got {len(values)}")
            single[key] = values[0]
        return specs, has_filters, single, duplicates, active

    # mongo_admin's get_results is a copy from an older Django. It never sets
    # ``show_admin_actions`` and ``show_full_result_count``, which the 5.2
    # change_list.html and search_form.html read, and it ignores
    # ``ModelAdmin.show_full_result_count``: it counts the whole collection again
    # unless the query has exactly one key. Django's own runs on a document queryset.
    get_results = ChangeList.get_results


# --- model admin -------------------------------------------------------------------


class CompatDocumentAdmin(DocumentAdmin):
    def get_queryset(self, request):
        queryset = django_flavoured(self.model.objects.all())
        ordering = self.get_ordering(request)
        return queryset.order_by(*ordering) if ordering else queryset

    def get_changelist(self, request, **kwargs):
        return CompatDocumentChangeList

    def history_view(self, request, object_id, extra_context=None):
        # Django 5.0 refuses unsaved instances in related filters, and mongo_admin
        # filters LogEntry by an unsaved ContentType (documents have none). No
        # LogEntry can name a document, so the history is empty by construction.
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404(f"No {self.opts.verbose_name} with primary key {object_id!r}.")
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        request.current_app = self.admin_site.name
        context = {
            **self.admin_site.each_context(request),
            "title": _("Change history: %s") % obj,
            "subtitle": None,
            "action_list": [],
            "module_name": str(capfirst(self.opts.verbose_name_plural)),
            "object": obj,
            "opts": self.opts,
            "preserved_filters": self.get_preserved_filters(request),
            **(extra_context or {}),
        }
        return TemplateResponse(
            request, self.object_history_template or "admin/object_history.html", context
        )


class CompatAdminSite(AdminSite):
    # mongo_admin's index template lives in django_mongoengine.mongo_admin, which
    # need not be an installed app; Django's own index renders a document site.
    index_template = None
