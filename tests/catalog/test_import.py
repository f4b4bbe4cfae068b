import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from catalog.models import Package, Release, ReleaseFile
from tests.catalog.factories import pypi_document, pypi_file

DATA = Path(__file__).resolve().parent.parent / "data" / "pypi"

pytestmark = pytest.mark.django_db


def write(tmp_path: Path, name: str, document) -> Path:
    path = tmp_path / name
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return path


def run(*paths, json_report=True):
    """Run import_pypi --json; return (report, failed?)."""
    from io import StringIO

    out = StringIO()
    try:
        call_command("import_pypi", *map(str, paths), "--json", stdout=out, stderr=StringIO())
        failed = False
    except CommandError:
        failed = True
    return json.loads(out.getvalue()), failed


def test_imports_a_package_with_releases_and_files(tmp_path):
    report, failed = run(
        write(tmp_path, "demo.json", pypi_document(versions=("1.0", "1.1rc1", "1.1")))
    )
    assert not failed
    assert report["imported"] == 1
    package = Package.objects.get()
    assert package.name == "demo-pkg"
    assert package.display_name == "Demo_Pkg"
    assert package.license.name == "MIT"
    assert package.classifiers.count() == 2
    assert [r.version for r in package.releases.newest_first()] == ["1.1", "1.1rc1", "1.0"]
    assert package.releases.get(version="1.1rc1").is_prerelease
    assert ReleaseFile.objects.filter(release__package=package).count() == 6


def test_importing_the_same_document_twice_changes_nothing(tmp_path):
    path = write(tmp_path, "demo.json", pypi_document())
    run(path)
    before = list(Release.objects.values_list("id", "updated").order_by("id"))
    package_updated = Package.objects.get().updated
    report, failed = run(path)
    assert not failed
    assert report["unchanged"] == 1 and report["imported"] == report["updated"] == 0
    assert list(Release.objects.values_list("id", "updated").order_by("id")) == before
    assert Package.objects.get().updated == package_updated


def test_emails_are_stored_as_published_and_a_re_import_is_unchanged(tmp_path):
    document = pypi_document()
    document["info"]["author_email"] = " Ann.Lee@Example.ORG "
    document["info"]["maintainer_email"] = "Ann Lee <Ann.Lee@Example.ORG>"
    path = write(tmp_path, "demo.json", document)

    assert run(path)[0]["imported"] == 1
    package = Package.objects.get()
    # The local part of an address is case-sensitive: nothing is changed.
    assert package.author_email == " Ann.Lee@Example.ORG "
    assert package.maintainer_email == "Ann Lee <Ann.Lee@Example.ORG>"
    assert run(path)[0]["unchanged"] == 1


def test_a_newer_document_updates_exactly_what_changed(tmp_path):
    run(write(tmp_path, "v1.json", pypi_document(versions=("1.0", "1.1"), serial=10)))
    newer = pypi_document(versions=("1.1", "2.0"), serial=20, summary="Now better")
    newer["releases"]["1.1"][0]["yanked"] = True
    newer["releases"]["1.1"][1]["yanked"] = True
    newer["releases"]["1.1"][1]["yanked_reason"] = "broken"
    report, failed = run(write(tmp_path, "v2.json", newer))
    assert not failed and report["updated"] == 1
    package = Package.objects.get()
    assert package.summary == "Now better"
    assert sorted(package.releases.values_list("version", flat=True)) == ["1.1", "2.0"]
    yanked = package.releases.get(version="1.1")
    assert yanked.yanked and yanked.yanked_reason == "broken"
    assert ReleaseFile.objects.filter(release__package=package).count() == 4


def test_an_older_document_never_overwrites_a_newer_one(tmp_path):
    run(write(tmp_path, "new.json", pypi_document(serial=20, summary="new")))
    report, failed = run(write(tmp_path, "old.json", pypi_document(serial=5, summary="old")))
    assert not failed and report["skipped"] == 1
    assert Package.objects.get().summary == "new"


def test_real_pypi_documents_import():
    report, failed = run(DATA)
    assert not failed, report
    assert report["imported"] == 2
    six = Package.objects.get(name="six")
    assert six.releases.count() == len(json.loads((DATA / "six.json").read_text())["releases"])
    assert (
        six.releases.newest_first().first().version
        == json.loads((DATA / "six.json").read_text())["info"]["version"]
    )


