"""Build the kept release listings of large packages (catalog/services/listings.py)."""

import time

from django.core.management.base import CommandError, CommandParser

from audit.context import AuditedCommand
from catalog.listings import listing_min_releases
from catalog.models import Package
from catalog.services.listings import listings_refresh, listings_refresh_all


class Command(AuditedCommand):
    help = (
        "Build the kept release listings (history, JSON API releases, Simple files) of every "
        "package with at least CATALOG_LISTING_MIN_RELEASES releases, or of the named ones. "
        "Writers keep them as they go; run this after a deploy or after writes made "
        "outside the site (the pages read the rows meanwhile)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--package", action="append", default=[], help="only this package (repeatable)"
        )

    def handle(self, *args, **options):
        started = time.perf_counter()
        names = options["package"]
        if names:
            found = dict(Package.objects.filter(name__in=names).values_list("name", "pk"))
            missing = [name for name in names if name not in found]
            if missing:
                raise CommandError(f"no package named {', '.join(map(repr, missing))}")
            built = listings_refresh(package_ids=found.values())
        else:
            built = listings_refresh_all()
        self.stdout.write(
            f"Built {built} listings (packages with at least {listing_min_releases()} releases) "
            f"in {time.perf_counter() - started:.1f}s."
        )
