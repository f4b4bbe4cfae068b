"""Rebuild the relational search terms from the package rows.

Every write path keeps a package's ``SearchTerm`` rows current (``Package.save()``,
the package queryset's bulk writes, the PyPI seeding profile's COPY); the
migration that added the table filled it once. Rebuilding is for a change of
the term rules (``catalog/search.py``) or rows written behind Django's back.
MongoDB documents carry their terms through ``catalog/mapping.py``, so the next
``migrate_to_mongo`` brings them up to date.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

from django.db import transaction

from catalog.models import Package, SearchTerm, search_terms_refresh


@dataclass
class SearchIndexResult:
    packages: int = 0
    terms: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)


def search_index_rebuild(*, batch_size: int = 2000) -> SearchIndexResult:
    """Recompute every package's terms, one transaction per batch of packages (keyset order)."""
    started = time.perf_counter()
    result = SearchIndexResult()
    last = 0
    while True:
        pks = list(
            Package.objects.filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not pks:
            break
        with transaction.atomic():
            result.terms += search_terms_refresh(package_ids=pks, batch_size=batch_size)
        result.packages += len(pks)
        last = pks[-1]
    # Terms of packages deleted behind Django's back (the foreign key cascades otherwise).
    SearchTerm.objects.exclude(package_id__in=Package.objects.values("pk")).delete()
    result.seconds = round(time.perf_counter() - started, 3)
    return result
