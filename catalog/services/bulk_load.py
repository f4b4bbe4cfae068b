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
import struct
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from itertools import chain
from typing import Any

from django.db import connection, models
from django.utils import timezone


def _same(value: Any) -> Any:
    return value


# What COPY's text format gives a meaning to; a value without any is written as it is.
_COPY_SPECIAL = ("\\", "\t", "\n", "\r")


def copy_escape(value: str) -> str:
    """A value in COPY's text format; most need no escaping (two C-speed scans).

    Chained ``replace`` rather than ``str.translate``: on a description's
    kilobytes of text it is twenty times faster, and these four are all COPY
    escapes."""
    if value.isprintable() and "\\" not in value:
        return value
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


# COPY's binary format: the header (signature, flags, no extension) and the trailer.
BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
BINARY_TRAILER = struct.pack("!h", -1)
_HEADER_TEXT, _TRAILER_TEXT = (
    (BINARY_HEADER.decode("latin-1"),),
    (BINARY_TRAILER.decode("latin-1"),),
)
BINARY_NULL = struct.pack("!i", -1).decode("latin-1")
# PostgreSQL's timestamps count microseconds from this moment.
_PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def binary_length(size: int) -> str:
    """A value's length as COPY's binary format writes it (one latin-1 character a byte)."""
    return struct.pack("!i", size).decode("latin-1")


def binary_text(value: str) -> str:
    """A text value with its length in COPY's binary format, as latin-1 characters (UTF-8
    bytes)."""
    data = value if value.isascii() else value.encode().decode("latin-1")
    return binary_length(len(data)) + data


def binary_bigint(value: int) -> str:
    """A bigint with its length in COPY's binary format."""
    return "\x00\x00\x00\x08" + value.to_bytes(8, "big", signed=True).decode("latin-1")


def binary_timestamp_seconds(value: datetime) -> int:
    """Whole seconds from PostgreSQL's epoch (2000-01-01 UTC) to an aware datetime."""
    return (value - _PG_EPOCH) // timedelta(seconds=1)


