"""The PyPI-shaped seeding profile: shape, determinism, and rows the ORM accepts."""

import json
import os
import sqlite3
import statistics
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, Max

from catalog.file_entries import ENTRY_FIELDS
from catalog.models import Maintainer, Package, Release, ReleaseFile
from catalog.services.seed import CatalogNotEmpty
from catalog.services.seed_pypi import catalog_seed_pypi
from catalog.services.seed_vocabulary import END_DATE
from catalog.versions import parse_version

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.django_db


def test_catalog_has_pypi_shape():
    result = catalog_seed_pypi(projects=1500, seed=4)
    assert result.packages == Package.objects.count() == 1500
    assert result.releases == Release.objects.count()
    assert result.files == ReleaseFile.objects.count()
    counts = sorted(Package.objects.annotate(n=Count("releases")).values_list("n", flat=True))
    # Long-tailed around PyPI's mean of about 11 releases per project.
    assert 7 <= statistics.mean(counts) <= 16
    assert statistics.median(counts) <= 6
    assert counts[0] >= 1 and counts[-1] >= 150
    versions = list(Release.objects.values_list("version", flat=True))
    assert any(parse_version(v).is_legacy for v in versions)
    assert Release.objects.filter(is_prerelease=True).exists()
    assert Release.objects.filter(yanked=True).exists()
    # A release without files has no known upload time; the others do.
    assert Release.objects.filter(files__isnull=True).exists()
    assert not Release.objects.filter(files__isnull=True, created__isnull=False).exists()
    assert not Release.objects.filter(files__isnull=False, created__isnull=True).exists()
    # Packages were last changed by their newest release, each at its own time.
    newest = dict(
        Release.objects.values("package__name")
        .annotate(m=Max("created"))
        .values_list("package__name", "m")
    )
    updated = dict(Package.objects.values_list("name", "updated"))
    dated = {n: m for n, m in newest.items() if m}
    assert all(updated[n] == m for n, m in dated.items()) and len(dated) > 0.7 * len(updated)
    # Each at its own time, none piled up at the end date (newest lists read ties).
    assert len(set(updated.values())) >= 0.99 * len(updated)
    assert max(updated.values()) < END_DATE
    assert Maintainer.objects.filter(role="owner").count() == 1500
    for release in Release.objects.order_by("?")[:300]:
        assert release.sort_key == parse_version(release.version).sort_key
        assert release.is_prerelease == parse_version(release.version).is_prerelease


def test_same_seed_same_catalog_and_the_orm_carries_on():
    catalog_seed_pypi(projects=40, seed=9)
    first = list(
        Release.objects.order_by("package__name", "sort_key").values_list(
            "package__name", "version", "created"
        )
    )
    Package.objects.all().delete()
    catalog_seed_pypi(projects=40, seed=9)
    again = list(
        Release.objects.order_by("package__name", "sort_key").values_list(
            "package__name", "version", "created"
        )
    )
    assert again == first
    # Explicit ids moved the sequences on: ORM inserts after a seed do not collide.
    package = Package.objects.create(display_name="after-seed")
    release = Release.objects.create(package=package, version="1.0")
    assert ReleaseFile.objects.create(
        release=release, filename="after_seed-1.0.tar.gz", packagetype="sdist", sha256="0" * 64
    ).pk
    # Columns the generator leaves alone carry their model defaults.
    seeded = Package.objects.exclude(pk=package.pk).first()
    assert seeded.last_serial == 0 and seeded.updated is not None


def test_without_fork_the_rows_are_made_in_process_and_are_the_same(monkeypatch):
    """Where ``fork`` is missing (Windows) the command makes the rows itself."""
    import multiprocessing

    def rows():
        return (
            list(Release.objects.order_by("pk").values_list("pk", "version", "created")),
            list(ReleaseFile.objects.order_by("pk").values_list("filename", "json_entry")),
        )

    catalog_seed_pypi(projects=40, seed=6)
    forked = rows()
    Package.objects.all().delete()
    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    catalog_seed_pypi(projects=40, seed=6)
    here = rows()
    # Ids go on from the first load; everything else is the same.
    assert [r[1:] for r in here[0]] == [r[1:] for r in forked[0]] and here[1] == forked[1]


