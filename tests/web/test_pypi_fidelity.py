"""Real PyPI metadata, lossless: what a document says comes back from the JSON API as it came.

The documents under tests/data/pypi_fidelity follow PyPI's JSON API in both
shapes (project ``/pypi/<name>/json`` and per-version
``/pypi/<name>/<version>/json``) and both ages: 2019-era ones (no
``upload_time_iso_8601``, no ``yanked``, ``requires_dist`` null, a release
without files) and current ones (``license_expression``, ``license_files``,
``yanked_reason``, ``provides_extra``, ``dynamic``, ``vulnerabilities``,
``blake2b_256`` digests, microsecond upload times).
"""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.management import call_command

from catalog.models import Package, Release, ReleaseFile

DATA = Path(__file__).resolve().parent.parent / "data" / "pypi_fidelity"
PROJECTS = {"oldtimer": "oldtimer.json", "modern-pkg": "modern.json"}
# Links PyPI builds from its own host name: ours name our host instead.
HOST_FIELDS = {"package_url", "project_url", "release_url"}

pytestmark = pytest.mark.django_db


def load(name: str) -> dict:
    return json.loads((DATA / name).read_text())


def import_documents(*names: str) -> dict:
    out = StringIO()
    call_command("import_pypi", *(str(DATA / n) for n in names), "--json", stdout=out)
    return json.loads(out.getvalue())


def mismatches(expected, served, path: str = "") -> tuple[list[str], int]:
    """Every field of ``expected`` that ``served`` does not give back equal; and the count compared.

    Files are matched by filename (PyPI does not promise an order).
    """
    if isinstance(expected, dict) and isinstance(served, dict):
        found, count = [], 0
        for key, value in expected.items():
            if key in HOST_FIELDS:
                continue
            if key not in served:
                found.append(f"{path}.{key}: missing")
                continue
            more, n = mismatches(value, served[key], f"{path}.{key}")
            found += more
            count += n
        return found, count
    if (
        isinstance(expected, list)
        and isinstance(served, list)
        and all(isinstance(f, dict) and "filename" in f for f in expected + served)
    ):
        served_by_name = {f["filename"]: f for f in served}
        if sorted(served_by_name) != sorted(f["filename"] for f in expected):
            return [f"{path}: files {sorted(served_by_name)}"], 1
        found, count = [], 0
        for f in expected:
            more, n = mismatches(f, served_by_name[f["filename"]], f"{path}[{f['filename']}]")
            found += more
            count += n
        return found, count
    if expected != served or type(expected) is not type(served):
        return [f"{path}: sent {expected!r}, served {served!r}"], 1
    return [], 1


def served(client, url: str) -> dict:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.json()


def test_project_documents_come_back_field_by_field_and_reimport_unchanged(client):
    report = import_documents(*PROJECTS.values())
    assert report["imported"] == 2, report

    compared = 0
    for name, filename in PROJECTS.items():
        found, count = mismatches(load(filename), served(client, f"/pypi/{name}/json"))
        assert found == []
        compared += count
    # Every info field, every file field of every release, last_serial, vulnerabilities.
    assert compared >= 200

    again = import_documents(*PROJECTS.values())
    assert (again["unchanged"], again["updated"]) == (2, 0), again


def test_old_documents_keep_their_nulls_placeholders_and_classifier_order(client):
    import_documents("oldtimer.json")
    body = served(client, "/pypi/oldtimer/json")
    info = body["info"]
    assert info["requires_dist"] is None and info["bugtrack_url"] is None
    assert info["download_url"] == "UNKNOWN" and info["platform"] == "UNKNOWN"
    assert info["license"] == "BSD"
    assert info["classifiers"] == load("oldtimer.json")["info"]["classifiers"]  # as ordered
    assert info["author_email"] == "Jane.Hacker@Example.COM"  # not lowercased
    assert body["releases"]["0.9"] == []
    assert body["vulnerabilities"] == []
    [signed] = body["releases"]["1.0"]
    assert signed["has_sig"] is True and signed["comment_text"] == ""
    assert signed["digests"] == load("oldtimer.json")["releases"]["1.0"][0]["digests"]
    # Dates PyPI serves today for files that predate upload_time_iso_8601.
    assert signed["upload_time_iso_8601"] == "2012-03-04T05:06:07.000000Z"
    assert Package.objects.get(name="oldtimer").license.name == "BSD"  # the display value


def test_a_release_without_files_has_an_unknown_date_and_sorts_last(client):
    import_documents("oldtimer.json", "modern.json")
    assert Release.objects.get(version="0.9").created is None

    home = client.get("/").content.decode()
    feed = client.get("/rss/updates.xml").content.decode()
    project_feed = client.get("/rss/project/oldtimer/releases.xml").content.decode()
    page = client.get("/project/oldtimer/0.9/").content.decode()

    assert home.index("1.4.2") < home.index("0.9")
    assert "date unknown" in home
    items = feed.split("<item>")[1:]
    assert "OldTimer 0.9" in items[-1]
    assert "<pubDate>" not in items[-1]
    assert "0.9" in project_feed.split("<item>")[-1]
    assert "date unknown" in page


