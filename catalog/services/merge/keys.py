"""Keys: a record's key fields, checked and normalized, and the record as a contribution."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bson import ObjectId

from catalog.services.merge.policies import Contribution, document_content, parse_updated
from catalog.services.merge.results import MergeError
from catalog.services.merge.sources import MAX_DEPTH, Record
from catalog.validation import record_problem
from catalog.versions import canonicalize_name

NORMALIZATIONS = ("none", "canonical-name", "lowercase")


def _normalizer(name: str) -> Callable[[Any], Any]:
    if name == "none":
        return lambda value: value
    if name == "canonical-name":
        return _require_str(canonicalize_name, name)
    if name == "lowercase":
        return _require_str(str.lower, name)
    raise MergeError(
        f"unknown normalization {name!r} (expected one of {', '.join(NORMALIZATIONS)})"
    )


def _require_str(function: Callable[[str], str], name: str) -> Callable[[Any], str]:
    def normalize(value: Any) -> str:
        if not isinstance(value, str):
            raise TypeError(f"{name} needs a string, got {type(value).__name__}")
        return function(value)

    return normalize


def key_normalizers(
    *, key: Sequence[str], normalize: Sequence[str]
) -> dict[str, Callable[[Any], Any]]:
    """``--normalize NAME`` applies to every key field; ``FIELD=NAME`` to one field."""
    names = dict.fromkeys(key, "none")
    for item in normalize or ["none"]:
        field_name, sep, name = item.rpartition("=")
        if not sep:
            names = dict.fromkeys(key, item)
        elif field_name not in names:
            raise MergeError(f"--normalize {item!r}: {field_name!r} is not a key field")
        else:
            names[field_name] = name
    return {field_name: _normalizer(name) for field_name, name in names.items()}


def key_label(values: tuple) -> str:
    """How a key is shown in the report: the string itself, else the values as JSON."""
    return values[0] if len(values) == 1 and isinstance(values[0], str) else json.dumps(values)


def _structure_problem(value: Any, path: str = "", depth: int = 0) -> str | None:
    """Why a record cannot be stored as it is (depth, field names), or None."""
    if depth > MAX_DEPTH:
        return f"nested more than {MAX_DEPTH} levels (MongoDB's limit)"
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"field name {key!r} at {path or 'top level'} is not a string"
            if key.startswith("$") or "\x00" in key:
                return (
                    f"field name {key[:40]!r} at {path or 'top level'} starts with '$' or holds NUL"
                )
            problem = _structure_problem(item, f"{path}.{key}" if path else key, depth + 1)
            if problem:
                return problem
    elif isinstance(value, list):
        for index, item in enumerate(value):
            problem = _structure_problem(item, f"{path}[{index}]", depth + 1)
            if problem:
                return problem
    return None


def _key_value_problem(field_name: str, value: Any) -> str | None:
    # A key groups records in a dict and is looked up in MongoDB by equality:
    # only scalars do both (True == 1 in Python, NaN != NaN, objects are unhashable).
    if isinstance(value, bool) or not isinstance(value, str | int | float | ObjectId | datetime):
        return f"key field {field_name!r}: expected a string or a number, got {_json_type(value)}"
    if isinstance(value, float) and not math.isfinite(value):
        return f"key field {field_name!r}: {value!r} is not a usable key"
    return None


def _json_type(value: Any) -> str:
    return {dict: "an object", list: "an array", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


def _key_values(
    doc: dict, key: list[str], normalizers: dict[str, Callable[[Any], Any]]
) -> tuple[tuple | None, str | None]:
    values = []
    for field_name in key:
        value = doc.get(field_name)
        if value is None or value == "":
            return None, f"missing key field {field_name!r}"
        problem = _key_value_problem(field_name, value)
        if problem:
            return None, problem
        try:
            values.append(normalizers[field_name](value))
        except TypeError as exc:
            return None, f"key field {field_name!r}: {exc}"
    return tuple(values), None


@dataclass
class Keyed:
    """A contribution and the normalized key it belongs to."""

    key_values: tuple
    value: Contribution


def record_contribution(
    record: Record, key: list[str], normalizers: dict[str, Callable[[Any], Any]], policy: str
) -> tuple[Keyed | None, str | None]:
    """The record as a contribution to its key, or why it cannot be one."""
    doc = record.doc
    if not isinstance(doc, dict):
        return None, f"expected a JSON object, got {type(doc).__name__}"
    # MongoDB's own limits, then the import's rules (catalog.validation).
    problem = _structure_problem(doc) or record_problem(doc)
    if problem:
        return None, problem
    values, problem = _key_values(doc, key, normalizers)
    if problem:
        return None, problem
    updated = parse_updated(doc.get("updated"))
    if policy == "newest" and updated is None:
        return None, "field 'updated': missing or not a date (policy newest needs it)"
    content = document_content(doc)
    if "updated" in content and updated is not None:
        content["updated"] = updated
    for field_name, value in zip(key, values, strict=True):
        if field_name != "_id":
            content[field_name] = value
    contribution = Contribution(record.source, record.where, content, updated, doc.get("_id"))
    return Keyed(values, contribution), None