def test_seeded_descriptions_carry_what_a_full_render_gives():
    from catalog.rendering import description_html_render

    catalog_seed_pypi(projects=200, seed=5)
    rows = Package.objects.values_list(
        "name", "description", "description_content_type", "description_html"
    )
    assert len(rows) == 200
    for name, text, content_type, stored in rows:
        assert stored == description_html_render(text, content_type), name
        assert name in stored


def test_command_json_report_and_refusals():
    out = StringIO()
    call_command("seed_catalog", "--profile", "pypi", "--packages", "20", "--json", stdout=out)
    report = json.loads(out.getvalue())
    assert report["packages"] == 20 and report["releases"] == Release.objects.count()
    with pytest.raises(CatalogNotEmpty):
        catalog_seed_pypi(projects=5, seed=1)
    with pytest.raises(CommandError, match="--audit needs --profile classic"):
        call_command("seed_catalog", "--profile", "pypi", "--audit", stdout=StringIO())


def test_command_prints_rate_and_stages():
    out = StringIO()
    call_command("seed_catalog", "--profile", "pypi", "--packages", "30", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("Seeded 30 packages")
    assert lines[1].endswith(".") and "releases/s. Stages: " in lines[1]
    stages = dict(part.rsplit(" ", 2)[:2] for part in lines[1].split("Stages: ")[1].split(", "))
    assert {"copy releases", "copy files", "copy search terms", "analyze"} <= set(stages)
    Package.objects.all().delete()
    out = StringIO()
    call_command("seed_catalog", "--profile", "pypi", "--packages", "30", "-v", "2", stdout=out)
    from django.db import connection

    if connection.vendor == "postgresql":
        # What was built after the load, slowest first: the search terms' key among them.
        assert "Built after the load: " in out.getvalue()
        assert "catalog_searchterm_pkey" in out.getvalue()


def test_loaded_tables_are_all_visible_at_once():
    """COPY FREEZE into the truncated empty tables: index-only scans skip the table rows
    straight after the seed, without waiting for a VACUUM."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("COPY FREEZE and the visibility map are PostgreSQL's")
    catalog_seed_pypi(projects=300, seed=2)
    tables = [m._meta.db_table for m in (Package, Release, ReleaseFile, Maintainer)]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, relpages, relallvisible FROM pg_class WHERE relname = ANY(%s)",
            [[*tables, "catalog_searchterm"]],
        )
        rows = cursor.fetchall()
    assert len(rows) == 5
    for name, pages, visible in rows:
        assert pages > 0 and visible == pages, name


def test_wide_package_rows_are_compressed_with_lz4_where_the_server_has_it():
    """A package row with its rendered description is too wide to stay inline: the load
    compresses it with lz4 (cheaper to write and to read than the default pglz)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("TOAST compression is PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
        )
        if not cursor.fetchone()[0]:
            pytest.skip("this server has no lz4")
        catalog_seed_pypi(projects=30, seed=10)
        cursor.execute(
            "SELECT DISTINCT pg_column_compression(description_html) FROM catalog_package "
            "WHERE pg_column_compression(description_html) IS NOT NULL"
        )
        assert cursor.fetchall() == [("lz4",)]
        cursor.execute("SHOW default_toast_compression")
        seeded_in = cursor.fetchone()[0]
    # The rendered descriptions read back whole.
    for name, html in Package.objects.values_list("name", "description_html"):
        assert name in html, name
    assert seeded_in == "lz4"  # for the load's transaction (here the test's) only


@pytest.mark.django_db(transaction=True)
def test_every_loaded_table_has_planner_statistics_after_a_committed_seed():
    """After the load commits, ANALYZE runs on two connections (the files' table on its
    own): every loaded table has its statistics when the seed returns."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("planner statistics are PostgreSQL's")
    catalog_seed_pypi(projects=60, seed=8)
    tables = [m._meta.db_table for m in (Package, Release, ReleaseFile, Maintainer)]
    tables += ["catalog_user", "catalog_searchterm", Package.classifiers.through._meta.db_table]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename, count(*) FROM pg_stats WHERE tablename = ANY(%s) GROUP BY tablename",
            [tables],
        )
        analyzed = dict(cursor.fetchall())
    assert set(analyzed) == set(tables)


@pytest.mark.slow
def test_command_on_sqlite(tmp_path):
    database = tmp_path / "pypi.sqlite3"
    # The session's MongoDB (MONGODB_URI) is kept: the suite never uses the local server.
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update({"DATABASE_URL": f"sqlite:///{database}", "SECRET_KEY": "x", "DEBUG": "1"})
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=300)
    seeded = subprocess.run(
        [*manage, "seed_catalog", "--profile", "pypi", "--packages", "300"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert seeded.returncode == 0, seeded.stderr
    assert seeded.stdout.startswith("Seeded 300 packages")
    with sqlite3.connect(database) as db:
        assert db.execute("select count(*) from catalog_package").fetchone() == (300,)
        (created,) = db.execute(
            "select created from catalog_release where created is not null limit 1"
        ).fetchone()
        assert created.startswith(("20", "19"))  # Django's SQLite datetime text
        (urls,) = db.execute("select project_urls from catalog_package limit 1").fetchone()
        assert json.loads(urls)["Source"].startswith("https://")


def _schema(cursor) -> set[tuple]:
    tables = [m._meta.db_table for m in (Package, Release, ReleaseFile, Maintainer)]
    tables += ["catalog_searchterm", Package.classifiers.through._meta.db_table]
    cursor.execute(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = ANY(%s::regclass[])",
        [tables],
    )
    constraints = set(cursor.fetchall())
    cursor.execute(
        "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index "
        "WHERE indrelid = ANY(%s::regclass[])",
        [tables],
    )
    return constraints | set(cursor.fetchall())


def test_foreign_keys_and_indexes_built_after_the_load_are_the_ones_django_made():
    from django.db import IntegrityError, connection

    if connection.vendor != "postgresql":
        pytest.skip("the load drops and rebuilds them on PostgreSQL only")
    with connection.cursor() as cursor:
        before = _schema(cursor)
        assert any("FOREIGN KEY" in str(row) for row in before)
        catalog_seed_pypi(projects=50, seed=3)
        assert _schema(cursor) == before
    # The rebuilt foreign keys check again: a release of a missing package is refused.
    with pytest.raises(IntegrityError), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(
            "INSERT INTO catalog_release (package_id, version, sort_key, is_prerelease, "
            "yanked, summary, comment, updated) "
            "VALUES (987654321, '1.0', 'x', false, false, '', '', now())"
        )


def test_seeded_files_carry_the_api_entries_a_saved_file_would(client, settings):
    catalog_seed_pypi(projects=40, seed=7)
    settings.CATALOG_PAGE_CACHE = False
    release = Release.objects.filter(files__isnull=False).order_by("pk").first()
    stored = ReleaseFile.objects.filter(release=release).order_by("filename").first()
    project = client.get(f"/pypi/{release.package.name}/json").json()
    served = next(
        f for f in project["releases"][release.version] if f["filename"] == stored.filename
    )
    assert served["digests"]["sha256"] == stored.sha256
    assert served["size"] == stored.size and served["url"] == stored.url
    # Saving the file again recomputes its entries: the seeder wrote the same ones.
    entries = (stored.json_entry, stored.simple_html, stored.simple_json)
    stored.save()
    stored.refresh_from_db()
    assert (stored.json_entry, stored.simple_html, stored.simple_json) == entries


@pytest.mark.parametrize(
    "requires", [None, "", ">=3.8", "!=3.0.*,<4", "<4 ; 'x'", '>="3"', "≥3", "a\\b"]
)
@pytest.mark.parametrize("filename", ["demo_pkg-1.0.tar.gz", "d-2004b-py3-none-any.whl", "a&b.zip"])
def test_seeded_entries_are_what_file_entries_computes(requires, filename):
    """The seeder fills templates made by file_entries; the two agree for every kind of value,
    the ones that need escaping (which take file_entries itself) included."""
    from datetime import UTC, datetime

    from catalog.file_entries import ENTRY_FIELDS, entry_values, file_entries
    from catalog.services.seed_pypi import _file_line, _with_entries, _writers

    given = (
        filename,
        f"https://files.example.org/packages/ab/cd/{filename}",
        123456,
        "sdist",
        "source",
        requires,
        "a" * 64,
        "b" * 32,
        datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC),
    )
    row = _with_entries(17, *given)
    fields = ("filename", "url", "size", "packagetype", "python_version", "requires_python")
    values = dict(zip((*fields, "sha256", "md5", "upload_time"), given, strict=True))
    expected = file_entries(entry_values(values))
    assert row[: len(given) + 1] == (17, *given)
    assert dict(zip(ENTRY_FIELDS, row[len(given) + 1 :], strict=True)) == expected
    # On PostgreSQL a file that is not plain takes the writer's binary row of it.
    writer = _writers()["files"]
    if writer.postgres:
        assert _file_line(writer, 17, *given) == writer.binary_row(row)


def test_copy_rows_made_in_one_step_are_what_the_writers_make_of_the_rows():
    """On PostgreSQL the generator makes release and file rows as binary COPY rows (and a
    package's search terms as COPY text) in one step, from shared parts; each block is
    what the writers make of the tuples the other databases get, byte for byte."""
    from django.db import connection

    from catalog.services.seed import vocabulary_ensure
    from catalog.services.seed_pypi import _blocks, _plan, _writers

    if connection.vendor != "postgresql":
        pytest.skip("COPY is PostgreSQL's")
    licenses, classifiers = vocabulary_ensure()
    writers = _writers()
    assert writers["files"].binary and writers["releases"].binary

    def blocks(copy_lines):
        plan = _plan(
            projects=400,
            seed=12,
            chunk=150,
            writers=writers,
            licenses=licenses,
            classifiers=classifiers,
            password="not-hashed",
            copy_lines=copy_lines,
        )
        return [(table, writers[table].copy_text(rows)) for table, rows in _blocks(plan)]

    made, from_tuples = blocks(True), blocks(False)
    assert [table for table, _data in made] == [table for table, _data in from_tuples]
    assert {"releases", "files", "search terms"} <= {table for table, _data in made}
    for (table, data), (_table, expected) in zip(made, from_tuples, strict=True):
        assert data == expected, table


def test_binary_copy_writes_what_it_is_given():
    """Binary COPY rows: NULL, booleans, non-ASCII text, aware times in another zone and
    with microseconds come back as written."""
    from datetime import UTC, datetime, timedelta, timezone

    from django.db import connection

    from catalog.services.bulk_load import TableWriter
    from catalog.services.seed_pypi import _FILE_GIVEN, _with_entries

    if connection.vendor != "postgresql":
        pytest.skip("COPY is PostgreSQL's")
    package = Package.objects.create(display_name="binary-copy")
    releases = TableWriter(
        Release,
        ["id", "package_id", "version", "sort_key", "is_prerelease", "yanked", "created"],
        binary=True,
    )
    zone = timezone(timedelta(hours=-5))
    created = datetime(2021, 3, 4, 5, 6, 7, 891011, tzinfo=zone)
    releases.write(
        [
            (987001, package.pk, "1.0", "a", False, True, created),
            (987002, package.pk, "2.0b1", "b", True, False, None),
        ]
    )
    rows = Release.objects.filter(package=package).order_by("pk")
    assert list(rows.values_list("pk", "version", "is_prerelease", "yanked", "created")) == [
        (987001, "1.0", False, True, created.astimezone(UTC)),
        (987002, "2.0b1", True, False, None),
    ]
    files = TableWriter(ReleaseFile, ["release_id", *_FILE_GIVEN, *ENTRY_FIELDS], binary=True)
    row = _with_entries(
        987001,
        "ünïcode-1.0.tar.gz",
        "https://files.example.org/ünïcode-1.0.tar.gz",
        12345678901,
        "sdist",
        "source",
        None,
        "c" * 64,
        "d" * 32,
        created,
    )
    files.write([row])
    stored = ReleaseFile.objects.get(release_id=987001)
    values = [getattr(stored, name) for name in ("release_id", *_FILE_GIVEN, *ENTRY_FIELDS)]
    assert values == [*row[:9], created.astimezone(UTC), *row[10:]]
    # The defaults of the columns not given, as the ORM fills them.
    assert (stored.has_sig, stored.yanked, stored.blake2b_256) == (False, False, "")


@pytest.mark.parametrize("at", [0, 1, 59, 3599, 86399, 86400, 123456789, 577411199])
def test_seeded_times_are_what_the_iso_forms_and_binary_copy_write(at):
    """Release and file rows carry times made from a day's and a second's text."""
    from datetime import timedelta

    from catalog.file_entries import iso_ms, iso_seconds
    from catalog.services.bulk_load import binary_timestamp
    from catalog.services.seed_pypi import _SeedTimes
    from catalog.services.seed_vocabulary import BASE_DATE

    moment = BASE_DATE + timedelta(seconds=at)
    times = _SeedTimes()
    assert times.texts(at) == (iso_seconds(moment), iso_ms(moment))
    # From its caches the second time.
    assert times.texts(at) == (iso_seconds(moment), iso_ms(moment))
    assert times.binary(at) == binary_timestamp(moment)
