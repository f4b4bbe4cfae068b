"""Synthetic catalogs in PyPI's shape, at any size, written in bulk.

PyPI holds about 600,000 projects and 6.5 million releases: about 11 releases
per project, most projects with a handful, a long tail with thousands. This
profile draws release counts from a log-normal distribution with that mean
(capped at ``MAX_RELEASES``), gives releases zero to three files (old releases
often have none), and mixes in pre-releases, post-releases, yanked releases and
legacy (non-PEP 440) versions like the classic profile in ``seed.py``.

Rows never become model instances: each table's rows are tuples in the order of
``TableWriter.columns`` (``catalog.services.bulk_load``) and go to the database
with ``COPY`` on PostgreSQL (one statement per table per chunk) or
``executemany`` elsewhere. Every column the
generator does not set takes its field's default, so a field added to a model
later is filled the way ``bulk_create`` would fill it, and a field with no
usable default stops the run with its name. Like every bulk load, the rows are
not audited (they are not changes anyone made) and reach MongoDB through
``migrate_to_mongo``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import math
import multiprocessing
import os
import queue
import random
import re
import struct
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache, partial
from html import escape
from operator import itemgetter
from string import Formatter

from django.contrib.auth.hashers import make_password
from django.db import transaction

from catalog.counters import counted_after_load
from catalog.file_entries import ENTRY_FIELDS, entry_values, file_entries, iso_ms, iso_seconds
from catalog.listings import listing_triggers_held_off
from catalog.models import (
    Maintainer,
    Package,
    PackageListing,
    Release,
    ReleaseFile,
    SearchTerm,
    User,
    release_version_fields,
)
from catalog.rendering import description_html_render
from catalog.search import package_terms
from catalog.services.bulk_load import (
    BINARY_NULL,
    Stages,
    TableWriter,
    binary_bigint,
    binary_length,
    binary_text,
    binary_timestamp_seconds,
    checks_after_load,
    next_ids,
    sequences_reset,
)
from catalog.services.listings import listings_refresh_all
from catalog.services.seed import (
    SeedResult,
    catalog_empty_check,
    planner_statistics_refresh,
    vocabulary_ensure,
)
from catalog.services.seed_vocabulary import (
    BASE_DATE,
    DESCRIPTION_MD,
    END_DATE,
    FEATURES,
    FIRST,
    LAST,
    LICENSE_WEIGHTS,
    LICENSES,
    PYTHONS,
    STATUS,
    TOPICS,
    VERBS,
    WORDS_A,
    WORDS_B,
    WORDS_C,
    version_history,
)
from catalog.versions import canonicalize_name

DESCRIPTION_FIELDS = (
    "display",
    "name",
    "module",
    "summary",
    "docs",
    "verb",
    "feature1",
    "feature2",
    "python",
)
# log-normal(mu, sigma) has mean exp(mu + sigma**2 / 2) = exp(1.4 + 0.98), about 10.8.
RELEASES_MU = 1.4
RELEASES_SIGMA = 1.4
MAX_RELEASES = 5000
CHUNK_PROJECTS = 2000


# The listings' table is empty on a seed (the listings are built after the load):
# loaded so that the package table it references can be truncated and frozen too.
_LOADED = (
    Package,
    Release,
    ReleaseFile,
    SearchTerm,
    Maintainer,
    Package.classifiers.through,
    PackageListing,
)
# Columns whose values the seeder writes in ascending order (ids, the package and
# release they belong to) or all equal (the write time): their indexes and keys
# stay during the load (``checks_after_load``). A package's names and times come
# in random order, but its table is small: kept too.
_IN_ORDER = {"id", "package_id", "release_id", "updated"}


def _kept_during_load(table: str, first_column: str) -> bool:
    return first_column in _IN_ORDER or table == Package._meta.db_table


_TOKENS = {key: f"zqz{key}zqz" for key in DESCRIPTION_FIELDS}


@lru_cache(maxsize=1)
def _description_template() -> str:
    return description_html_render(DESCRIPTION_MD.format(underline="", **_TOKENS), "text/markdown")


def _description_html(fields: dict[str, str]) -> str:
    """The description's rendered HTML: the template rendered once, the values put in.

    Rendering each description costs 2.5 ms (a third of a 100,000-project
    seed). The values this profile puts in (lower-case words, hyphens,
    underscores, an https URL) render as themselves, escaped, wherever the
    template places them; tests compare the result with a full render.
    """
    rendered = _description_template()
    for key, value in fields.items():
        rendered = rendered.replace(_TOKENS[key], escape(value))
    return rendered


def _release_count(rng: random.Random) -> int:
    return min(MAX_RELEASES, max(1, int(rng.lognormvariate(RELEASES_MU, RELEASES_SIGMA))))


def _project_name(rng: random.Random, names: set[str], index: int) -> str:
    for _ in range(3):
        parts = [rng.choice(WORDS_A), rng.choice(WORDS_B), rng.choice(WORDS_C)]
        display = "-".join(part for part in parts if part)
        if rng.random() < 0.15:
            display = display.replace("-", "_")
        if canonicalize_name(display) not in names:
            break
    else:
        display = f"{display}{index}"
    names.add(canonicalize_name(display))
    return display


# The file columns the seeder writes (after release_id); the rest keep their defaults.
_FILE_GIVEN = (
    "filename",
    "url",
    "size",
    "packagetype",
    "python_version",
    "requires_python",
    "sha256",
    "md5",
    "upload_time",
)


# Stand-ins a file's entries carry through unchanged (plain letters, an int, a
# time with milliseconds), replaced by the seeded file's values.
_ENTRY_TOKENS = {
    "filename": "zqzfilenamezqz",
    "url": "https://zqzurlzqz",
    "packagetype": "zqzpackagetypezqz",
    "python_version": "zqzpythonzqz",
    "requires_python": "zqzrequireszqz",
    "sha256": "zqzshazqz",
    "md5": "zqzmdzqz",
}
_SIZE_TOKEN = 987654321987
_TIME_TOKEN = datetime(2001, 2, 3, 4, 5, 6, 789000, tzinfo=UTC)
# Values that JSON and HTML both write as they are (no quote, "<", "&" or escape).
_PLAIN = re.compile(r"[A-Za-z0-9._/:+-]*")


# The values a file's entry templates take, by position.
_ENTRY_ARGS = (
    "filename",
    "url",
    "size",
    "packagetype",
    "python_version",
    "requires_python",
    "requires_python_html",
    "sha256",
    "md5",
    "time_seconds",
    "time_ms",
)


@lru_cache(maxsize=2)
def _entry_templates(with_requires: bool) -> tuple[str, ...]:
    """The entries of a file whose values are the tokens, as format strings.

    Made by ``file_entries`` itself, so their shape has one definition; the
    tokens come back in the places the values go (``{n}``, n in ``_ENTRY_ARGS``).
    A plain value is its own HTML escape; only Requires-Python has an escaped form.
    """
    tokens = {**_ENTRY_TOKENS, "size": _SIZE_TOKEN, "upload_time": _TIME_TOKEN}
    if not with_requires:
        tokens["requires_python"] = ""
    entries = file_entries(entry_values(tokens))
    at = {name: "{" + str(index) + "}" for index, name in enumerate(_ENTRY_ARGS)}
    templates = []
    for name in ENTRY_FIELDS:
        text = entries[name].replace("{", "{{").replace("}", "}}")
        for field, token in _ENTRY_TOKENS.items():
            html = name == "simple_html" and field == "requires_python"
            text = text.replace(token, at[field + ("_html" if html else "")])
        text = text.replace(str(_SIZE_TOKEN), at["size"])
        text = text.replace(iso_ms(_TIME_TOKEN), at["time_ms"])
        text = text.replace(iso_seconds(_TIME_TOKEN), at["time_seconds"])
        templates.append(text)
    return tuple(templates)


@lru_cache(maxsize=64)
def _requires_forms(requires: str) -> tuple[str, str] | None:
    """(as JSON writes it, as HTML writes it) when JSON writes it as it is (printable
    ASCII without a quote or a backslash); else None."""
    plain = requires.isascii() and requires.isprintable()
    if plain and '"' not in requires and "\\" not in requires:
        return requires, escape(requires)
    return None


def _template_requires(requires_python: str | None, *texts: str) -> tuple[str, str] | None:
    """Requires-Python as the entry templates take it (JSON's form, HTML's form) when a
    file's entries can be filled in from them: its text values plain and its
    Requires-Python a string JSON writes as it is. Else None: ``file_entries`` then
    computes the entries (a missing Requires-Python is JSON's null, which the
    templates, made with an empty one, do not write)."""
    if requires_python is None or not _PLAIN.fullmatch("".join(texts)):
        return None
    return _requires_forms(requires_python)


def _with_entries(
    release_id: int,
    filename: str,
    url: str,
    size: int,
    packagetype: str,
    python_version: str,
    requires_python: str | None,
    sha256: str,
    md5: str,
    upload_time: datetime,
) -> tuple:
    """A file row with its API entries (catalog.file_entries), as ReleaseFile.save writes them.

    Seeded values are plain (names, hex digests, https URLs), so the entries
    are the token templates filled in: computing each costs 15 us a file, a
    third of a 100,000-project seed. Anything else takes ``file_entries``.
    """
    given = (filename, url, size, packagetype, python_version, requires_python, sha256, md5)
    requires = _template_requires(
        requires_python, filename, url, packagetype, python_version, sha256, md5
    )
    if requires is None:
        values = dict(zip(_FILE_GIVEN, (*given, upload_time), strict=True))
        entries = file_entries(entry_values(values))
        return (release_id, *given, upload_time, *(entries[name] for name in ENTRY_FIELDS))
    json_template, html_template, simple_template = _entry_templates(bool(requires[0]))
    args = (
        filename,
        url,
        size,
        packagetype,
        python_version,
        *requires,
        sha256,
        md5,
        iso_seconds(upload_time),
        iso_ms(upload_time),
    )
    return (
        release_id,
        *given,
        upload_time,
        json_template.format(*args),
        html_template.format(*args),
        simple_template.format(*args),
    )


@lru_cache(maxsize=2)
def _percent_entry_templates(with_requires: bool) -> tuple[tuple[str, Callable], ...]:
    """``_entry_templates`` as ``%`` templates (twice as fast as ``str.format`` on a
    kilobyte of template), each with what picks its values, in order, from the
    arguments (``_ENTRY_ARGS``). ASCII, as the plain values they take: a value's
    length is its length in bytes."""
    templates = []
    for template in _entry_templates(with_requires):
        parts = list(Formatter().parse(template))
        text = "".join(
            literal.replace("%", "%%") + ("" if field is None else "%s")
            for literal, field, _spec, _conversion in parts
        )
        order = [int(field) for _literal, field, _spec, _conversion in parts if field is not None]
        if not text.isascii() or len(order) < 2:
            raise ValueError("a file entry template must be ASCII and take several values")
        templates.append((text, itemgetter(*order)))
    return tuple(templates)


_NULL = BINARY_NULL
_SHA256_LENGTH, _MD5_LENGTH = binary_length(64), binary_length(32)


class _Lengths(dict):
    """Lengths in COPY's binary format, each made once."""

    def __missing__(self, size: int) -> str:
        self[size] = binary_length(size)
        return self[size]