def test_derived_values_live_beside_the_originals(client):
    import_documents("modern.json")
    package = Package.objects.get(name="modern-pkg")
    assert package.license_text is None
    assert package.license_expression == "MIT OR Apache-2.0"
    assert package.license.name == "MIT OR Apache-2.0"
    info = served(client, "/pypi/modern-pkg/json")["info"]
    assert info["license"] is None and info["license_expression"] == "MIT OR Apache-2.0"


def test_a_per_version_document_updates_its_release_and_comes_back(client):
    import_documents("modern.json")
    files_before = sorted(ReleaseFile.objects.values_list("filename", flat=True))

    report = import_documents("modern-2.0.json")

    assert report["updated"] == 1, report
    assert sorted(ReleaseFile.objects.values_list("filename", flat=True)) == files_before
    assert sorted(Release.objects.values_list("version", flat=True)) == ["1.0", "2.0", "2.1.0"]
    document = load("modern-2.0.json")
    body = served(client, "/pypi/modern-pkg/2.0/json")
    found, count = mismatches(document, body)
    assert found == [] and count > 40
    # The package's info is still its newest release's.
    assert served(client, "/pypi/modern-pkg/json")["info"]["requires_python"] == ">=3.10"


def test_an_old_per_version_document_comes_back(client):
    import_documents("oldtimer.json", "oldtimer-1.0.json")
    assert Release.objects.filter(package__name="oldtimer").count() == 3
    found, _ = mismatches(load("oldtimer-1.0.json"), served(client, "/pypi/oldtimer/1.0/json"))
    assert found == []


def test_migrated_to_mongodb_and_back_nothing_changes_and_both_stores_answer_alike(
    client, settings
):
    import_documents(*PROJECTS.values(), "modern-2.0.json")
    urls = [
        "/pypi/oldtimer/json",
        "/pypi/oldtimer/1.0/json",
        "/pypi/modern-pkg/json",
        "/pypi/modern-pkg/2.0/json",
        "/simple/modern-pkg/",
    ]
    sql = {url: client.get(url, HTTP_ACCEPT="application/vnd.pypi.simple.v1+json") for url in urls}

    out = StringIO()
    call_command("migrate_to_mongo", "--json", stdout=out)
    assert json.loads(out.getvalue())["ok"] is True
    out = StringIO()
    call_command("migrate_from_mongo", "--json", stdout=out)
    back = json.loads(out.getvalue())
    assert back["ok"] is True
    assert sum(c["updated"] + c["inserted"] + c["deleted"] for c in back["collections"]) == 0

    for name, filename in PROJECTS.items():
        assert mismatches(load(filename), served(client, f"/pypi/{name}/json"))[0] == []
    settings.CATALOG_READ_BACKEND = "mongo"
    cache.clear()
    for url in urls:
        mongo = client.get(url, HTTP_ACCEPT="application/vnd.pypi.simple.v1+json")
        assert mongo.content == sql[url].content, url
        assert mongo["X-PyPI-Last-Serial"] == sql[url]["X-PyPI-Last-Serial"]


@pytest.mark.parametrize("backend_name", ["sql", "mongo"])
def test_license_filter_is_case_insensitive_and_matches_expressions_and_classifiers(
    client, settings, backend_name
):
    import re

    import_documents(*PROJECTS.values())
    if backend_name == "mongo":
        call_command("migrate_to_mongo", stdout=StringIO())
        settings.CATALOG_READ_BACKEND = "mongo"

    def found(value: str) -> list[str]:
        page = client.get("/search/", {"license": value}).content.decode()
        return re.findall(r'class="package-snippet__name">([^<]+)<', page)

    for value in ("BSD", "bsd", "bsd license", "License :: OSI Approved :: BSD License"):
        assert found(value) == ["OldTimer"], value
    for value in ("MIT", "mit", "apache-2.0", "MIT OR Apache-2.0"):
        assert found(value) == ["modern.pkg"], value
    assert found("GPL") == []


@pytest.mark.parametrize("backend_name", ["sql", "mongo"])
def test_equivalent_versions_redirect_to_the_stored_spelling(client, settings, backend_name):
    import_documents("oldtimer.json", "modern.json")
    if backend_name == "mongo":
        call_command("migrate_to_mongo", stdout=StringIO())
        settings.CATALOG_READ_BACKEND = "mongo"

    response = client.get("/project/modern-pkg/2.0.0/")
    assert (response.status_code, response["Location"]) == (301, "/project/modern-pkg/2.0/")
    response = client.get("/pypi/modern-pkg/2.0.0/json")
    assert (response.status_code, response["Location"]) == (301, "/pypi/modern-pkg/2.0/json")
    response = client.get("/project/oldtimer/1.4.2.0/")
    assert response["Location"] == "/project/oldtimer/1.4.2/"
    assert client.get("/project/modern-pkg/2.0.1/").status_code == 404
    assert client.get("/pypi/modern-pkg/3/json").status_code == 404
