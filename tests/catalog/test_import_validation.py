"""Hostile import documents: each is refused at the door, named by file, field and reason.

Every case imports a bad document and a good one: the bad one is reported and
nothing of it is written, the good one is imported, the exit code is 1. The
suite runs on SQLite (``uv run pytest``) and PostgreSQL (``scripts/test``),
where a NUL character or an integer of 2**63 would otherwise reach the
database and abort the run.
"""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from catalog.models import Package, Release, ReleaseFile
from tests.catalog.factories import pypi_document

pytestmark = pytest.mark.django_db


def run(*paths: Path) -> tuple[dict, bool]:
    out = StringIO()
    try:
        call_command("import_pypi", *map(str, paths), "--json", stdout=out, stderr=StringIO())
        failed = False
    except CommandError:
        failed = True
    return json.loads(out.getvalue()), failed


def with_file(**overrides) -> dict:
    document = pypi_document(versions=("1.0",))
    document["releases"]["1.0"][0].update(overrides)
    return document


def with_info(**overrides) -> dict:
    document = pypi_document()
    document["info"].update(overrides)
    return document


def with_release(version: str) -> dict:
    document = pypi_document(versions=("1.0",))
    document["releases"][version] = []
    return document


def nested(depth: int) -> dict:
    document = pypi_document()
    value: list = []
    for _ in range(depth):
        value = [value]
    document["vulnerabilities"] = value
    return document


HOSTILE = {
    "nul in summary": (with_info(summary="a\x00b"), "info.summary", "NUL character"),
    "nul in classifier": (
        with_info(classifiers=["Topic :: a\x00b"]),
        "info.classifiers[0]",
        "NUL character",
    ),
    "lone surrogate": ('{"info": {"name": "x", "author": "\\ud800"}}', "info.author", "surrogate"),
    "size of 2**63": (with_file(size=2**63), "releases['1.0'][0].size", "out of range"),
    "negative size": (with_file(size=-1), "releases['1.0'][0].size", "out of range"),
    "serial of 2**63": ({**pypi_document(), "last_serial": 2**63}, "last_serial", "out of range"),
    "negative serial": ({**pypi_document(), "last_serial": -5}, "last_serial", "out of range"),
    "date overflowing in UTC": (
        with_file(upload_time_iso_8601="9999-12-31T23:59:59-05:00"),
        "releases['1.0'][0].upload_time_iso_8601",
        "out of range",
    ),
    "date before year 1 in UTC": (
        with_file(upload_time_iso_8601="0001-01-01T00:00:00+01:00"),
        "releases['1.0'][0].upload_time_iso_8601",
        "out of range",
    ),
    "date that is not one": (
        with_file(upload_time_iso_8601="yesterday"),
        "releases['1.0'][0].upload_time_iso_8601",
        "not an ISO 8601",
    ),
    "JSON 100,000 levels deep": ("[" * 100_000 + "]" * 100_000, "(document)", "nested too deeply"),
    "JSON 40 levels deep": (nested(40), "(document)", "nested more than 32 levels"),
    "NaN": ('{"info": {"name": "x"}, "last_serial": NaN}', "(document)", "NaN is not"),
    "name with a slash": (pypi_document(name="evil/name"), "info.name", "not a valid project"),
    "name as a javascript link": (
        pypi_document(name="javascript:alert(origin)%2F%2F"),
        "info.name",
        "not a valid project",
    ),
    "release version with a slash": (
        with_release("../../etc"),
        "releases['../../etc']",
        "not a version",
    ),
    "release version with whitespace": (
        with_release("1.0 beta"),
        "releases['1.0 beta']",
        "not a version",
    ),
    "info version with a control character": (
        pypi_document(versions=("1.0\x1b",)),
        "info.version",
        "not a version",
    ),
    "path as a filename": (
        with_file(filename="../../etc/passwd"),
        "releases['1.0'][0].filename",
        "not a bare file name",
    ),
    "filename without a distribution extension": (
        with_file(filename="demo_pkg-1.0.exe.txt"),
        "releases['1.0'][0].filename",
        "no distribution file extension",
    ),
    "unknown package type": (
        with_file(packagetype="bdist_evil"),
        "releases['1.0'][0].packagetype",
        "not a package type",
    ),
    "javascript home page": (
        with_info(home_page="javascript:alert(1)"),
        "info.home_page",
        "scheme 'javascript'",
    ),
    "javascript project URL": (
        with_info(project_urls={"Docs": " JavaScript:alert(1)"}),
        "info.project_urls['Docs']",
        "scheme 'JavaScript'",
    ),
    "data URL for a file": (
        with_file(url="data:text/html,<script>alert(1)</script>"),
        "releases['1.0'][0].url",
        "scheme 'data'",
    ),
    "description over the limit": (
        with_info(description="x" * (512 * 1024 + 1)),
        "info.description",
        "the limit is 524288",
    ),
    "digest that is not hexadecimal": (
        with_file(digests={"sha256": "g" * 64}),
        "releases['1.0'][0].digests.sha256",
        "hexadecimal",
    ),
}