class _SeedTimes:
    """Seeded times (whole seconds after ``BASE_DATE``, in UTC) as ``iso_seconds`` and
    ``iso_ms`` write them, and as binary COPY writes them.

    Made from a day's and a second's text, each computed once: a datetime made
    and formatted (and hashed for ``iso_seconds``' cache) per release costs more
    than the rest of its row."""

    def __init__(self) -> None:
        if BASE_DATE.utcoffset() or BASE_DATE.time() != datetime.min.time():
            raise ValueError("seeded times are counted from a midnight in UTC")
        self._days: dict[int, str] = {}
        self._seconds: dict[int, str] = {}
        # Seconds from PostgreSQL's epoch (2000-01-01) to BASE_DATE.
        self._offset = binary_timestamp_seconds(BASE_DATE)

    def texts(self, at: int) -> tuple[str, str]:
        """(``iso_seconds``, ``iso_ms``) of ``BASE_DATE`` + ``at`` seconds."""
        day, second = divmod(at, 86400)
        date = self._days.get(day)
        if date is None:
            date = self._days[day] = (BASE_DATE + timedelta(days=day)).date().isoformat()
        clock = self._seconds.get(second)
        if clock is None:
            clock = self._seconds[second] = (
                f"{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}"
            )
        return f"{date}T{clock}", f"{date}T{clock}.000000Z"

    def binary(self, at: int) -> str:
        """``BASE_DATE`` + ``at`` seconds in binary COPY (``binary_timestamp``)."""
        return binary_bigint((self._offset + at) * 1_000_000)


