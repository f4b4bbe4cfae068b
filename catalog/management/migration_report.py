"""Human-readable reports of the migration services (the commands print these)."""

from __future__ import annotations

from typing import TextIO

from catalog.services.migration.state import MigrationResult
from catalog.services.migration.verify import VerifyResult

MAX_LISTED = 50
COLUMNS = ("read", "inserted", "updated", "unchanged", "deleted", "failed", "seconds")


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]


# What a run writes, by direction: (the store written, what it writes).
TARGETS = {
    "to_mongo": ("MongoDB", "document"),
    "from_mongo": ("The relational catalog", "row"),
}


def print_migration(out: TextIO, style, result: MigrationResult) -> None:
    verb = "would write" if result.dry_run else "wrote"
    target, unit = TARGETS.get(result.direction, TARGETS["to_mongo"])
    rows = [["collection", "mode", *COLUMNS]]
    for c in result.collections:
        mode = c.mode + (" (resumed)" if c.resumed else "")
        rows.append([c.collection, mode, *(str(getattr(c, name)) for name in COLUMNS)])
    for line in _table(rows):
        out.write(line)
    for c in result.collections:
        if c.since:
            out.write(f"{c.collection}: changes since {c.since}")
    errors = [e for c in result.collections for e in c.errors]
    for error in errors[:MAX_LISTED]:
        out.write(style.ERROR(f"error: {error}"))
    if len(errors) > MAX_LISTED:
        out.write(style.ERROR(f"... and {len(errors) - MAX_LISTED} more errors (see --json)"))
    if result.dry_run:
        out.write(style.WARNING("Dry run: nothing was written."))
    if result.written == 0 and not result.dry_run:
        out.write(
            style.SUCCESS(f"{target} was already up to date: nothing written ({result.seconds}s).")
        )
    else:
        out.write(
            (style.SUCCESS if result.ok else style.ERROR)(
                f"Done in {result.seconds}s: {verb} {result.written} {unit} change(s), "
                f"{result.failed} failed."
            )
        )


def print_verification(out: TextIO, style, result: VerifyResult) -> None:
    rows = [["collection", "rows", "documents", "matching", "mismatches"]]
    for c in result.collections:
        rows.append(
            [c.collection, str(c.rows), str(c.documents), str(c.matching), str(len(c.mismatches))]
        )
    for line in _table(rows):
        out.write(line)
    mismatches = [m for c in result.collections for m in c.mismatches]
    for mismatch in mismatches[:MAX_LISTED]:
        out.write(style.ERROR(f"mismatch: {mismatch}"))
    if len(mismatches) > MAX_LISTED:
        out.write(style.ERROR(f"... and {len(mismatches) - MAX_LISTED} more (see --json)"))
    for c in result.collections:
        if c.rows != c.documents:
            out.write(style.ERROR(f"{c.collection}: {c.rows} rows but {c.documents} documents"))
    if result.ok:
        out.write(
            style.SUCCESS(f"Verified: MongoDB matches the relational catalog ({result.seconds}s).")
        )
