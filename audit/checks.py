"""System checks of the audit trail (``manage.py check --deploy``)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Tags, Warning, register

# Shorter keys are guessable: the HMAC is only as strong as its key.
CHAIN_KEY_MIN_LENGTH = 32


@register(Tags.security, deploy=True)
def audit_chain_key_check(app_configs, **kwargs) -> list[Warning]:
    """Without a chain key kept outside the database, the chain proves nothing to someone
    who can write the database: they can edit entries and recompute every hash."""
    if not getattr(settings, "AUDIT_ENABLED", True):
        return []
    key = getattr(settings, "AUDIT_CHAIN_KEY", "")
    if not key:
        return [
            Warning(
                "AUDIT_CHAIN_KEY is empty: anyone who can write the database can rewrite "
                "audit entries and recompute the hash chain, and --verify-chain will not notice.",
                hint="Set AUDIT_CHAIN_KEY to a long random secret kept outside the database "
                "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))').",
                id="audit.W001",
            )
        ]
    if len(key) < CHAIN_KEY_MIN_LENGTH:
        return [
            Warning(
                f"AUDIT_CHAIN_KEY has fewer than {CHAIN_KEY_MIN_LENGTH} characters.",
                hint="Use a long random secret (e.g. secrets.token_urlsafe(48)).",
                id="audit.W002",
            )
        ]
    return []
