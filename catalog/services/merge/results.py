"""What a merge reports: per-source counts, malformed records, conflicts, changes."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

DEFAULT_CONFLICTS_COLLECTION = "merge_conflicts"

Document = dict[str, Any]


class MergeError(ValueError):
    """A configuration error: nothing was read or written."""


@dataclass
class MalformedRecord:
    source: str
    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.source} {self.where}: {self.reason}"


@dataclass
class SourceCounts:
    read: int = 0
    matched: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    conflicts: int = 0
    failed: int = 0


@dataclass
class Conflict:
    key: str
    field: str
    reason: str
    # One entry per competing document: source, value and, for newest, updated.
    values: list[dict[str, Any]]


@dataclass
class Change:
    key: str
    action: Literal["insert", "update", "unchanged", "conflict"]
    fields: list[str]


@dataclass
class MergeResult:
    into: str
    policy: str
    key: list[str]
    dry_run: bool
    sources: dict[str, SourceCounts]
    # Documents (keys), not records: a key found in two sources counts once here.
    totals: SourceCounts
    malformed: list[MalformedRecord] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    written: int = 0
    conflicts_collection: str = DEFAULT_CONFLICTS_COLLECTION

    @property
    def ok(self) -> bool:
        """False when a record failed, or a key conflicted under ``fail``."""
        return (
            not self.malformed
            and not self.totals.failed
            and (self.policy != "fail" or not self.conflicts)
        )

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        return data
