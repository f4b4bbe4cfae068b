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

import hashlib
import math
import random
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from html import escape
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import transaction

from catalog.file_entries import ENTRY_FIELDS, entry_values, file_entries, iso_ms, iso_seconds
from catalog.models import (
    License,
    Maintainer,
    Package,
    Release,
    ReleaseFile,
    SearchTerm,
    User,
    release_version_fields,
)
from catalog.rendering import description_html_render
from catalog.search import package_terms
from catalog.services.bulk_load import TableWriter, checks_after_load, next_ids, sequences_reset
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


_LOADED = (Package, Release, ReleaseFile, SearchTerm, Maintainer, Package.classifiers.through)


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


@lru_cache(maxsize=2)
def _entry_templates(with_requires: bool) -> tuple[str, ...]:
    """The entries of a file whose values are the tokens, as format strings.

    Made by ``file_entries`` itself, so their shape has one definition; the
    tokens come back in the places the values go.
    """
    tokens = {**_ENTRY_TOKENS, "size": _SIZE_TOKEN, "upload_time": _TIME_TOKEN}
    if not with_requires:
        tokens["requires_python"] = ""
    entries = file_entries(entry_values(tokens))
    templates = []
    for name in ENTRY_FIELDS:
        text = entries[name].replace("{", "{{").replace("}", "}}")
        suffix = "_html" if name == "simple_html" else ""
        for field, token in _ENTRY_TOKENS.items():
            text = text.replace(token, "{" + field + suffix + "}")
        text = text.replace(str(_SIZE_TOKEN), "{size}")
        text = text.replace(iso_ms(_TIME_TOKEN), "{time_ms}")
        text = text.replace(iso_seconds(_TIME_TOKEN), "{time_seconds}")
        templates.append(text)
    return tuple(templates)


def _with_entries(release_id: int, *given: Any) -> tuple:
    """A file row with its API entries (catalog.file_entries), as ReleaseFile.save writes them.

    Seeded values are plain (names, hex digests, https URLs), so the entries
    are the token templates filled in: computing each costs 15 us a file, a
    third of a 100,000-project seed. Anything else takes ``file_entries``.
    """
    values = dict(zip(_FILE_GIVEN, given, strict=True))
    requires = values["requires_python"] or ""
    plain = all(
        _PLAIN.fullmatch(values[field]) for field in _ENTRY_TOKENS if field != "requires_python"
    )
    # JSON writes a requirement as it is when it is printable ASCII without a quote
    # or a backslash; HTML escapes it (">=" becomes "&gt;=").
    json_plain = requires.isascii() and requires.isprintable()
    json_plain = json_plain and '"' not in requires and "\\" not in requires
    if not plain or not json_plain:
        entries = file_entries(entry_values(values))
        return (release_id, *given, *(entries[name] for name in ENTRY_FIELDS))
    fields = {
        **values,
        **{f"{field}_html": values[field] for field in _ENTRY_TOKENS},
        "requires_python_html": escape(requires),
        "time_seconds": iso_seconds(values["upload_time"]),
        "time_ms": iso_ms(values["upload_time"]),
    }
    return (
        release_id,
        *given,
        *(template.format_map(fields) for template in _entry_templates(bool(requires))),
    )


class _Writers:
    def __init__(self) -> None:
        self.users = TableWriter(
            User,
            ["id", "username", "first_name", "last_name", "email", "password", "date_joined"],
        )
        self.packages = TableWriter(
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
        )
        self.search_terms = TableWriter(SearchTerm, ["term", "package_id"])
        self.classifier_links = TableWriter(
            Package.classifiers.through, ["package_id", "classifier_id"]
        )
        self.maintainers = TableWriter(Maintainer, ["package_id", "user_id", "role", "created"])
        self.releases = TableWriter(
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
        )
        self.files = TableWriter(ReleaseFile, ["release_id", *_FILE_GIVEN, *ENTRY_FIELDS])