def _file_line(
    writer: TableWriter,
    release_id: int,
    filename: str,
    url: str,
    size: int,
    packagetype: str,
    python_version: str,
    requires_python: str | None,
    sha256: str,
    md5: str,
    upload_time: datetime,
) -> str:
    """``_with_entries``'s row as ``writer``'s binary COPY row (latin-1 characters).

    What ``_release_rows`` makes in one step for files with plain values."""
    return writer.binary_row(
        _with_entries(
            release_id,
            filename,
            url,
            size,
            packagetype,
            python_version,
            requires_python,
            sha256,
            md5,
            upload_time,
        )
    )


def _writers() -> dict[str, TableWriter]:
    """The tables the profile writes, by the names ``_blocks`` yields."""
    return {
        "users": TableWriter(
            User, ["id", "username", "first_name", "last_name", "email", "password", "date_joined"]
        ),
        "releases": TableWriter(
            Release,
            [
                "id",
                "package_id",
                "version",
                "sort_key",
                "is_prerelease",
                "yanked",
                "yanked_reason",
                "requires_python",
                "summary",
                "created",
            ],
            binary=True,
        ),
        "packages": TableWriter(
            Package,
            [
                "id",
                "name",
                "display_name",
                "summary",
                "description",
                "description_content_type",
                "description_html",
                "keywords",
                "home_page",
                "project_urls",
                "author",
                "author_email",
                "license_id",
                "created",
                "updated",
            ],
        ),
        "search terms": TableWriter(SearchTerm, ["term", "package_id"]),
        "classifiers": TableWriter(Package.classifiers.through, ["package_id", "classifier_id"]),
        "maintainers": TableWriter(Maintainer, ["package_id", "user_id", "role", "created"]),
        "files": TableWriter(ReleaseFile, ["release_id", *_FILE_GIVEN, *ENTRY_FIELDS], binary=True),
    }