@pytest.mark.parametrize(
    ("content", "field", "reason"),
    [
        ("{not json", "(document)", "invalid JSON"),
        ({"info": {"summary": "no name"}, "releases": {}}, "info.name", "is required"),
        ({"releases": {}}, "info", "is required"),
        (pypi_document(summary=42), "info.summary", "expected a string, got int"),
        (pypi_document(name="x" * 201), "info.name", "the limit is 200"),
        (pypi_document(classifiers="Python"), "info.classifiers", "expected a list"),
        ({**pypi_document(), "releases": ["1.0"]}, "releases", "expected an object"),
        (
            {**pypi_document(), "releases": {"1.0": [pypi_file("demo-pkg", "1.0", size="big")]}},
            "releases['1.0'][0].size",
            "expected an integer",
        ),
        (
            {
                **pypi_document(),
                "releases": {"1.0": [pypi_file("demo-pkg", "1.0", digests={"sha256": "zz"})]},
            },
            "releases['1.0'][0].digests.sha256",
            "64 lowercase hexadecimal",
        ),
        (
            {**pypi_document(), "releases": {"v" * 101: []}},
            "releases['" + "v" * 101 + "']",
            "the limit is 100",
        ),
    ],
)
def test_malformed_documents_are_reported_and_skipped(tmp_path, content, field, reason):
    bad = write(tmp_path, "a_bad.json", content)
    good = write(tmp_path, "b_good.json", pypi_document(name="good"))
    report, failed = run(bad, good)
    assert failed
    assert report["failed"] == 1 and report["imported"] == 1
    outcome = report["documents"][0]
    assert outcome["source"] == str(bad)
    assert outcome["field"] == field
    assert reason in outcome["reason"]
    assert list(Package.objects.values_list("name", flat=True)) == ["good"]


def test_a_document_failing_while_written_leaves_nothing(tmp_path):
    run(write(tmp_path, "other.json", pypi_document(name="other", versions=("1.0",))))
    clash = pypi_document(name="clash", versions=("1.0", "2.0"))
    # The last file of the document belongs to another package: found while writing.
    clash["releases"]["2.0"][1]["filename"] = "other-1.0.tar.gz"
    report, failed = run(write(tmp_path, "clash.json", clash))
    assert failed
    assert "already belongs to another package" in report["documents"][0]["reason"]
    assert not Package.objects.filter(name="clash").exists()
    assert not Release.objects.filter(package__name="clash").exists()


def test_human_output_and_exit_code(tmp_path, capsys):
    from io import StringIO

    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match="1 document"):
        call_command(
            "import_pypi",
            str(write(tmp_path, "bad.json", {"info": {}})),
            str(write(tmp_path, "ok.json", pypi_document())),
            stdout=out,
            stderr=err,
        )
    assert "FAILED" in err.getvalue() and "bad.json: info.name: is required" in err.getvalue()
    assert "1 imported, 0 updated, 0 unchanged, 0 skipped, 1 failed" in out.getvalue()


def per_version_document(document: dict, version: str) -> dict:
    """The ``/pypi/<name>/<version>/json`` shape: no ``releases``, that version's ``urls``."""
    info = {**document["info"], "version": version}
    return {
        "info": info,
        "last_serial": document["last_serial"],
        "urls": json.loads(json.dumps(document["releases"][version])),
        "vulnerabilities": [],
    }


def test_a_per_version_document_of_an_older_release_deletes_nothing(tmp_path):
    full = pypi_document(versions=("1.0", "1.1", "2.0"), summary="Newest summary")
    run(write(tmp_path, "full.json", full))
    files_before = sorted(ReleaseFile.objects.values_list("filename", flat=True))
    assert len(files_before) == 6

    older = per_version_document(full, "1.0")
    older["info"]["summary"] = "Summary of 1.0"
    report, failed = run(write(tmp_path, "one.json", older))

    assert not failed, report
    package = Package.objects.get()
    assert sorted(package.releases.values_list("version", flat=True)) == ["1.0", "1.1", "2.0"]
    assert sorted(ReleaseFile.objects.values_list("filename", flat=True)) == files_before
    # The package's info is the newest release's, which this document is not.
    assert package.summary == "Newest summary"


def test_a_per_version_document_of_the_newest_release_updates_the_package(tmp_path):
    full = pypi_document(versions=("1.0", "1.1"))
    run(write(tmp_path, "full.json", full))
    newest = per_version_document(full, "1.1")
    newest["info"]["summary"] = "Refreshed"
    newest["urls"].pop()  # one file of 1.1 removed on PyPI

    report, failed = run(write(tmp_path, "one.json", newest))

    assert not failed and report["updated"] == 1
    package = Package.objects.get()
    assert package.summary == "Refreshed"
    assert sorted(package.releases.values_list("version", flat=True)) == ["1.0", "1.1"]
    assert package.releases.get(version="1.0").files.count() == 2
    assert package.releases.get(version="1.1").files.count() == 1