def binary_timestamp(value: datetime) -> str:
    """An aware datetime with its length in COPY's binary format (microseconds since 2000)."""
    if value.tzinfo is None:
        raise ValueError(f"a naive datetime ({value}) has no place in a timestamptz column")
    return binary_bigint((value - _PG_EPOCH) // _MICROSECOND)


class TableWriter:
    """Writes tuples of ``given`` field values into ``model``'s table.

    The remaining concrete fields get their default once, up front; values are
    converted per column (JSON, datetimes, booleans) for the database at hand.
    ``binary``: on PostgreSQL, COPY in binary format (no text to parse and no
    escaping: for wide rows PostgreSQL spends a third of COPY's time parsing
    text), for tables whose columns are all of the types ``_binary_encoder`` knows.
    """

    def __init__(
        self, model: type[models.Model], given: Sequence[str], *, binary: bool = False
    ) -> None:
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
        self.binary = binary and self.postgres
        self._convert = [self._converter(field) for field in self.fields]
        given_fields = self.fields[: len(given)]
        # COPY lines are ``"%s\t%s...\n" % row``: ints, booleans ("True" is a
        # PostgreSQL boolean) and datetimes (str() is ISO 8601 with its offset)
        # print as PostgreSQL reads them. Text is checked a block at a time and
        # escaped only when it must be; None and JSON are converted per value.
        self._text = [
            index
            for index, field in enumerate(given_fields)
            if isinstance(field, models.CharField | models.TextField)
        ]
        self._nullable = [
            index
            for index, field in enumerate(given_fields)
            if field.null and not isinstance(field, models.JSONField)
        ]
        self._json = [
            index for index, field in enumerate(given_fields) if isinstance(field, models.JSONField)
        ]
        # The defaults are the same on every row: converted once, COPY gets them as
        # one ready tail of the line.
        tail = "".join(
            "\t" + self._copy_value(field, value)
            for field, value in zip(rest, self.defaults, strict=True)
        )
        # What follows the given values on every COPY line ("\t..." and the newline).
        self.copy_tail = tail + "\n"
        # ``copy_line % values``: the COPY line of a row whose given values are already
        # in COPY's text format (text escaped, None as \N), defaults added.
        self.copy_line = "\t".join(["%s"] * len(given)) + tail.replace("%", "%%") + "\n"
        quoted = ", ".join(connection.ops.quote_name(column) for column in self.columns)
        self._copy_sql = f"COPY {connection.ops.quote_name(self.table)} ({quoted}) FROM STDIN"
        if self.binary:
            # Binary rows are latin-1 text, a character a byte: the field count, each
            # value's length and bytes (``binary_row``), the defaults' ready tail.
            self._encode = [self._binary_encoder(field) for field in given_fields]
            self.row_head = struct.pack("!h", len(self.fields)).decode("latin-1")
            self.copy_tail = "".join(
                self._binary_encoder(field)(value)
                for field, value in zip(rest, self.defaults, strict=True)
            )

    @staticmethod
    def _copy_value(field: models.Field, value: Any) -> str:
        """One value in COPY's text format."""
        if value is None:
            return r"\N"
        if isinstance(field, models.JSONField):
            return copy_escape(json.dumps(value))
        if isinstance(field, models.BooleanField):
            return "t" if value else "f"
        if isinstance(field, models.DateTimeField):
            return value.isoformat()
        return copy_escape(str(value))

    @staticmethod
    def _binary_encoder(field: models.Field) -> Callable[[Any], str]:
        """One value (None included) with its length in COPY's binary format."""
        kind = field.db_type(connection)
        if kind == "bigint":
            encode: Callable[[Any], str] = binary_bigint
        elif kind == "integer":
            encode = lambda value: "\x00\x00\x00\x04" + struct.pack("!i", value).decode("latin-1")  # noqa: E731
        elif kind == "boolean":
            encode = lambda value: "\x00\x00\x00\x01" + ("\x01" if value else "\x00")  # noqa: E731
        elif kind == "timestamp with time zone":
            encode = binary_timestamp
        elif kind == "text" or kind.startswith("varchar"):
            encode = binary_text
        elif kind == "jsonb":
            encode = lambda value: binary_text("\x01" + json.dumps(value))  # noqa: E731
        else:
            raise ValueError(
                f"{field.model._meta.label}.{field.name}: no binary COPY for a {kind} column"
            )
        if field.null or isinstance(field, models.JSONField):
            return lambda value: BINARY_NULL if value is None else encode(value)
        return encode

    def binary_row(self, row: tuple) -> str:
        """One row (the given fields' values) in COPY's binary format, defaults added, as
        latin-1 characters (``binary`` writers)."""
        return (
            self.row_head
            + "".join([encode(value) for encode, value in zip(self._encode, row, strict=True)])
            + self.copy_tail
        )

    def _converter(self, field: models.Field) -> Callable[[Any], Any]:
        """A value as ``executemany`` takes it (databases other than PostgreSQL)."""
        if isinstance(field, models.JSONField):
            return lambda value: None if value is None else json.dumps(value)
        if isinstance(field, models.DateTimeField):
            return connection.ops.adapt_datetimefield_value
        return _same

    def copy_text(self, rows: Sequence[tuple] | Sequence[str]) -> bytes:
        """``rows`` (tuples of the given fields) as COPY text, defaults added; or
        COPY lines already made, joined. ``binary`` writers: the same in COPY's
        binary format (lines made by ``binary_row`` or alike), header and trailer
        around.

        Column by column: the checks and conversions run at C speed over a
        whole column (``str.join``, ``in``, ``map``) rather than per value, and
        each line is one ``%`` format.
        """
        if not rows:
            return b""
        if self.binary:
            lines = rows if isinstance(rows[0], str) else [self.binary_row(row) for row in rows]
            # One join and one encode of the block (tens of megabytes), header and
            # trailer inside: each further concatenation copies it all again.
            return "".join(chain(_HEADER_TEXT, lines, _TRAILER_TEXT)).encode("latin-1")
        if isinstance(rows[0], str):
            # Lines made by the caller from ``copy_tail`` (the seeder's file rows).
            return "".join(rows).encode()
        columns = list(zip(*rows, strict=True))
        nullable = set(self._nullable)
        for index in self._text:
            column = columns[index]
            present = column
            if index in nullable and None in column:
                present = [v for v in column if v is not None]
            joined = "".join(present)
            if any(special in joined for special in _COPY_SPECIAL):
                columns[index] = [v if v is None else copy_escape(v) for v in column]
        for index in self._nullable:
            if None in columns[index]:
                columns[index] = [r"\N" if v is None else v for v in columns[index]]
        for index in self._json:
            columns[index] = [copy_escape(json.dumps(v)) for v in columns[index]]
        return "".join(map(self.copy_line.__mod__, zip(*columns, strict=True))).encode()

    def copy(self, data: bytes | Any, *, freeze: bool = False) -> None:
        """COPY text made by ``copy_text`` (PostgreSQL), as bytes or a file to read it from;
        ``freeze``: see ``checks_after_load``."""
        if isinstance(data, bytes):
            if not data:
                return
            data = io.BytesIO(data)
        options = (["FORMAT binary"] if self.binary else []) + (["FREEZE"] if freeze else [])
        sql = self._copy_sql + (f" WITH ({', '.join(options)})" if options else "")
        with connection.cursor() as cursor:
            cursor.cursor.copy_expert(sql, data, size=1 << 20)

    def write(self, rows: Sequence[tuple], *, freeze: bool = False) -> int:
        """Write ``rows``; the count."""
        if self.postgres:
            self.copy(self.copy_text(rows), freeze=freeze)
            return len(rows)
        quoted = ", ".join(connection.ops.quote_name(column) for column in self.columns)
        marks = ", ".join(["%s"] * len(self.columns))
        convert, defaults = self._convert, self.defaults
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {connection.ops.quote_name(self.table)} ({quoted}) "  # noqa: S608
                f"VALUES ({marks})",
                [[f(v) for f, v in zip(convert, row + defaults, strict=True)] for row in rows],
            )
        return len(rows)


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


