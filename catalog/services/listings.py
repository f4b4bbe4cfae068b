"""Build the kept listings of large packages (``PackageListing``) after their releases and
files are written.

A listing holds what a package's pages list of every release, rendered: the
history rows of its page, the "releases" object of its JSON API and the file
entries of its Simple page (HTML and PEP 691). It is built from the rows by
the same selectors the pages use when there is no listing, so the two give
the same bytes. Only packages with at least CATALOG_LISTING_MIN_RELEASES
releases get one: below that, reading the rows costs about what reading the
listing does.

Who builds: ``listings_refresh_on_commit`` queues packages from the model
signals (admin and ORM saves and deletes) and from the bulk writers (importer,
restore), and builds after the transaction commits; ``seed_catalog`` and
``manage.py catalog_listings`` build in bulk. A write nobody queued (plain SQL)
still makes the listing stale through the triggers of ``catalog.listings``:
the pages then read the rows until the next build.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Iterable
from html import escape

from django.db import connection, transaction
from django.db.models import Count

from catalog.links import path_for
from catalog.listings import listing_format, listing_min_releases
from catalog.models import Package, PackageListing, Release
from catalog.selectors import sql
from catalog.selectors.common import default_version, json_releases_join
from catalog.templatetags.catalog_history import history_rows

logger = logging.getLogger(__name__)

_local = threading.local()


def listing_values(*, package_id: int, name: str) -> dict:
    """A listing's fields for this package, from its rows as they are now."""
    releases = sql.release_history(package_id=package_id)
    json_files, simple_html, simple_json = sql.listing_files(package_id=package_id)
    json_releases = json_releases_join([r.version for r in releases], json_files)
    return {
        "format": listing_format(),
        "name": name,
        "default_version": default_version(releases),
        "releases_updated": sql.releases_updated(package_id=package_id),
        "history": history_rows(releases, escape(path_for("catalog:package", name)), None),
        "json_releases": json_releases,
        "json_releases_sha256": hashlib.sha256(json_releases.encode()).hexdigest(),
        "simple_html": "".join(simple_html),
        "simple_json": ", ".join(simple_json),
        # Oldest first: the history's order reversed (both order on sort key, then id).
        "simple_versions": json.dumps([r.version for r in reversed(releases)]),
    }


def listings_refresh(*, package_ids: Iterable[int]) -> int:
    """Build the listings of these packages that are large enough, drop the others'.

    Returns the number of listings built. Each listing's row is made (and
    committed) before its ``written`` is read, so that a write made while it
    builds leaves it stale rather than lost. Hence every caller runs it outside
    a transaction (on commit, after a load, from a command): inside one, a row
    it makes stays invisible to other sessions' triggers until the commit.
    """
    if connection.vendor not in ("postgresql", "sqlite"):
        return 0  # no trigger would count the writes: a listing could not be trusted
    ids = set(package_ids)
    if not ids:
        return 0
    counts = dict(
        Release.objects.filter(package_id__in=ids)
        .order_by()
        .values("package_id")
        .annotate(n=Count("pk"))
        .values_list("package_id", "n")
    )
    minimum = listing_min_releases()
    large = sorted(pk for pk in ids if counts.get(pk, 0) >= minimum)
    PackageListing.objects.filter(package_id__in=ids - set(large)).delete()
    names = dict(Package.objects.filter(pk__in=large).values_list("pk", "name"))
    PackageListing.objects.bulk_create(
        [PackageListing(package_id=pk) for pk in names], ignore_conflicts=True
    )
    built = 0
    for pk, name in names.items():
        listings = PackageListing.objects.filter(package_id=pk)
        with transaction.atomic():
            written = listings.values_list("written", flat=True).first()
            if written is None:  # the package was deleted meanwhile
                continue
            listings.update(built=written, **listing_values(package_id=pk, name=name))
        built += 1
    return built


def _pending() -> dict[str, set[int]]:
    if not hasattr(_local, "pending"):
        _local.pending = {"packages": set(), "releases": set()}
    return _local.pending


def listings_refresh_on_commit(
    *, packages: Iterable[int] = (), releases: Iterable[int] = ()
) -> None:
    """Rebuild the listings of these packages (and of these releases' packages) once the
    current transaction commits."""
    pending = _pending()
    pending["packages"].update(pk for pk in packages if pk is not None)
    pending["releases"].update(pk for pk in releases if pk is not None)
    # robust: the write committed; a failed build leaves a stale listing, which is not shown.
    transaction.on_commit(listings_flush, robust=True)


def listings_flush() -> int:
    """Build the queued listings now (called on commit)."""
    pending = _pending()
    packages, releases = set(pending["packages"]), set(pending["releases"])
    pending["packages"].clear()
    pending["releases"].clear()
    if releases:
        packages |= set(
            Release.objects.filter(pk__in=releases).values_list("package_id", flat=True)
        )
    return listings_refresh(package_ids=packages) if packages else 0


def listings_refresh_all(*, batch: int = 500) -> int:
    """Build the listing of every package large enough (after a deploy that changed their
    format, or writes made with the triggers off); returns how many were built."""
    minimum = listing_min_releases()
    large = list(
        Release.objects.order_by()
        .values("package_id")
        .annotate(n=Count("pk"))
        .filter(n__gte=minimum)
        .values_list("package_id", flat=True)
    )
    # Listings of packages that have since become small are dropped by the refresh.
    ids = sorted({*large, *PackageListing.objects.values_list("package_id", flat=True)})
    built = 0
    for start in range(0, len(ids), batch):
        built += listings_refresh(package_ids=ids[start : start + batch])
    return built
