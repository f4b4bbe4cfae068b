"""Data-normalizing ``pre_save`` hooks for both stores.

Maintainer and author e-mail addresses are trimmed, and lowercased when they
are a single plain address (``"Ann <Ann@X.org>"`` or lists keep their case:
the display name is not ours to change). They run before the save, so the
audit records the normalized value like any other change.

They see single saves only: ``bulk_create()`` and queryset updates send no
``pre_save`` (the importers normalize their input themselves).
"""

from __future__ import annotations

from django.db.models.signals import pre_save as django_pre_save
from mongoengine import signals as mongo_signals

USER_EMAIL_FIELDS = ("email",)
PACKAGE_EMAIL_FIELDS = ("author_email", "maintainer_email")


def normalize_email(value: str | None) -> str | None:
    if not value:
        return value
    value = value.strip()
    if "@" in value and not any(c in value for c in "<>, ;"):
        value = value.lower()
    return value


def _normalize(obj, names: tuple[str, ...]) -> None:
    for name in names:
        value = getattr(obj, name, None)
        normalized = normalize_email(value)
        if normalized != value:
            setattr(obj, name, normalized)


def normalize_user(sender, instance, raw=False, **kwargs) -> None:
    if not raw:  # fixtures load values as given
        _normalize(instance, USER_EMAIL_FIELDS)


def normalize_package(sender, instance, raw=False, **kwargs) -> None:
    if not raw:
        _normalize(instance, PACKAGE_EMAIL_FIELDS)


def normalize_user_document(sender, document, **kwargs) -> None:
    _normalize(document, USER_EMAIL_FIELDS)


def normalize_package_document(sender, document, **kwargs) -> None:
    _normalize(document, PACKAGE_EMAIL_FIELDS)


def connect() -> None:
    from catalog.documents import PackageDocument, UserDocument
    from catalog.models import Package, User

    django_pre_save.connect(normalize_user, sender=User, dispatch_uid="normalize-user-email")
    django_pre_save.connect(
        normalize_package, sender=Package, dispatch_uid="normalize-package-emails"
    )
    mongo_signals.pre_save.connect(normalize_user_document, sender=UserDocument)
    mongo_signals.pre_save.connect(normalize_package_document, sender=PackageDocument)
