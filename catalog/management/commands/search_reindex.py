"""Recompute the search terms of every package (catalog/services/search_index.py)."""

import json

from django.core.management.base import CommandParser

from audit.context import AuditedCommand
from catalog.services.search_index import search_index_rebuild


class Command(AuditedCommand):
    help = "Recompute the search terms of every package from its row."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=2000)
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args, **options):
        result = search_index_rebuild(batch_size=options["batch_size"])
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict()))
            return
        self.stdout.write(
            f"Indexed {result.packages} packages: {result.terms} search terms "
            f"in {result.seconds:.1f}s."
        )
