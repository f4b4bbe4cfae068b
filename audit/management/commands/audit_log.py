"""Read, verify and prune the audit trail of both stores."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_date, parse_datetime

from audit.context import audit_context
from audit.services import (
    TimelineFilter,
    audit_chain_verify,
    audit_prune,
    audit_timeline_iter,
    object_state_at,
)


def parse_time(value: str, option: str) -> datetime:
    """ISO 8601 date or date-time; naive values are UTC."""
    parsed = parse_datetime(value)
    if parsed is None:
        day = parse_date(value)
        if day is not None:
            parsed = datetime(day.year, day.month, day.day)
    if parsed is None:
        raise CommandError(f"{option}: {value!r} is not an ISO 8601 date or date-time.")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = (
        "Show the audit trail of both stores as one timeline, the state of an object "
        "as of a time (--as-of), verify the hash chains (--verify-chain) or prune old "
        "entries (--prune-before)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--model", help="catalog.package, package, or a collection: packages")
        parser.add_argument("--object", dest="object_key", help="primary key / document _id")
        parser.add_argument("--actor", help="username, or command:NAME")
        parser.add_argument("--correlation", help="request or command run id")
        parser.add_argument("--since", help="ISO date/time (inclusive)")
        parser.add_argument("--until", help="ISO date/time (exclusive)")
        parser.add_argument("--store", choices=["sql", "mongo"], help="only one store")
        parser.add_argument("--limit", type=int, default=None, help="at most N entries")
        parser.add_argument("--json", action="store_true", help="JSON lines")
        parser.add_argument(
            "--as-of", help="with --model and --object: the object's fields at this time"
        )
        parser.add_argument("--verify-chain", action="store_true")
        parser.add_argument("--prune-before", help="delete entries older than this time")

    def handle(self, *args, **opts):
        if opts["verify_chain"]:
            return self.verify(opts)
        if opts["prune_before"]:
            return self.prune(opts)
        if opts["as_of"]:
            return self.as_of(opts)
        return self.timeline(opts)

    def timeline(self, opts):
        flt = TimelineFilter(
            model=opts["model"],
            object_key=opts["object_key"],
            actor=opts["actor"],
            correlation_id=opts["correlation"],
            since=parse_time(opts["since"], "--since") if opts["since"] else None,
            until=parse_time(opts["until"], "--until") if opts["until"] else None,
            store=opts["store"],
        )
        count = 0
        for entry in audit_timeline_iter(flt=flt, limit=opts["limit"]):
            count += 1
            if opts["json"]:
                self.stdout.write(json.dumps(entry.as_json(), sort_keys=True))
                continue
            who = entry.actor + (f" from {entry.remote_addr}" if entry.remote_addr else "")
            note = f" ({entry.note})" if entry.note else ""
            raw = " [fixture]" if entry.raw else ""
            self.stdout.write(
                f"{entry.timestamp.isoformat(timespec='milliseconds')} {entry.store}#{entry.id} "
                f"{entry.operation} {entry.model}:{entry.object_key} by {who} "
                f"[{entry.correlation_id}]{raw}{note}"
            )
            for name, change in sorted(entry.changes.items()):
                self.stdout.write(f"    {name}: {json.dumps(change, sort_keys=True)}")
        if not opts["json"]:
            self.stderr.write(f"{count} entries")

    def as_of(self, opts):
        if not opts["model"] or opts["object_key"] is None:
            raise CommandError("--as-of needs --model and --object.")
        state = object_state_at(
            model=opts["model"],
            object_key=opts["object_key"],
            at=parse_time(opts["as_of"], "--as-of"),
            store=opts["store"],
        )
        if opts["json"]:
            payload = {
                "store": state.store,
                "model": state.model,
                "object": state.object_key,
                "at": state.at.isoformat(),
                "exists": state.exists,
                "fields": state.fields,
                "entries_applied": state.entries_applied,
            }
            self.stdout.write(json.dumps(payload, sort_keys=True))
            return
        if not state.exists:
            raise CommandError(
                f"{state.model} {state.object_key} did not exist at {state.at.isoformat()} "
                f"({state.entries_applied} entries read)."
            )
        self.stdout.write(f"{state.model} {state.object_key} as of {state.at.isoformat()}:")
        for name, value in sorted(state.fields.items()):
            self.stdout.write(f"    {name}: {json.dumps(value)}")

    def verify(self, opts):
        stores = [opts["store"]] if opts["store"] else ["sql", "mongo"]
        report = audit_chain_verify(stores=stores)
        if opts["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "ok": report.ok,
                        "checked": report.checked,
                        "broken": [vars(b) for b in report.broken],
                    },
                    sort_keys=True,
                )
            )
        for store, checked in report.checked.items():
            if not opts["json"]:
                self.stdout.write(f"{store}: {checked} entries verified")
        if not report.ok:
            first = "; ".join(
                f"{b.store} chain broken at entry #{b.entry_id}: {b.reason}" for b in report.broken
            )
            raise CommandError(first)
        if not opts["json"]:
            self.stdout.write("chain OK")

    def prune(self, opts):
        before = parse_time(opts["prune_before"], "--prune-before")
        with audit_context(command="audit_log"):
            result = audit_prune(before=before)
        if opts["json"]:
            self.stdout.write(json.dumps({"before": before.isoformat(), "deleted": result.deleted}))
            return
        for store, deleted in result.deleted.items():
            self.stdout.write(f"{store}: pruned {deleted} entries older than {before.isoformat()}")
