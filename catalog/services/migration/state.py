"""What a migration run reports and remembers: results, marks and checkpoints.

Checkpoints live in MongoDB's ``migration_state`` collection (never in the
source database), one document per collection and direction.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Model, Q, QuerySet
from tqdm import tqdm

from catalog.documents import UserDocument

STATE_COLLECTION = "migration_state"

# on_batch(collection, n): called after each checkpointed batch.
BatchHook = Callable[[str, int], None]


# --- results -----------------------------------------------------------------


@dataclass
class RowError:
    collection: str
    key: str
    field: str
    reason: str

    def __str__(self) -> str:
        where = f" {self.field}" if self.field else ""
        return f"{self.collection} {self.key!r}{where}: {self.reason}"


@dataclass
class CollectionReport:
    collection: str
    mode: str = "full"
    since: str | None = None
    resumed: bool = False
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    failed: int = 0
    seconds: float = 0.0
    errors: list[RowError] = field(default_factory=list)

    @property
    def written(self) -> int:
        return self.inserted + self.updated + self.deleted

    def add(self, other: CollectionReport) -> None:
        for name in ("read", "inserted", "updated", "unchanged", "deleted", "failed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors.extend(other.errors)

    def fail(self, key: str, field_name: str, reason: str) -> None:
        self.failed += 1
        self.errors.append(RowError(self.collection, key, field_name, reason))


@dataclass
class MigrationResult:
    collections: list[CollectionReport]
    dry_run: bool
    include_credentials: bool
    workers: int
    seconds: float = 0.0
    direction: str = "to_mongo"

    @property
    def failed(self) -> int:
        return sum(c.failed for c in self.collections)

    @property
    def written(self) -> int:
        return sum(c.written for c in self.collections)

    @property
    def ok(self) -> bool:
        return self.failed == 0

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(ok=self.ok, failed=self.failed, written=self.written)
        for report, out in zip(self.collections, data["collections"], strict=True):
            out["written"] = report.written
        return data


def progress_bar(name: str, total: int, enabled: bool):
    """A progress bar on stderr, shown only when asked for and stderr is a terminal."""
    return tqdm(
        total=total,
        desc=name,
        unit="rows",
        file=sys.stderr,
        disable=not (enabled and sys.stderr.isatty()),
        leave=False,
    )


# --- marks -------------------------------------------------------------------


@dataclass(frozen=True)
class Mark:
    """A position in (updated, pk) order: rows sharing a timestamp are never skipped."""

    updated: datetime
    pk: int

    def as_state(self) -> dict[str, Any]:
        # An ISO string keeps the microseconds that a BSON date would drop.
        return {"updated": self.updated.isoformat(), "pk": self.pk}

    @classmethod
    def from_state(cls, data: dict[str, Any] | None) -> Mark | None:
        if not data:
            return None
        return cls(datetime.fromisoformat(data["updated"]), int(data["pk"]))

    def __str__(self) -> str:
        return f"{self.updated.isoformat()} (id {self.pk})"


# The rows of a table changed since that table's mark.
Since = Callable[[type[Model]], QuerySet]


def latest_mark(model: type[Model]) -> Mark | None:
    """The mark of the table's last changed row (None for an empty table)."""
    row = model.objects.order_by("-updated", "-pk").values_list("updated", "pk").first()
    return Mark(*row) if row else None


def dependency_marks(models: Iterable[type[Model]]) -> dict[str, dict[str, Any] | None]:
    """The (updated, pk) mark of each table a collection's documents depend on."""
    marks: dict[str, dict[str, Any] | None] = {}
    for model in models:
        mark = latest_mark(model)
        marks[model._meta.label_lower] = mark.as_state() if mark else None
    return marks


def rows_past(mark: Mark) -> Q:
    """The rows after ``mark`` in (updated, pk) order."""
    return Q(updated__gt=mark.updated) | Q(updated=mark.updated, pk__gt=mark.pk)


def changed_since(since: Mark, marks: dict[str, dict[str, Any] | None] | None) -> Since:
    """Rows of a dependency table past its own mark (``since`` when none was stored).

    A table that was empty at the last run (mark None) is read from the start.
    """

    def changed(model: type[Model]) -> QuerySet:
        label = model._meta.label_lower
        if marks is None or label not in marks:
            return model.objects.filter(rows_past(since))
        mark = Mark.from_state(marks[label])
        return model.objects.filter(rows_past(mark)) if mark else model.objects.all()

    return changed


# --- checkpoints ---------------------------------------------------------------


def mapping_db():
    """The MongoDB database the documents live in."""
    return UserDocument._get_db()


def state_collection():
    return mapping_db()[STATE_COLLECTION]


def migration_state(collection: str) -> dict[str, Any] | None:
    """The stored state of the last run for one collection (None before the first run)."""
    return state_collection().find_one({"_id": collection})
