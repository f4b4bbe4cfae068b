"""Copy the relational catalog into MongoDB, or verify the copy (--verify)."""

import json
from datetime import datetime

from django.core.management.base import CommandError, CommandParser

from audit.context import AuditedCommand
from catalog.management.migration_report import print_migration, print_verification
from catalog.services.migration.specs import COLLECTIONS
from catalog.services.migration.to_mongo import catalog_migrate
from catalog.services.migration.verify import catalog_verify


def iso_datetime(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(
            f"--since {value!r} is not an ISO 8601 date or time (e.g. 2025-06-01T12:00:00Z)"
        ) from exc


class Command(AuditedCommand):
    help = (
        "Copy packages, releases and users from the relational database into MongoDB: "
        "only changed documents are written, interrupted runs resume, --verify checks."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=1000, help="rows per batch")
        parser.add_argument(
            "--collection",
            action="append",
            choices=COLLECTIONS,
            dest="collections",
            help="only this collection (repeatable; default: all)",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="read and map everything, write nothing"
        )
        parser.add_argument(
            "--verify",
            action="store_true",
            help="write nothing; compare every document with its rows, list mismatches",
        )
        parser.add_argument(
            "--include-credentials",
            action="store_true",
            help="also copy password hashes into the users documents",
        )
        parser.add_argument(
            "--since",
            type=str,
            help="copy only rows changed at or after this ISO 8601 time",
        )
        parser.add_argument(
            "--full",
            action="store_true",
            help="read every row even when a high-water mark from a previous run exists",
        )
        parser.add_argument(
            "--restart", action="store_true", help="discard the checkpoint of an interrupted run"
        )
        parser.add_argument(
            "--no-prune",
            dest="prune",
            action="store_false",
            default=None,
            help="keep documents whose row was deleted",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="rewrite documents even when their stored checksum matches",
        )
        parser.add_argument(
            "--workers", type=int, default=1, help="primary-key ranges processed concurrently"
        )
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args, **options) -> None:
        collections = options["collections"] or COLLECTIONS
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        if options["workers"] < 1:
            raise CommandError("--workers must be at least 1")
        if options["verify"]:
            result = catalog_verify(
                collections=collections,
                batch_size=options["batch_size"],
                include_credentials=options["include_credentials"],
            )
            if options["json"]:
                self.stdout.write(json.dumps(result.as_dict(), indent=2, default=str))
            else:
                print_verification(self.stdout, self.style, result)
            if not result.ok:
                raise CommandError(
                    f"verification failed: {result.mismatch_count} mismatch(es) between "
                    "the relational catalog and MongoDB"
                )
            return
        since = iso_datetime(options["since"]) if options["since"] else None
        result = catalog_migrate(
            collections=collections,
            batch_size=options["batch_size"],
            dry_run=options["dry_run"],
            include_credentials=options["include_credentials"],
            since=since,
            full=options["full"],
            restart=options["restart"],
            prune=options["prune"],
            force=options["force"],
            workers=options["workers"],
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