def catalog_seed_pypi(
    *, projects: int, seed: int, if_empty: bool = False, chunk: int = CHUNK_PROJECTS
) -> SeedResult:
    """Build a PyPI-shaped catalog of ``projects`` projects; refuse a non-empty catalog."""
    started = time.perf_counter()
    skipped = catalog_empty_check(if_empty=if_empty)
    if skipped is not None:
        return skipped
    rng = random.Random(seed)
    result = SeedResult()
    with transaction.atomic():
        licenses, classifiers = vocabulary_ensure()
        classifier_ids = {name: classifier.pk for name, classifier in classifiers.items()}
        result.licenses, result.classifiers = len(licenses), len(classifier_ids)
        writers = _Writers()
        ids = next_ids(User, Package, Release)
        user_count = max(3, projects // 2)
        user_ids = list(range(ids[User], ids[User] + user_count))
        result.users = _users_write(rng, writers, user_ids, seed)
        names: set[str] = set()
        with checks_after_load(_LOADED):
            for start in range(0, projects, chunk):
                counts = _chunk_write(
                    rng,
                    writers,
                    range(start, min(projects, start + chunk)),
                    names=names,
                    ids=ids,
                    user_ids=user_ids,
                    licenses=licenses,
                    classifier_ids=classifier_ids,
                )
                for key, value in counts.items():
                    setattr(result, key, getattr(result, key) + value)
        sequences_reset(User, Package, Release, ReleaseFile, Maintainer)
    planner_statistics_refresh()
    result.seconds = round(time.perf_counter() - started, 3)
    return result


def _users_write(rng: random.Random, writers: _Writers, user_ids: list[int], seed: int) -> int:
    # One real hash shared by all seeded users: hashing per user would dominate the run.
    password = make_password(f"seed-{seed}")
    rows = []
    for user_id in user_ids:
        first, last = rng.choice(FIRST), rng.choice(LAST)
        username = f"{first.lower()}{last.lower()}{user_id}"
        joined = BASE_DATE + timedelta(days=rng.randint(0, 6000))
        rows.append((user_id, username, first, last, f"{username}@example.org", password, joined))
    for start in range(0, len(rows), 20000):
        writers.users.write(rows[start : start + 20000])
    return len(rows)


def _chunk_write(rng: random.Random, writers: _Writers, indexes: range, **context) -> dict:
    """One chunk of projects. Release rows stream into COPY as they are drawn; the
    other tables' rows, collected on the way, follow (foreign keys are checked at
    commit, so the order of the tables does not matter)."""
    packages, links, roles, files = [], [], [], []
    releases = writers.releases.write(
        _release_rows(rng, indexes, packages, links, roles, files, **context)
    )
    writers.packages.write(packages)
    writers.search_terms.write(_search_term_rows(writers.packages, packages))
    writers.classifier_links.write(links)
    writers.maintainers.write(roles)
    writers.files.write(files)
    return {
        "packages": len(packages),
        "releases": releases,
        "files": len(files),
        "maintainers": len(roles),
    }


def _search_term_rows(writer: TableWriter, packages: list[tuple]) -> Iterator[tuple]:
    """The search terms of package rows written by ``writer``."""
    at = {field.attname: index for index, field in enumerate(writer.fields)}
    columns = [at[name] for name in ("id", "name", "display_name", "summary", "keywords")]
    for row in packages:
        package_id, name, display, summary, keywords = (row[i] for i in columns)
        for term in package_terms(
            name=name, display_name=display, summary=summary, keywords=keywords
        ):
            yield term, package_id


def _release_rows(
    rng: random.Random,
    indexes: range,
    packages: list,
    links: list,
    roles: list,
    files: list,
    *,
    names: set[str],
    ids: dict,
    user_ids: list[int],
    licenses: list[License],
    classifier_ids: dict[str, int],
) -> Iterator[tuple]:
    span = (END_DATE - BASE_DATE).total_seconds()
    pythons = [f"3.{minor}" for minor in range(6, 13)]
    for index in indexes:
        package_id = ids[Package]
        ids[Package] += 1
        display = _project_name(rng, names, index)
        name = canonicalize_name(display)
        module = name.replace("-", "_")
        summary = f"{rng.choice(['A', 'The', 'Minimal'])} {name.replace('-', ' ')} library"
        owner = rng.choice(user_ids)
        license_index = rng.choices(range(len(licenses)), weights=LICENSE_WEIGHTS)[0]
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
                licenses[license_index].pk,
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
        step = (END_DATE - created).total_seconds() / (len(history) + 1)
        moment = created
        for position, version in enumerate(history):
            release_id = ids[Release]
            ids[Release] += 1
            # Never past (nor at) the end date: capped steps would give thousands of
            # projects the same last-change time, which PyPI never has.
            left = (END_DATE - moment).total_seconds()
            advance = min(step * rng.uniform(0.3, 1.7), left * rng.uniform(0.05, 0.95))
            moment += timedelta(seconds=int(advance))
            sort_key, prerelease = release_version_fields(version)
            yanked = rng.random() < 0.01
            requires = f">=3.{rng.randint(6, 10)}" if rng.random() < 0.6 else ""
            # Old releases of long histories often have no files left.
            old = position < len(history) * 0.2
            file_count = 0 if old and rng.random() < 0.5 else 1 + (rng.random() < 0.6)
            yield (
                release_id,
                package_id,
                version,
                sort_key,
                prerelease,
                yanked,
                "Broken build" if yanked else "",
                requires,
                summary,
                # The first upload of its files: unknown for a release without any.
                moment if file_count else None,
            )
            for kind in range(file_count):
                suffix = ".tar.gz" if kind == 0 else "-py3-none-any.whl"
                filename = f"{module}-{version}{suffix}"
                digest = hashlib.sha256(f"{filename}:{package_id}".encode()).hexdigest()
                files.append(
                    _with_entries(
                        release_id,
                        filename,
                        f"https://files.example.org/packages/{digest[:2]}/{digest[2:4]}/{filename}",
                        int(math.exp(rng.uniform(8.5, 15.5))),
                        "sdist" if kind == 0 else "bdist_wheel",
                        "source" if kind == 0 else "py3",
                        requires,
                        digest,
                        digest[:32],
                        moment,
                    )
                )
        # A package was last changed by its newest release (distinct times, as on PyPI).
        packages[-1] = (*packages[-1][:-1], moment)
