"""``package_import``: read each document file, validate it, write it, report per file."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from django.db import DataError, IntegrityError

from catalog.serial import serial_managed
from catalog.services.importing.validation import InvalidDocument, document_validate
from catalog.services.importing.writing import package_write


@dataclass
class DocumentOutcome:
    source: str
    status: str  # imported | updated | unchanged | skipped | failed
    name: str | None = None
    releases: int = 0
    files: int = 0
    field: str | None = None
    reason: str | None = None


@dataclass
class ImportReport:
    outcomes: list[DocumentOutcome] = field(default_factory=list)
    seconds: float = 0.0

    def _count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def imported(self) -> int:
        return self._count("imported")

    @property
    def updated(self) -> int:
        return self._count("updated")

    @property
    def unchanged(self) -> int:
        return self._count("unchanged")

    @property
    def skipped(self) -> int:
        return self._count("skipped")

    @property
    def failed(self) -> int:
        return self._count("failed")

    @property
    def ok(self) -> bool:
        return self.failed == 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "imported": self.imported,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "failed": self.failed,
            "seconds": round(self.seconds, 3),
            "documents": [asdict(o) for o in self.outcomes],
        }


def document_paths(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Files as given, and every ``*.json`` under a directory, in a stable order."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*.json") if p.is_file())
        else:
            yield path


def _load(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidDocument("(file)", "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidDocument("(file)", f"cannot be read: {exc}") from None
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise InvalidDocument(
            "(document)", f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except RecursionError:
        raise InvalidDocument("(document)", "is nested too deeply to be a PyPI document") from None
    except ValueError as exc:  # a constant refused below, an integer too long to parse
        raise InvalidDocument("(document)", str(exc)) from None


def _refuse_constant(name: str) -> Any:
    # NaN and Infinity are not JSON, and PostgreSQL's jsonb refuses them.
    raise ValueError(f"{name} is not a JSON value")


def package_import(*, paths: Iterable[str | Path]) -> ImportReport:
    """Import every document under ``paths``; one bad document never stops the others."""
    started = time.perf_counter()
    report = ImportReport()
    for path in document_paths(paths):
        outcome = DocumentOutcome(source=str(path), status="failed")
        try:
            data = document_validate(_load(path))
            outcome.name = data.name
            with serial_managed():
                outcome.status, outcome.releases, outcome.files = package_write(data=data)
            if outcome.status == "skipped":
                outcome.reason = "the stored package is newer (higher last_serial)"
        except InvalidDocument as exc:
            outcome.status, outcome.field, outcome.reason = "failed", exc.field, exc.reason
        except (IntegrityError, DataError) as exc:
            outcome.status, outcome.field = "failed", "(database)"
            outcome.reason = f"rejected by a database constraint: {exc}".strip()
        report.outcomes.append(outcome)
    report.seconds = time.perf_counter() - started
    return report
