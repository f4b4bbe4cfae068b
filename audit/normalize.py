"""Data-normalizing ``pre_save`` hooks for both stores.

User e-mail addresses are trimmed and, when they are a single plain address,
their domain is lowercased as Django's ``normalize_email`` does (the local
part is case-sensitive: ``Ann@Example.ORG`` becomes ``Ann@example.org``). The
hooks run before the save, so the audit records the normalized value like any
other change.

Package ``author_email`` and ``maintainer_email`` are PyPI metadata and are
kept exactly as published (issue: real PyPI metadata, lossless); nothing here
touches them.

They see single saves only: ``bulk_create()`` and queryset updates send no
``pre_save``.
"""

from __future__ import annotations

from django.contrib.auth.base_user import BaseUserManager
from django.db.models.signals import pre_save as django_pre_save
from mongoengine import signals as mongo_signals

USER_EMAIL_FIELDS = ("email",)


def normalize_email(value: str | None) -> str | None:
    """Trimmed; a plain address's domain lowercased (Django's rule), anything else as given."""
    if not value:
        return value
    value = value.strip()
    if value.count("@") == 1 and not any(c in value for c in "<>, ;"):
        value = BaseUserManager.normalize_email(value)
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


def normalize_user_document(sender, document, **kwargs) -> None:
    _normalize(document, USER_EMAIL_FIELDS)


def connect() -> None:
    from catalog.documents import UserDocument
    from catalog.models import User

    django_pre_save.connect(normalize_user, sender=User, dispatch_uid="normalize-user-email")
    mongo_signals.pre_save.connect(normalize_user_document, sender=UserDocument)
