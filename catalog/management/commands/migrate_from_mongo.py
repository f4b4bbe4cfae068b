"""Bring MongoDB's documents back into the relational catalog (the rollback path)."""

import json

from django.core.management.base import CommandError, CommandParser

from audit.context import AuditedCommand
from catalog.management.migration_report import print_migration
from catalog.services.migration.from_mongo import (
    COLLECTIONS,
    catalog_migrate_from_mongo,
)


class Command(AuditedCommand):
    help = (
        "Copy users, packages and releases from MongoDB back into the relational database "
        "through the same mapping: only changed rows are written, rows whose document is "
        "gone are deleted, interrupted runs resume."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=1000, help="documents per batch")
        parser.add_argument(
            "--collection",
            action="append",
            choices=COLLECTIONS,
            dest="collections",
            help="only this collection (repeatable; default: all)",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="read, map and compare everything, write nothing"
        )
        parser.add_argument(
            "--include-credentials",
            action="store_true",
            help="also restore password hashes from the users documents that have one",
        )
        parser.add_argument(
            "--no-prune",
            dest="prune",
            action="store_false",
            help="keep rows whose document is gone",
        )
        parser.add_argument(
            "--restart", action="store_true", help="discard the checkpoint of an interrupted run"
        )
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args, **options) -> None:
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        result = catalog_migrate_from_mongo(
            collections=options["collections"] or COLLECTIONS,
            batch_size=options["batch_size"],
            dry_run=options["dry_run"],
            include_credentials=options["include_credentials"],
            prune=options["prune"],
            restart=options["restart"],
            progress=not options["json"],
        )
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict(), indent=2, default=str))
        else:
            print_migration(self.stdout, self.style, result)
        if not result.ok:
            raise CommandError(
                f"{result.failed} document(s) could not be written; see the errors above"
            )
