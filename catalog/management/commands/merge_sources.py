"""Merge documents from several named sources into one MongoDB collection."""

from __future__ import annotations

import json

from django.core.management.base import CommandError

from audit.context import AuditedCommand
from catalog.services.merge.keys import NORMALIZATIONS
from catalog.services.merge.orchestration import sources_merge
from catalog.services.merge.policies import POLICIES
from catalog.services.merge.results import DEFAULT_CONFLICTS_COLLECTION, MergeError, MergeResult
from catalog.services.merge.sources import source_spec_parse

COUNTERS = ("read", "matched", "inserted", "updated", "unchanged", "conflicts", "failed")


class Command(AuditedCommand):
    help = (
        "Merge documents from two or more sources (file:PATH.json[l], mongo:COLLECTION, "
        "sql:packages|releases|users) into a MongoDB collection by key and policy."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--source",
            action="append",
            required=True,
            metavar="NAME=KIND:LOCATION",
            help="a named source, e.g. mirror=file:dump.jsonl or live=sql:packages (repeat)",
        )
        parser.add_argument("--into", required=True, help="the target MongoDB collection")
        parser.add_argument(
            "--key", default="_id", help="match on these fields, comma separated (default _id)"
        )
        parser.add_argument(
            "--normalize",
            action="append",
            metavar="[FIELD=]NAME",
            help=f"key normalization, one of {', '.join(NORMALIZATIONS)} (default none)",
        )
        parser.add_argument("--policy", choices=POLICIES, default="merge")
        parser.add_argument(
            "--priority", help="source names, comma separated, highest first (policy priority)"
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="compute and report, write nothing"
        )
        parser.add_argument(
            "--details", action="store_true", help="print what happens to each document"
        )
        parser.add_argument("--batch-size", type=int, default=1000)
        parser.add_argument("--conflicts-collection", default=DEFAULT_CONFLICTS_COLLECTION)
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args, **options):
        try:
            result = sources_merge(
                sources=[source_spec_parse(s) for s in options["source"]],
                into=options["into"],
                key=[k.strip() for k in options["key"].split(",") if k.strip()],
                normalize=options["normalize"] or ["none"],
                policy=options["policy"],
                priority=options["priority"].split(",") if options["priority"] else None,
                dry_run=options["dry_run"],
                batch_size=options["batch_size"],
                conflicts_collection=options["conflicts_collection"],
            )
        except MergeError as exc:
            raise CommandError(str(exc)) from exc
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict(), indent=2, default=str))
        else:
            self._print_report(result, details=options["details"])
        if not result.ok:
            raise CommandError(_failure_summary(result))

    def _print_report(self, result: MergeResult, *, details: bool) -> None:
        mode = "dry run: nothing written" if result.dry_run else f"{result.written} written"
        self.stdout.write(
            f"merge into {result.into!r} on {','.join(result.key)}, policy {result.policy} ({mode})"
        )
        width = max(len(name) for name in [*result.sources, "documents"])
        self.stdout.write(" ".join([f"{'source':<{width}}", *(f"{c:>9}" for c in COUNTERS)]))
        rows = [*result.sources.items(), ("documents", result.totals)]
        for name, counts in rows:
            values = (f"{getattr(counts, c):>9}" for c in COUNTERS)
            self.stdout.write(" ".join([f"{name:<{width}}", *values]))
        if details:
            for change in result.changes:
                fields = f" ({', '.join(change.fields)})" if change.fields else ""
                self.stdout.write(f"  {change.action:<9} {change.key}{fields}")
        for record in result.malformed:
            self.stderr.write(f"malformed: {record}")
        for conflict in result.conflicts:
            values = "; ".join(
                f"{v['source']}={json.dumps(v['value'], default=str)}" for v in conflict.values
            )
            self.stderr.write(
                f"conflict: {conflict.key} field {conflict.field!r}: {conflict.reason}: {values}"
            )
        if result.conflicts and not result.dry_run:
            self.stdout.write(f"conflicts recorded in {result.conflicts_collection!r}")


def _failure_summary(result: MergeResult) -> str:
    parts = []
    if result.totals.failed:
        parts.append(f"{result.totals.failed} record(s) failed")
    if result.policy == "fail" and result.conflicts:
        parts.append(f"{result.totals.conflicts} document(s) conflicted under policy fail")
    return "merge incomplete: " + ", ".join(parts)