class Stages(dict):
    """Wall seconds per stage of a load, in the order first timed (``with stages("copy x")``);
    a stage timed again adds up. ``detail``: the same for the parts of a stage
    (each index built)."""

    def __init__(self) -> None:
        super().__init__()
        self.detail: dict[str, float] = {}

    def part(self, name: str, started: float) -> None:
        """Record a part of a stage that began at ``started`` (``time.perf_counter``)."""
        self.detail[name] = time.perf_counter() - started

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self[name] = self.get(name, 0.0) + time.perf_counter() - started


@contextmanager
def checks_after_load(
    model_list: Sequence[type[models.Model]],
    *,
    stages: Stages | None = None,
    keep: Callable[[str, str], bool] | None = None,
) -> Iterator[frozenset[str]]:
    """Keys, foreign keys and indexes of these (empty) tables built after the load;
    yields the tables a load may ``COPY ... FREEZE`` (``TableWriter.write(freeze=)``).

    PostgreSQL checks a deferred foreign key row by row at commit and updates
    every index row by row during COPY (in random order for a search term or
    a file name); dropped first and added back after, each is one sorted pass
    over the loaded table (what pg_restore does). The same definitions come
    back (read from the catalog, under the same names), in the same
    transaction: a duplicate key or a dangling reference rolls the whole load
    back. A key that a table outside the load references stays in place, and
    so do the indexes and keys ``keep(table, first column)`` names: an index
    whose rows arrive in key order (an ascending id) grows at its right edge
    for little more than COPY's own cost, and is kept while COPY waits for
    rows instead of costing a pass over the table after.

    An empty table that no table outside the load references is truncated
    first, which lets COPY write its rows frozen and its pages all-visible
    (``FREEZE``): no later VACUUM rewrites every page to set hint bits, and
    index-only scans skip the table from the start instead of after
    autovacuum's first visit. Frozen rows are visible to transactions that
    started before the load; on an empty catalog that changes nothing.
    """
    if connection.vendor != "postgresql":
        yield frozenset()
        return
    tables = [model._meta.db_table for model in model_list]
    with connection.cursor() as cursor:
        # Taken now, not by the first ALTER: no other session writes between the
        # emptiness check and the TRUNCATE.
        cursor.execute(
            "LOCK TABLE "
            + ", ".join(connection.ops.quote_name(table) for table in tables)
            + " IN ACCESS EXCLUSIVE MODE"
        )
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE contype = 'f' AND conrelid = ANY(%s::regclass[])",
            [tables],
        )
        foreign_keys = cursor.fetchall()
        cursor.execute(
            "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid), "
            "indrelid::regclass::text, (SELECT attname FROM pg_attribute "
            "WHERE attrelid = indrelid AND attnum = indkey[0]) FROM pg_index "
            "WHERE indrelid = ANY(%s::regclass[]) AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint WHERE conindid = indexrelid)",
            [tables],
        )
        indexes = [
            (index, definition)
            for index, definition, table, first in cursor.fetchall()
            if keep is None or not keep(table, first)
        ]
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), "
            "(SELECT attname FROM pg_attribute WHERE attrelid = conrelid AND attnum = conkey[1]) "
            "FROM pg_constraint c WHERE contype IN ('p', 'u') AND conrelid = ANY(%s::regclass[]) "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' "
            "AND f.conindid = c.conindid AND NOT f.conrelid = ANY(%s::regclass[]))",
            [tables, tables],
        )
        keys = [
            (table, name, definition)
            for table, name, definition, first in cursor.fetchall()
            if keep is None or not keep(table, first)
        ]
        cursor.execute(
            "SELECT DISTINCT confrelid::regclass::text FROM pg_constraint WHERE contype = 'f' "
            "AND confrelid = ANY(%s::regclass[]) AND NOT conrelid = ANY(%s::regclass[])",
            [tables, tables],
        )
        referenced = {row[0] for row in cursor.fetchall()}
        empty = []
        for model in model_list:
            table = connection.ops.quote_name(model._meta.db_table)
            cursor.execute(f"SELECT NOT EXISTS (SELECT 1 FROM {table})")  # noqa: S608
            if cursor.fetchone()[0] and model._meta.db_table not in referenced:
                empty.append(model._meta.db_table)
        # Checks still pending from earlier in the transaction run now: a table with
        # pending trigger events cannot be altered.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for table, name, _definition in foreign_keys:
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for index, _definition in indexes:
            cursor.execute(f"DROP INDEX {index}")
        for table, name, _definition in keys:
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        if empty:
            cursor.execute(
                "TRUNCATE " + ", ".join(connection.ops.quote_name(table) for table in empty)
            )
        # A row too wide to stay inline (a package with its rendered description) has
        # its widest values compressed as COPY writes it: with lz4 where the server
        # has it, for this transaction only, at a fraction of the default pglz's cost.
        # Reads take either; later writes use the server's setting.
        cursor.execute(
            "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
        )
        if cursor.fetchone()[0]:
            cursor.execute("SET LOCAL default_toast_compression = 'lz4'")
    yield frozenset(empty)
    stages = Stages() if stages is None else stages
    with connection.cursor() as cursor:
        # Index builds sort in memory up to this much, shared with their parallel
        # workers (the default, 64 MB, spills the four million search terms of a
        # 100,000-project catalog to disk); for this transaction only.
        cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
        with stages("keys"):
            for table, name, definition in keys:
                started = time.perf_counter()
                cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
                stages.part(name, started)
        with stages("indexes"):
            for index, definition in indexes:
                started = time.perf_counter()
                cursor.execute(definition)
                stages.part(index, started)
        with stages("foreign keys"):
            for table, name, definition in foreign_keys:
                started = time.perf_counter()
                cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
                stages.part(name, started)
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")  # Django's foreign keys are deferred


def _no_style():
    from django.core.management.color import no_style

    return no_style()
