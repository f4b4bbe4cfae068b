"""The catalog's e-mail rule for user accounts.

User e-mail addresses are trimmed and, when they are a single plain address,
their domain is lowercased as Django's ``normalize_email`` does (the local
part is case-sensitive: ``Ann@Example.ORG`` becomes ``Ann@example.org``). The
``pre_save`` receivers in ``catalog.receivers`` apply it to both stores before
the save, so the audit records the normalized value like any other change.

Package ``author_email`` and ``maintainer_email`` are PyPI metadata and are
kept exactly as published (issue: real PyPI metadata, lossless); nothing here
touches them.

The receivers see single saves only: ``bulk_create()`` and queryset updates
send no ``pre_save``.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.base_user import BaseUserManager

USER_EMAIL_FIELDS = ("email",)


def normalize_email(value: str | None) -> str | None:
    """Trimmed; a plain address's domain lowercased (Django's rule), anything else as given."""
    if not value:
        return value
    value = value.strip()
    if value.count("@") == 1 and not any(c in value for c in "<>, ;"):
        value = BaseUserManager.normalize_email(value)
    return value


def user_emails_normalize(obj: Any) -> None:
    """Normalize a user row's or document's e-mail fields in place (before it is saved)."""
    for name in USER_EMAIL_FIELDS:
        value = getattr(obj, name, None)
        normalized = normalize_email(value)
        if normalized != value:
            setattr(obj, name, normalized)
