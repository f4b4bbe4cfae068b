"""Rows written in bulk as tuples: ``COPY`` on PostgreSQL, ``executemany`` elsewhere.

No model instances: ``TableWriter`` takes each table's rows as tuples of the
given fields, fills every other column with its field's default once, and
converts values per column for the database at hand. ``checks_after_load``
drops a table's foreign keys and secondary indexes for a load and builds them
again after it (as pg_restore does). Used by the PyPI-shaped seeder
(``seed_pypi``).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from django.db import connection, models
from django.utils import timezone


class _Lines(io.RawIOBase):
    """A file that ``COPY FROM STDIN`` reads while the lines are still being made.

    The server parses and indexes one block while Python formats the next,
    so the two processes share the work instead of taking turns.
    """

    def __init__(self, lines: Iterator[str]) -> None:
        self._lines = lines
        self._pending = b""

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        parts, length = [self._pending], len(self._pending)
        for line in self._lines:
            data = line.encode()
            parts.append(data)
            length += len(data)
            if 0 <= size <= length:
                break
        block = b"".join(parts)
        if size < 0:
            self._pending = b""
            return block
        self._pending = block[size:]
        return block[:size]


_COPY_BOOLEAN = {True: "t", False: "f"}


def _same(value: Any) -> Any:
    return value


def _copy_text(value: str) -> str:
    """A value in COPY's text format; most need no escaping (two C-speed scans).

    Chained ``replace`` rather than ``str.translate``: on a description's
    kilobytes of text it is twenty times faster, and these four are all COPY
    escapes."""
    if value.isprintable() and "\\" not in value:
        return value
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


class TableWriter:
    """Writes tuples of ``given`` field values into ``model``'s table.

    The remaining concrete fields get their default once, up front; values are
    converted per column (JSON, datetimes, booleans) for the database at hand.
    """

    def __init__(self, model: type[models.Model], given: Sequence[str]) -> None:
        meta = model._meta
        by_name = {field.attname: field for field in meta.concrete_fields}
        missing = [name for name in given if name not in by_name]
        if missing:
            raise ValueError(f"{meta.label} has no field(s) {', '.join(missing)}")
        now = timezone.now()
        # An auto primary key not given is left to the database's sequence.
        rest = [
            field
            for name, field in by_name.items()
            if name not in given and not isinstance(field, models.AutoField | models.BigAutoField)
        ]
        defaults = []
        for field in rest:
            if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
                value: Any = now
            else:
                value = field.get_default()
            if value is None and not field.null:
                raise ValueError(
                    f"{meta.label}.{field.name} has no default: the PyPI seeding profile "
                    "must be taught to fill it"
                )
            defaults.append(value)
        self.table = meta.db_table
        self.fields = [by_name[name] for name in given] + rest
        self.columns = [field.column for field in self.fields]
        self.defaults = tuple(defaults)
        self.postgres = connection.vendor == "postgresql"
        self._convert = [self._converter(field) for field in self.fields]
        # The defaults are the same on every row: converted once, COPY gets them as
        # one ready tail of the line.
        given_count = len(given)
        self._given_convert = self._convert[:given_count]
        tail = [f(v) for f, v in zip(self._convert[given_count:], self.defaults, strict=True)]
        self._copy_tail = "".join("\t" + value for value in tail) + "\n" if self.postgres else ""

    def _converter(self, field: models.Field) -> Callable[[Any], Any]:
        if not self.postgres:
            if isinstance(field, models.JSONField):
                return lambda value: None if value is None else json.dumps(value)
            if isinstance(field, models.DateTimeField):
                return connection.ops.adapt_datetimefield_value
            return _same
        if isinstance(field, models.JSONField):
            convert: Callable[[Any], str] = lambda value: _copy_text(json.dumps(value))  # noqa: E731
        elif isinstance(field, models.DateTimeField):
            convert = datetime.isoformat
        elif isinstance(field, models.BooleanField):
            convert = _COPY_BOOLEAN.__getitem__
        elif isinstance(field, models.CharField | models.TextField):
            convert = _copy_text
        else:
            convert = str
        if not field.null and not isinstance(field, models.JSONField):
            # Most columns: one C-level call per value, no None test.
            return convert
        return lambda value: r"\N" if value is None else convert(value)

    def write(self, rows: Iterable[tuple]) -> int:
        """Write ``rows`` (a sequence, or an iterator consumed as COPY reads); the count."""
        written = 0

        def counted() -> Iterator[tuple]:
            nonlocal written
            for row in rows:
                written += 1
                yield row

        defaults, convert = self.defaults, self._convert
        quoted = ", ".join(connection.ops.quote_name(column) for column in self.columns)
        table = connection.ops.quote_name(self.table)
        with connection.cursor() as cursor:
            if self.postgres:
                given, tail = self._given_convert, self._copy_tail
                lines = (
                    "\t".join([f(v) for f, v in zip(given, row, strict=True)]) + tail
                    for row in counted()
                )
                cursor.cursor.copy_expert(f"COPY {table} ({quoted}) FROM STDIN", _Lines(lines))
            else:
                marks = ", ".join(["%s"] * len(self.columns))
                cursor.executemany(
                    f"INSERT INTO {table} ({quoted}) VALUES ({marks})",  # noqa: S608
                    [
                        [f(v) for f, v in zip(convert, row + defaults, strict=True)]
                        for row in counted()
                    ],
                )
        return written


def next_ids(*model_list: type[models.Model]) -> dict[type[models.Model], int]:
    """The first free primary key of each model, for rows written with explicit ids."""
    return {
        model: (model.objects.aggregate(top=models.Max("pk"))["top"] or 0) + 1
        for model in model_list
    }


def sequences_reset(*model_list: type[models.Model]) -> None:
    """Move PostgreSQL's id sequences past the ids written explicitly."""
    if connection.vendor != "postgresql":
        return
    statements = connection.ops.sequence_reset_sql(_no_style(), list(model_list))
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


@contextmanager
def checks_after_load(model_list: Sequence[type[models.Model]]) -> Iterator[None]:
    """Foreign keys and secondary indexes of these (empty) tables built after the load.

    PostgreSQL checks a deferred foreign key row by row at commit and updates
    every index row by row during COPY; dropped first and added back after,
    each is one pass over the loaded table (what pg_restore does). The same
    definitions come back (read from the catalog, under the same names), in
    the same transaction: a failed check rolls the whole seed back. Primary
    keys and unique constraints stay in place and check as rows arrive.
    """
    if connection.vendor != "postgresql":
        yield
        return
    tables = [model._meta.db_table for model in model_list]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE contype = 'f' AND conrelid = ANY(%s::regclass[])",
            [tables],
        )
        foreign_keys = cursor.fetchall()
        cursor.execute(
            "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index "
            "WHERE indrelid = ANY(%s::regclass[]) AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint WHERE conindid = indexrelid)",
            [tables],
        )
        indexes = cursor.fetchall()
        # Checks still pending from earlier in the transaction run now: a table with
        # pending trigger events cannot be altered.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for table, name, _definition in foreign_keys:
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for index, _definition in indexes:
            cursor.execute(f"DROP INDEX {index}")
    yield
    with connection.cursor() as cursor:
        for _index, definition in indexes:
            cursor.execute(definition)
        for table, name, definition in foreign_keys:
            cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")  # Django's foreign keys are deferred


def _no_style():
    from django.core.management.color import no_style

    return no_style()