@pytest.mark.parametrize(("content", "field", "reason"), HOSTILE.values(), ids=list(HOSTILE))
def test_hostile_documents_are_refused_and_the_rest_imported(tmp_path, content, field, reason):
    bad = tmp_path / "a_bad.json"
    bad.write_text(content if isinstance(content, str) else json.dumps(content))
    good = tmp_path / "b_good.json"
    good.write_text(json.dumps(pypi_document(name="good")))

    report, failed = run(bad, good)

    assert failed  # exit code 1
    assert (report["failed"], report["imported"]) == (1, 1), report
    outcome = report["documents"][0]
    assert outcome["source"] == str(bad)
    assert outcome["field"] == field
    assert reason in outcome["reason"]
    assert list(Package.objects.values_list("name", flat=True)) == ["good"]
    assert not Release.objects.exclude(package__name="good").exists()


def test_old_placeholders_and_plain_text_links_are_accepted(tmp_path):
    # What real 2019 documents hold: "UNKNOWN" and scheme-less text are no links, and legal.
    document = with_info(download_url="UNKNOWN", home_page="example.org", platform="UNKNOWN")
    path = tmp_path / "old.json"
    path.write_text(json.dumps(document))
    report, failed = run(path)
    assert not failed and report["imported"] == 1


# --- serials: an older or serial-less document never overwrites a newer package -----------------


def _write(tmp_path: Path, name: str, document: dict) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return path


@pytest.mark.parametrize("serial", [0, None, "missing"])
def test_a_serial_less_document_never_overwrites_a_package_with_a_serial(tmp_path, serial):
    run(_write(tmp_path, "new.json", pypi_document(serial=20, summary="new")))
    old = pypi_document(summary="old", versions=("0.1",))
    if serial == "missing":
        del old["last_serial"]
    else:
        old["last_serial"] = serial

    report, failed = run(_write(tmp_path, "old.json", old))

    assert not failed and report["skipped"] == 1, report
    package = Package.objects.get()
    assert (package.summary, package.last_serial) == ("new", 20)
    assert sorted(package.releases.values_list("version", flat=True)) == ["1.0", "1.1"]


def test_an_identical_older_document_is_unchanged_not_skipped(tmp_path):
    document = pypi_document(serial=20)
    run(_write(tmp_path, "a.json", document))
    Package.objects.filter(name="demo-pkg").update(last_serial=25)  # a change made here since
    report, _ = run(_write(tmp_path, "b.json", document))
    assert report["unchanged"] == 1


def test_serial_less_documents_update_packages_that_have_no_serial_yet(tmp_path):
    first = pypi_document(serial=0, summary="one")
    run(_write(tmp_path, "a.json", first))
    assert Package.objects.get().last_serial == 0
    report, _ = run(
        _write(tmp_path, "b.json", {**first, "info": {**first["info"], "summary": "two"}})
    )
    assert report["updated"] == 1
    package = Package.objects.get()
    # The change raised the serial: from now on only documents with a serial update it.
    assert (package.summary, package.last_serial) == ("two", 1)


def test_the_serial_is_raised_by_every_change_and_never_lowered(tmp_path):
    run(_write(tmp_path, "a.json", pypi_document(serial=20)))
    package = Package.objects.get()

    package.summary = "edited here"
    package.save()
    assert Package.objects.get().last_serial == 21
    release = Release.objects.get(version="1.0")
    release.yanked = True
    release.save()
    assert Package.objects.get().last_serial == 22
    ReleaseFile.objects.filter(release=release).delete()
    assert Package.objects.get().last_serial == 23
    package = Package.objects.get()
    package.last_serial = 5  # an attempt to lower it
    package.summary = "again"
    package.save()
    assert Package.objects.get().last_serial == 24

    newer = pypi_document(serial=100)
    report, _ = run(_write(tmp_path, "b.json", newer))
    assert report["updated"] == 1
    assert Package.objects.get().last_serial == 100


# --- the same rules guard the admin's model fields ---------------------------------------------


@pytest.mark.parametrize(
    ("model", "field", "value"),
    [
        (Package, "display_name", "evil/name"),
        (Package, "home_page", "javascript:alert(1)"),
        (Package, "download_url", "data:text/html,x"),
        (Release, "version", "../../etc"),
        (ReleaseFile, "filename", "../../etc/passwd"),
        (ReleaseFile, "url", "javascript:alert(1)"),
    ],
)
def test_model_fields_refuse_what_the_import_refuses(model, field, value):
    with pytest.raises(ValidationError):
        model._meta.get_field(field).clean(value, None)


def test_admin_form_refuses_a_home_page_that_is_not_http(staff_client):
    response = staff_client.post(
        "/admin/catalog/package/add/",
        {
            "display_name": "fine",
            # Django's URL check lets ftp through; catalog.validation does not.
            "home_page": "ftp://example.org/demo",
            "project_urls": "{}",
            "classifier_order": "[]",
            "vulnerabilities": "[]",
            "last_serial": "0",
            "created_0": "2024-01-01",
            "created_1": "00:00:00",
            "roles-TOTAL_FORMS": "0",
            "roles-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert "scheme &#x27;ftp&#x27; is not allowed" in response.content.decode()
    assert not Package.objects.exists()
