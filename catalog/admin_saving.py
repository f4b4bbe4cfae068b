"""Admin saves that write only what the user changed.

A browser posts back every field of a change form, not only the edited ones,
and in its own spelling: a textarea's line breaks come back as ``\\r\\n``, a
URL without a scheme gains one, surrounding spaces are stripped. Two pieces
keep that from rewriting values nobody touched:

- the form fields below decide "changed" by comparing the stored value and
  the posted one after the same normalization (``has_changed``), and turn a
  textarea's ``\\r\\n`` into ``\\n`` (what the catalog stores for typed text);
- ``ChangedFieldsOnlyMixin`` saves an existing object with
  ``update_fields`` = the fields the form reports changed (plus the values
  derived from them on save, and ``auto_now`` stamps), and does not save it
  at all when nothing changed: no write, no audit entry, no MongoDB sync.
  Model-level normalization (``pre_save`` hooks) therefore reaches only the
  fields that are written.
"""

from __future__ import annotations

import contextlib

from django import forms
from django.core.exceptions import ValidationError
from django.db import models


class _ComparesNormalized:
    """``has_changed`` compares the stored value as this field would clean it."""

    def has_changed(self, initial, data) -> bool:
        if initial is not None and initial != "":
            with contextlib.suppress(ValidationError):
                initial = self.to_python(initial)
        return super().has_changed(initial, data)


class NormalizedCharField(_ComparesNormalized, forms.CharField):
    pass


class NormalizedTextField(_ComparesNormalized, forms.CharField):
    def to_python(self, value):
        value = super().to_python(value)
        if isinstance(value, str):
            value = value.replace("\r\n", "\n").replace("\r", "\n")
        return value


class NormalizedURLField(_ComparesNormalized, forms.URLField):
    pass


class NormalizedEmailField(_ComparesNormalized, forms.EmailField):
    pass


# For ModelAdmin.formfield_overrides (looked up along the model field's MRO,
# so the subclasses of CharField get their own entry).
NORMALIZED_FIELDS = {
    models.CharField: {"form_class": NormalizedCharField},
    models.TextField: {"form_class": NormalizedTextField},
    models.URLField: {"form_class": NormalizedURLField},
    models.EmailField: {"form_class": NormalizedEmailField},
}


def fields_to_write(
    obj: models.Model, changed: list[str], derived: dict[str, tuple[str, ...]]
) -> list[str]:
    """The concrete fields a save of ``obj`` must write for form fields ``changed``."""
    concrete = {f.name: f for f in obj._meta.concrete_fields}
    names = [name for name in changed if name in concrete and not concrete[name].primary_key]
    if not names:
        return []
    for name in list(names):
        names += [d for d in derived.get(name, ()) if d not in names]
    names += [
        f.name for f in concrete.values() if getattr(f, "auto_now", False) and f.name not in names
    ]
    return names


class ChangedFieldsOnlyMixin:
    """Save only edited fields; skip the save when the form changed nothing.

    ``derived_fields`` maps a field to those its model computes from it on
    save (a release's sort key from its version), which must be written too.
    """

    derived_fields: dict[str, tuple[str, ...]] = {}

    def save_model(self, request, obj, form, change):
        if not change:
            return super().save_model(request, obj, form, change)
        names = fields_to_write(obj, form.changed_data, self.derived_fields)
        if names:
            obj.save(update_fields=names)
        return None

    def save_formset(self, request, form, formset, change):
        instances = formset.save(commit=False)
        changed = {id(obj): data for obj, data in formset.changed_objects}
        for obj in formset.deleted_objects:
            obj.delete()
        for obj in instances:
            if id(obj) in changed:
                names = fields_to_write(obj, changed[id(obj)], {})
                if names:
                    obj.save(update_fields=names)
            else:
                obj.save()
        formset.save_m2m()
