"""ORM statements compiled once per process and then only run with new values.

A cold package page ran six or seven small queries, and building each one
through the ORM (resolving lookups, joins, the select list and the ordering)
cost several times what the database then spent answering it. A
``PreparedQuery`` builds its queryset once per database connection alias with
stand-in values, keeps the SQL and where each stand-in went among the
parameters, and from then on binds the real values to the same SQL. Rows come
back converted as ``values_list`` would return them: the ORM's own
converters, except SQLite's datetime and boolean ones, whose equivalents are
called directly, column by column.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import connections
from django.db.models import QuerySet
from django.utils.dateparse import parse_datetime

# Values no real lookup carries: each stand-in must come back exactly once
# among the compiled parameters, or the statement is refused at build time.
_TEXT_STAND_IN = "\x00prepared-value-{}\x00"
_INT_STAND_IN = -(2**62)
_DATETIME_STAND_IN = datetime(1901, 2, 3, 4, 5, 6, 654321, tzinfo=UTC)


def _adapt(kind: type, value: Any, connection) -> Any:
    # A datetime reaches the SQL as the backend adapts it (text on SQLite).
    if kind is datetime and value is not None:
        return connection.ops.adapt_datetimefield_value(value)
    return value


@dataclass(frozen=True)
class _Compiled:
    sql: str
    # Per parameter: the index of the caller's value, or None with a constant.
    slots: tuple[tuple[int | None, Any], ...]
    # Per converted column: its position and one function of the value.
    converters: tuple[tuple[int, Callable[[Any], Any]], ...]


def _aware_in(zone):
    """SQLite's datetime converter for USE_TZ, in one call per value.

    Django's applies ``parse_datetime`` where the driver did not, then
    ``make_aware`` in the connection's zone, through two generic layers per
    value: on a history of 1,000 releases that cost more than the query.
    """

    def convert(value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, datetime):
            value = parse_datetime(value)
        return value.replace(tzinfo=zone) if value.tzinfo is None else value

    return convert


def _boolean(value: Any) -> Any:
    # SQLite's boolean converter, called directly.
    return bool(value) if value in (1, 0) else value


def _converters(compiler, connection) -> tuple[tuple[int, Callable[[Any], Any]], ...]:
    fields = [column[0] for column in compiler.select[: compiler.col_count]]
    ops = type(connection.ops)
    direct = {}
    if connection.vendor == "sqlite":
        direct[getattr(ops, "convert_booleanfield_value", None)] = _boolean
        if settings.USE_TZ:
            direct[getattr(ops, "convert_datetimefield_value", None)] = _aware_in(
                connection.timezone
            )
    ours = []
    for position, (functions, expression) in compiler.get_converters(fields).items():
        if len(functions) == 1 and getattr(functions[0], "__func__", None) in direct:
            ours.append((position, direct[functions[0].__func__]))
            continue

        def convert(value, functions=functions, expression=expression):
            for function in functions:
                value = function(value, expression, connection)
            return value

        ours.append((position, convert))
    return tuple(ours)


class PreparedQuery:
    """A ``values_list`` queryset built once per connection alias and run with new values.

    ``build`` receives one stand-in per name in ``params`` (text, integer or
    datetime, as ``kinds`` says; text by default) and returns the queryset;
    each value must reach the SQL unchanged (an exact lookup, not
    ``icontains``), which ``rows`` checks the first time it compiles.
    """

    def __init__(
        self,
        build: Callable[..., QuerySet],
        *,
        params: Sequence[str],
        kinds: Sequence[type] | None = None,
    ) -> None:
        self._build = build
        self._params = tuple(params)
        self._kinds = tuple(kinds) if kinds is not None else (str,) * len(self._params)
        self._compiled: dict[str, _Compiled] = {}

    def _stand_ins(self) -> list[Any]:
        return [
            _INT_STAND_IN + index
            if kind is int
            else _DATETIME_STAND_IN.replace(year=1901 + index)
            if kind is datetime
            else _TEXT_STAND_IN.format(index)
            for index, kind in enumerate(self._kinds)
        ]

    def _compile(self, alias: str) -> _Compiled:
        given = self._stand_ins()
        queryset = self._build(**dict(zip(self._params, given, strict=True)))
        compiler = queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        connection = connections[alias]
        stand_ins = [_adapt(k, v, connection) for k, v in zip(self._kinds, given, strict=True)]
        slots = []
        found = [0] * len(stand_ins)
        for value in params:
            index = next(
                (i for i, s in enumerate(stand_ins) if type(value) is type(s) and value == s),
                None,
            )
            if index is not None:
                found[index] += 1
            slots.append((index, value))
        if found != [1] * len(stand_ins):
            raise ValueError(
                f"prepared query: each of {self._params} must appear once among its "
                f"parameters as given, found {found} in {params!r}"
            )
        return _Compiled(sql, tuple(slots), _converters(compiler, connection))

    def rows(self, *values: Any) -> list[tuple]:
        """Every row for ``values`` (in ``params`` order), converted as the ORM converts."""
        connection = connections["default"]
        key = f"{connection.alias}:{connection.vendor}"
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiled[key] = self._compile(connection.alias)
        bound = [
            constant if index is None else _adapt(self._kinds[index], values[index], connection)
            for index, constant in compiled.slots
        ]
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, bound)
            rows = cursor.fetchall()
        if not compiled.converters or not rows:
            return rows
        # Column by column: one map() per converted column, the rows rebuilt by zip().
        columns = list(zip(*rows, strict=True))
        for position, convert in compiled.converters:
            columns[position] = tuple(map(convert, columns[position]))
        return list(zip(*columns, strict=True))
