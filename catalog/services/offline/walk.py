"""Walking a collection in ``_id`` ranges, and ``--where`` equality filters."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from pymongo.collection import Collection

Document = dict[str, Any]
_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$")
# The position before the first document (None is a possible _id).
START = object()


class JobError(ValueError):
    """Bad arguments or a checkpoint that cannot be resumed: nothing was written."""


def field_name_plain(name: str) -> bool:
    """Whether ``name`` is a plain (dotted) field name, never an operator."""
    return bool(_FIELD.match(name))


def after_query(where: Document, after: Any) -> Document:
    """The filter ``where`` narrowed to ``_id`` values after ``after`` (START: all)."""
    if after is START:
        return dict(where)
    if not where:
        return {"_id": {"$gt": after}}
    return {"$and": [where, {"_id": {"$gt": after}}]}


def collection_walk(
    collection: Collection,
    *,
    batch_size: int,
    where: Document | None = None,
    after: Any = START,
    projection: Document | None = None,
) -> Iterator[list[Document]]:
    """Yield batches in ``_id`` order, one bounded query per batch."""
    last = after
    while True:
        query = after_query(where or {}, last)
        batch = list(collection.find(query, projection).sort("_id", 1).limit(batch_size))
        if not batch:
            return
        yield batch
        if len(batch) < batch_size:
            return
        last = batch[-1]["_id"]


def where_parse(items: list[str] | None) -> Document:
    """``--where field=value`` pairs as an equality filter.

    Field names must be plain (dotted) names, never operators; a value is a
    JSON number, true, false or null when it parses as one, else the literal
    string, so user input can never become an operator or a regex.
    """
    where: Document = {}
    for item in items or []:
        name, sep, raw = item.partition("=")
        if not sep or not field_name_plain(name):
            raise JobError(f"--where {item!r}: expected FIELD=VALUE with a plain field name")
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
        if isinstance(value, dict | list):
            value = raw
        where[name] = value
    return where
