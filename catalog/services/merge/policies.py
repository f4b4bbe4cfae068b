"""The merge policies: how the contributions for one key (and the target's document) combine.

``replace``, ``keep_existing``, ``merge`` and ``fail`` walk the contributions
in source order over the target's document (as MongoDB's ``$merge`` does);
``newest`` and ``priority`` choose field by field among every party. Each
returns the merged content, the sources it came from, and the conflicts that
keep the key from being written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from catalog.services.merge.results import Conflict, Document

POLICIES = ("replace", "keep_existing", "merge", "fail", "newest", "priority")
Policy = Literal["replace", "keep_existing", "merge", "fail", "newest", "priority"]
PROVENANCE = "provenance"
# The source name of what the target collection already holds.
EXISTING = "(existing)"

_OLDEST = datetime.min.replace(tzinfo=UTC)
_MISSING = object()


@dataclass
class Contribution:
    """What one source record offers for a key: its content and its ``updated`` time."""

    source: str
    where: str
    doc: Document
    updated: datetime | None = None
    # The record's own _id when the key is other fields (kept for inserts).
    doc_id: Any = None


def parse_updated(value: Any) -> datetime | None:
    """An ``updated`` value as an aware UTC datetime at MongoDB's precision, or None."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    # MongoDB keeps milliseconds: compare what a round trip keeps.
    return parsed.astimezone(UTC).replace(microsecond=parsed.microsecond // 1000 * 1000)


def document_content(doc: Document | None) -> Document | None:
    """The fields that policies combine: not ``_id`` (set by the caller) nor provenance."""
    if doc is None:
        return None
    return {k: v for k, v in doc.items() if k not in ("_id", PROVENANCE)}


def combine(
    policy: str,
    contributions: list[Contribution],
    existing: Document | None,
    *,
    rank: dict[str, int],
    key_label: str,
) -> tuple[Document | None, list[str], list[Conflict]]:
    """The merged document for one key, the sources that contributed, and conflicts."""
    if policy in ("newest", "priority"):
        return _combine_by_field(policy, contributions, existing, rank=rank, key_label=key_label)
    state: Document | None = document_content(existing)
    origins: dict[str, str] = dict.fromkeys(state or {}, EXISTING)
    for c in contributions:
        if state is None or policy == "replace":
            state, origins = dict(c.doc), dict.fromkeys(c.doc, c.source)
        elif policy == "merge":
            state.update(c.doc)
            origins.update(dict.fromkeys(c.doc, c.source))
        elif policy == "fail":
            conflicts = _fail_conflicts(state, origins, c, key_label=key_label)
            if conflicts:
                return None, [], conflicts
        # keep_existing: the state stays as it is.
    return state, _ordered_sources(origins, existing, rank), []


def _fail_conflicts(
    state: Document, origins: dict[str, str], c: Contribution, *, key_label: str
) -> list[Conflict]:
    differing = [f for f, v in c.doc.items() if state.get(f, _MISSING) != v]
    return [
        Conflict(
            key=key_label,
            field=f,
            reason="policy fail: a match changes this field",
            values=[
                {"source": origins.get(f, "(absent)"), "value": state.get(f)},
                {"source": c.source, "value": c.doc[f]},
            ],
        )
        for f in differing
    ]


def _winners(
    policy: str, having: list[Contribution], rank: dict[str, int]
) -> tuple[list[Contribution], str]:
    """The parties a field's value may come from, and the reason if they disagree."""
    if policy == "newest":
        best = max(p.updated or _OLDEST for p in having)
        winners = [p for p in having if (p.updated or _OLDEST) == best]
        return winners, "equal updated timestamps with different values"
    best_rank = min(rank.get(p.source, len(rank)) for p in having)
    winners = [p for p in having if rank.get(p.source, len(rank)) == best_rank]
    return winners, "same priority with different values"


def _combine_by_field(
    policy: str,
    contributions: list[Contribution],
    existing: Document | None,
    *,
    rank: dict[str, int],
    key_label: str,
) -> tuple[Document | None, list[str], list[Conflict]]:
    parties = list(contributions)
    if existing is not None:
        parties.append(
            Contribution(
                EXISTING,
                "target",
                document_content(existing),
                parse_updated(existing.get("updated")),
            )
        )
    fields: dict[str, None] = {}
    for party in parties:
        fields.update(dict.fromkeys(party.doc))
    result: Document = {}
    origins: dict[str, str] = {}
    conflicts: list[Conflict] = []
    for name in fields:
        winners, reason = _winners(policy, [p for p in parties if name in p.doc], rank)
        values = []
        for p in winners:
            if p.doc[name] not in values:
                values.append(p.doc[name])
        if len(values) > 1:
            conflicts.append(
                Conflict(
                    key=key_label,
                    field=name,
                    reason=reason,
                    values=[
                        {"source": p.source, "where": p.where, "value": p.doc[name]}
                        | ({"updated": p.updated} if policy == "newest" else {})
                        for p in winners
                    ],
                )
            )
            continue
        result[name] = values[0]
        origins[name] = winners[0].source
    if conflicts:
        return None, [], conflicts
    return result, _ordered_sources(origins, existing, rank), []


def _ordered_sources(
    origins: dict[str, str], existing: Document | None, rank: dict[str, int]
) -> list[str]:
    names = set(origins.values())
    if EXISTING in names:
        # Fields kept from the target come from the sources of its last merge.
        names.discard(EXISTING)
        previous = ((existing or {}).get(PROVENANCE) or {}).get("sources") or []
        names.update(previous)
    return sorted(names, key=lambda n: (rank.get(n, len(rank)), n))