@dataclass
class _Plan:
    """What the row generator needs from the database, read before it starts."""

    projects: int
    seed: int
    chunk: int
    ids: dict
    user_ids: list[int]
    license_ids: list[int]
    classifier_ids: dict[str, int]
    password: str
    # Where the package rows keep what their search terms are made of.
    term_columns: list[int]
    # Rows made as COPY data where that is cheaper (PostgreSQL: text for search terms,
    # binary rows for releases and files), else tuples.
    copy_lines: bool
    # A file's row from its values: ``_with_entries``, or its COPY row (``_file_line``).
    file_row: Callable[..., tuple | str]
    # The release and file writers (binary on PostgreSQL): the parts of their rows.
    release_writer: TableWriter
    file_writer: TableWriter


def _plan(
    *,
    projects: int,
    seed: int,
    chunk: int,
    writers: dict[str, TableWriter],
    licenses: list,
    classifiers: dict,
    password: str,
    copy_lines: bool,
) -> _Plan:
    """What ``_blocks`` needs, the first free ids read from the database."""
    ids = next_ids(User, Package, Release)
    at = {field.attname: index for index, field in enumerate(writers["packages"].fields)}
    return _Plan(
        projects=projects,
        seed=seed,
        chunk=chunk,
        ids=ids,
        user_ids=list(range(ids[User], ids[User] + max(3, projects // 2))),
        license_ids=[license.pk for license in licenses],
        classifier_ids={name: classifier.pk for name, classifier in classifiers.items()},
        password=password,
        term_columns=[at[n] for n in ("id", "name", "display_name", "summary", "keywords")],
        copy_lines=copy_lines,
        file_row=partial(_file_line, writers["files"]) if copy_lines else _with_entries,
        release_writer=writers["releases"],
        file_writer=writers["files"],
    )


_COUNTED = {"users": User, "packages": Package, "releases": Release, "files": ReleaseFile}


def catalog_seed_pypi(
    *, projects: int, seed: int, if_empty: bool = False, chunk: int = CHUNK_PROJECTS
) -> SeedResult:
    """Build a PyPI-shaped catalog of ``projects`` projects; refuse a non-empty catalog.

    ``result.stages`` holds the seconds of each stage.
    """
    started = time.perf_counter()
    skipped = catalog_empty_check(if_empty=if_empty)
    if skipped is not None:
        return skipped
    result = SeedResult()
    stages = Stages()
    with transaction.atomic():
        licenses, classifiers = vocabulary_ensure()
        result.licenses, result.classifiers = len(licenses), len(classifiers)
        writers = _writers()
        plan = _plan(
            projects=projects,
            seed=seed,
            chunk=chunk,
            writers=writers,
            licenses=licenses,
            classifiers=classifiers,
            # One real hash shared by all seeded users: hashing per user would dominate.
            password=make_password(f"seed-{seed}"),
            copy_lines=writers["files"].postgres,
        )
        written = dict.fromkeys(writers, 0)
        with (
            # Pending checks run first (a table with pending trigger events
            # cannot be altered).
            checks_after_load(_LOADED, stages=stages, keep=_kept_during_load) as frozen,
            counted_after_load(list(_COUNTED.values())) as counts,
            listing_triggers_held_off(),
        ):
            if not writers["users"].postgres:
                blocks = ((table, rows, len(rows)) for table, rows in _blocks(plan))
            elif "fork" in multiprocessing.get_all_start_methods():
                blocks = _blocks_from_child(plan, writers, stages)
            else:  # no fork (Windows): the rows are made here, between the COPYs
                blocks = (
                    (table, writers[table].copy_text(rows), len(rows))
                    for table, rows in _blocks(plan)
                )
            for table, rows, count in blocks:
                writer = writers[table]
                with stages(f"copy {table}"):
                    if isinstance(rows, list):
                        writer.write(rows)
                    else:
                        writer.copy(rows, freeze=writer.table in frozen)
                written[table] += count
            for table, model in _COUNTED.items():
                counts[model] += written[table]
        with stages("sequences"):
            sequences_reset(User, Package, Release, ReleaseFile, Maintainer)
        commit = time.perf_counter()
    stages["commit"] = time.perf_counter() - commit
    with stages("analyze"):
        planner_statistics_refresh()
    with stages("listings"):
        result.listings = listings_refresh_all()
    result.users, result.packages = written["users"], written["packages"]
    result.releases, result.files = written["releases"], written["files"]
    result.maintainers = written["maintainers"]
    result.seconds = round(time.perf_counter() - started, 3)
    result.stages = {name: round(seconds, 3) for name, seconds in stages.items()}
    result.builds = {name: round(seconds, 3) for name, seconds in stages.detail.items()}
    return result


_HEADER = struct.Struct("!bQQ")  # table (its index in the writers), rows, bytes
_DONE, _FAILED = -1, -2


def _blocks_from_child(
    plan: _Plan, writers: dict[str, TableWriter], stages: Stages
) -> Iterator[tuple[str, _PipeBlock, int]]:
    """``_blocks`` made into COPY text by a forked process, while this one writes them.

    Making the rows costs Python about as much CPU as PostgreSQL spends
    storing them; in one process they take turns, in two they share the
    machine's cores. The child only computes (it never touches the database
    connection it inherits) and writes each table's block of a chunk to a
    pipe, a header and then the COPY text, which COPY here reads straight from
    the pipe (no pickling, no copy held in this process). A thread of the
    child writes while its main thread makes the next blocks; it holds a few
    blocks, so the child runs ahead of COPY without piling up memory. The
    child's CPU time comes back as the "generate" stage.
    """
    read_end, write_end = os.pipe()
    with contextlib.suppress(AttributeError, OSError):  # a larger pipe: fewer switches
        fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, 1 << 20)
    context = multiprocessing.get_context("fork")
    child = context.Process(
        target=_child_main, args=(write_end, read_end, plan, writers), daemon=True
    )
    child.start()
    os.close(write_end)  # the child's end: EOF here when the child is gone
    tables = list(writers)
    try:
        while True:
            with stages("wait for rows"):
                kind, count, size = _HEADER.unpack(_read_exactly(read_end, _HEADER.size))
            if kind == _DONE:
                stages["generate"] = float(_read_exactly(read_end, size))
                break
            if kind == _FAILED:
                detail = _read_exactly(read_end, size).decode()
                raise RuntimeError(f"generating the catalog's rows failed:\n{detail}")
            block = _PipeBlock(read_end, size)
            yield tables[kind], block, count
            if block.left:
                raise RuntimeError("COPY stopped before the end of a block of rows")
        child.join()
    finally:
        os.close(read_end)
        if child.is_alive():
            child.terminate()
        child.join()


class _PipeBlock:
    """The next ``size`` bytes of a pipe, read as a file (what COPY FROM STDIN reads)."""

    def __init__(self, fd: int, size: int) -> None:
        self.fd, self.left = fd, size

    def read(self, size: int = -1) -> bytes:
        if not self.left:
            return b""
        data = os.read(self.fd, self.left if size < 0 else min(size, self.left))
        if not data:
            raise RuntimeError("the process generating rows stopped")
        self.left -= len(data)
        return data


def _read_exactly(fd: int, size: int) -> bytes:
    parts = []
    while size:
        data = os.read(fd, size)
        if not data:
            raise RuntimeError("the process generating rows stopped")
        parts.append(data)
        size -= len(data)
    return b"".join(parts)


def _child_main(write_end: int, read_end: int, plan: _Plan, writers: dict) -> None:
    os.close(read_end)
    cpu = time.process_time()
    index = {table: position for position, table in enumerate(writers)}
    pending: queue.Queue = queue.Queue(maxsize=8)

    def send() -> None:
        # os.write releases the GIL: the main thread goes on making rows.
        while (item := pending.get()) is not None:
            for part in item:
                view = memoryview(part)
                while view:
                    view = view[os.write(write_end, view) :]
        os.close(write_end)

    sender = threading.Thread(target=send)
    sender.start()
    try:
        for table, rows in _blocks(plan):
            data = writers[table].copy_text(rows)
            pending.put((_HEADER.pack(index[table], len(rows), len(data)), data))
    except BaseException:  # noqa: BLE001 - reported to the parent, which raises it
        detail = traceback.format_exc().encode()
        pending.put((_HEADER.pack(_FAILED, 0, len(detail)), detail))
    else:
        spent = repr(time.process_time() - cpu).encode()
        pending.put((_HEADER.pack(_DONE, 0, len(spent)), spent))
    pending.put(None)
    sender.join()


def _blocks(plan: _Plan) -> Iterator[tuple[str, list[tuple]]]:
    """Every row of the catalog, as (table, rows) blocks: the users, then for each chunk
    of projects its releases, packages, search terms, classifier links, maintainers and
    files. Foreign keys are checked after the load, so the order of the tables does not
    matter; the order of the random draws does (same seed, same catalog)."""
    rng = random.Random(plan.seed)
    yield "users", _user_rows(rng, plan.user_ids, plan.password)
    names: set[str] = set()
    for start in range(0, plan.projects, plan.chunk):
        releases, packages, links, roles, files = [], [], [], [], []
        _release_rows(
            rng,
            range(start, min(plan.projects, start + plan.chunk)),
            releases,
            packages,
            links,
            roles,
            files,
            names=names,
            plan=plan,
        )
        yield "releases", releases
        yield "packages", packages
        yield "search terms", _search_terms(plan, packages)
        yield "classifiers", links
        yield "maintainers", roles
        yield "files", files


def _user_rows(rng: random.Random, user_ids: list[int], password: str) -> list[tuple]:
    rows = []
    for user_id in user_ids:
        first, last = rng.choice(FIRST), rng.choice(LAST)
        username = f"{first.lower()}{last.lower()}{user_id}"
        joined = BASE_DATE + timedelta(days=rng.randint(0, 6000))
        rows.append((user_id, username, first, last, f"{username}@example.org", password, joined))
    return rows


def _search_terms(plan: _Plan, packages: list[tuple]) -> list[tuple] | list[str]:
    """The search term rows of these packages; on PostgreSQL as COPY text.

    Four million rows of two values at 100,000 projects: as text each package's
    terms are one ``join``. A term that COPY would have to escape (none that
    ``package_terms`` makes) sends the block through the writer's escaping.
    """
    if not plan.copy_lines:
        return list(_search_term_rows(plan.term_columns, packages))
    lines, count = [], 0
    for row in packages:
        package_id, name, display, summary, keywords = (row[i] for i in plan.term_columns)
        terms = package_terms(name=name, display_name=display, summary=summary, keywords=keywords)
        if terms:
            end = f"\t{package_id}\n"
            lines.append(end.join(terms) + end)
            count += len(terms)
    text = "".join(lines)
    if text.count("\t") == text.count("\n") == count and "\\" not in text and "\r" not in text:
        return [text]
    return list(_search_term_rows(plan.term_columns, packages))


def _search_term_rows(columns: list[int], packages: list[tuple]) -> Iterator[tuple]:
    """The search terms of package rows (``columns``: where their sources are)."""
    for row in packages:
        package_id, name, display, summary, keywords = (row[i] for i in columns)
        for term in package_terms(
            name=name, display_name=display, summary=summary, keywords=keywords
        ):
            yield term, package_id


def _below5(getrandbits: Callable[[int], int]) -> int:
    """``rng.randint(6, 10) - 6``, drawn as ``random.Random._randbelow`` draws it."""
    value = getrandbits(3)
    while value >= 5:
        value = getrandbits(3)
    return value


def _plain_requires(
    plain_versions: dict[str, bool], version: str, requires_python: str
) -> tuple[str, str] | None:
    """Requires-Python's forms in the entry templates when a file of this version (of a
    project whose module is plain) takes them (``_template_requires``), else None."""
    plain = plain_versions.get(version)
    if plain is None:
        plain = plain_versions[version] = _PLAIN.fullmatch(version) is not None
    return _requires_forms(requires_python) if plain else None


def _release_rows(
    rng: random.Random,
    indexes: range,
    releases: list,
    packages: list,
    links: list,
    roles: list,
    files: list,
    *,
    names: set[str],
    plan: _Plan,
) -> None:
    """The rows of these projects, appended to the lists (release rows to ``releases``)."""
    ids, user_ids, license_ids = plan.ids, plan.user_ids, plan.license_ids
    file_row = plan.file_row
    classifier_ids = plan.classifier_ids
    span = (END_DATE - BASE_DATE).total_seconds()
    pythons = [f"3.{minor}" for minor in range(6, 13)]
    # Parsing a version costs more than the rest of its row; histories share most.
    version_fields: dict[str, tuple[str, bool]] = {}
    draw, getrandbits = rng.random, rng.getrandbits
    end = int((END_DATE - BASE_DATE).total_seconds())
    wide, narrow, sizes = 1.7 - 0.3, 0.95 - 0.05, 15.5 - 8.5
    requirements = [f">=3.{minor}" for minor in range(6, 11)]
    sha256, exp = hashlib.sha256, math.exp
    next_release = ids[Release]
    # COPY rows (binary, latin-1 characters): a release's row and the rows of files
    # whose names (their project's module and version) are plain are made here, in
    # one join each, from parts shared by a package's releases or a release's files
    # (a version's texts once per distinct version, times from the day's and the
    # second's text); the other files take file_row.
    copy_lines = plan.copy_lines
    release_writer, file_writer = plan.release_writer, plan.file_writer
    plain_versions: dict[str, bool] = {}
    copy_versions: dict[str, str] = {}
    times = _SeedTimes()
    lengths = _Lengths()
    true, false = "\x00\x00\x00\x01\x01", "\x00\x00\x00\x01\x00"
    release_head = release_writer.row_head if copy_lines else ""
    release_tail = release_writer.copy_tail
    file_head, file_tail = (file_writer.row_head, file_writer.copy_tail) if copy_lines else ("", "")
    no_reason, broken = binary_text(""), binary_text("Broken build")
    kinds = [
        (binary_text("sdist") + binary_text("source"), "sdist", "source", ".tar.gz"),
        (
            binary_text("bdist_wheel") + binary_text("py3"),
            "bdist_wheel",
            "py3",
            "-py3-none-any.whl",
        ),
    ]
    requirement_texts = {value: binary_text(value) for value in ["", *requirements]}
    for index in indexes:
        package_id = ids[Package]
        ids[Package] += 1
        display = _project_name(rng, names, index)
        name = canonicalize_name(display)
        module = name.replace("-", "_")
        plain_module = copy_lines and _PLAIN.fullmatch(module) is not None
        summary = f"{rng.choice(['A', 'The', 'Minimal'])} {name.replace('-', ' ')} library"
        if copy_lines:
            package_part, summary_part = binary_bigint(package_id), binary_text(summary)
        owner = rng.choice(user_ids)
        license_index = rng.choices(range(len(license_ids)), weights=LICENSE_WEIGHTS)[0]
        created = BASE_DATE + timedelta(seconds=int(rng.random() * span * 0.95))
        fields = {
            "display": display,
            "name": name,
            "module": module,
            "summary": summary,
            "docs": f"https://{name}.readthedocs.io/",
            "verb": rng.choice(VERBS),
            "feature1": rng.choice(FEATURES),
            "feature2": rng.choice(FEATURES),
            "python": rng.choice(pythons),
        }
        description = DESCRIPTION_MD.format(underline="", **fields)
        packages.append(
            (
                package_id,
                name,
                display,
                summary,
                description,
                "text/markdown",
                # COPY skips save(), which renders it for every other write.
                _description_html(fields),
                ",".join(sorted({rng.choice(WORDS_B) for _ in range(2)})),
                f"https://example.org/{name}",
                {"Source": f"https://example.org/{name}/src"},
                "",
                f"owner{owner}@example.org",
                license_ids[license_index],
                created,
                created,  # updated: its newest release, set below
            )
        )
        chosen = {rng.choice(STATUS), LICENSES[license_index][2]}
        chosen.update(rng.sample(PYTHONS, rng.randint(0, 3)))
        chosen.update(rng.sample(TOPICS, rng.randint(0, 2)))
        links.extend((package_id, classifier_ids[c]) for c in sorted(chosen))
        roles.append((package_id, owner, Maintainer.Role.OWNER.value, created))
        if rng.random() < 0.3:
            other = rng.choice(user_ids)
            if other != owner:
                roles.append((package_id, other, Maintainer.Role.MAINTAINER.value, created))
        history = version_history(rng, _release_count(rng), legacy=rng.random() < 0.05)
        # Times as whole seconds after BASE_DATE (what every seeded time is): the
        # same values as datetime arithmetic, a datetime made only where one is kept.
        at = int((created - BASE_DATE).total_seconds())
        step = (end - at) / (len(history) + 1)
        old_releases = len(history) * 0.2
        for position, version in enumerate(history):
            release_id = next_release
            next_release += 1
            # Never past (nor at) the end date: capped steps would give thousands of
            # projects the same last-change time, which PyPI never has. (The draws are
            # rng.uniform's, inlined: a + (b - a) * random().)
            left = end - at
            advance = min(step * (0.3 + wide * draw()), left * (0.05 + narrow * draw()))
            at += int(advance)
            parsed = version_fields.get(version)
            if parsed is None:
                parsed = version_fields[version] = release_version_fields(version)
            sort_key, prerelease = parsed
            yanked = draw() < 0.01
            requires = requirements[_below5(getrandbits)] if draw() < 0.6 else ""
            # Old releases of long histories often have no files left.
            old = position < old_releases
            file_count = 0 if old and draw() < 0.5 else 1 + (draw() < 0.6)
            if copy_lines:
                version_part = copy_versions.get(version)
                if version_part is None:
                    version_part = copy_versions[version] = binary_text(version) + binary_text(
                        sort_key
                    )
                # The first upload of its files: unknown for a release without any.
                stamp = times.binary(at) if file_count else _NULL
                releases.append(
                    "".join(
                        (
                            release_head,
                            binary_bigint(release_id),
                            package_part,
                            version_part,
                            true if prerelease else false,
                            true if yanked else false,
                            broken if yanked else no_reason,
                            requirement_texts[requires],
                            summary_part,
                            stamp,
                            release_tail,
                        )
                    )
                )
                moment = None
            else:
                moment = BASE_DATE + timedelta(seconds=at) if file_count else None
                releases.append(
                    (
                        release_id,
                        package_id,
                        version,
                        sort_key,
                        prerelease,
                        yanked,
                        "Broken build" if yanked else "",
                        requires,
                        summary,
                        moment,
                    )
                )
            if not file_count:
                continue
            forms = _plain_requires(plain_versions, version, requires) if plain_module else None
            if forms is not None:
                (json_t, json_pick), (html_t, html_pick), (simple_t, simple_pick) = (
                    _percent_entry_templates(bool(forms[0]))
                )
                seconds, milliseconds = times.texts(at)
                head = file_head + binary_bigint(release_id)
                shared = requirement_texts[requires]
            for kind in range(file_count):
                kind_part, packagetype, python_version, suffix = kinds[kind]
                filename = f"{module}-{version}{suffix}"
                digest = sha256(f"{filename}:{package_id}".encode()).hexdigest()
                url = f"https://files.example.org/packages/{digest[:2]}/{digest[2:4]}/{filename}"
                size = int(exp(8.5 + sizes * draw()))
                if forms is None:
                    files.append(
                        file_row(
                            release_id,
                            filename,
                            url,
                            size,
                            packagetype,
                            python_version,
                            requires,
                            digest,
                            digest[:32],
                            moment or BASE_DATE + timedelta(seconds=at),
                        )
                    )
                    continue
                args = (
                    filename,
                    url,
                    size,
                    packagetype,
                    python_version,
                    *forms,
                    digest,
                    digest[:32],
                    seconds,
                    milliseconds,
                )
                json_entry = json_t % json_pick(args)
                simple_html = html_t % html_pick(args)
                simple_json = simple_t % simple_pick(args)
                files.append(
                    "".join(
                        (
                            head,
                            lengths[len(filename)],
                            filename,
                            lengths[len(url)],
                            url,
                            binary_bigint(size),
                            kind_part,
                            shared,
                            _SHA256_LENGTH,
                            digest,
                            _MD5_LENGTH,
                            digest[:32],
                            stamp,
                            lengths[len(json_entry)],
                            json_entry,
                            lengths[len(simple_html)],
                            simple_html,
                            lengths[len(simple_json)],
                            simple_json,
                            file_tail,
                        )
                    )
                )
        moment = BASE_DATE + timedelta(seconds=at)
        # A package was last changed by its newest release (distinct times, as on PyPI).
        packages[-1] = (*packages[-1][:-1], moment)
    ids[Release] = next_release
