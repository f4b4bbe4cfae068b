"""PyPI's JSON API and the Simple repository API (PEP 503 / PEP 691), on both stores."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from catalog.models import Classifier, License, Maintainer, Package, Release
from tests.web.conftest import fill_mongo

SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
PIP_ACCEPT = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, "
    "text/html; q=0.01"
)


def test_json_api_project(client, backend):
    response = client.get("/pypi/demo-pkg/json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"info", "releases", "urls", "last_serial", "vulnerabilities"}
    assert body["vulnerabilities"] == []
    info = body["info"]
    assert info["name"] == "Demo_Pkg"
    assert info["version"] == "1.10"
    assert info["summary"] == "A demonstration package"
    assert info["license"] == "MIT License"
    assert info["requires_python"] == ">=3.9"
    assert info["project_urls"] == {"Source": "https://example.org/demo/src"}
    assert info["description_content_type"] == "text/markdown; variant=GFM"
    assert "Framework :: Django" in info["classifiers"]
    assert info["package_url"] == "http://testserver/project/demo-pkg/"
    # 42 when the package was made; each release and file added since raised it.
    serial = Package.objects.get(name="demo-pkg").last_serial
    assert serial > 42
    assert body["last_serial"] == serial
    assert response["X-PyPI-Last-Serial"] == str(serial)
    assert list(body["releases"]) == ["1.0", "1.9", "1.10", "1.11", "2.0b1"]
    yanked = body["releases"]["1.11"][0]
    assert yanked["yanked"] is True and yanked["yanked_reason"] == "broken wheel"
    assert [f["filename"] for f in body["urls"]] == [
        "demo_pkg-1.10-py3-none-any.whl",
        "demo_pkg-1.10.tar.gz",
    ]
    sdist = body["urls"][1]
    assert sdist["digests"]["sha256"] == "00" + "ab" * 31
    assert sdist["size"] == 1000
    assert sdist["packagetype"] == "sdist"
    assert sdist["upload_time"] == "2024-03-04T12:00:00"
    assert sdist["upload_time_iso_8601"] == "2024-03-04T12:00:00.000000Z"
    assert sdist["url"] == "https://files.example.org/packages/demo_pkg-1.10.tar.gz"


def test_json_api_release(client, backend):
    body = client.get("/pypi/demo-pkg/1.0/json").json()
    assert "releases" not in body
    assert body["info"]["version"] == "1.0"
    assert body["info"]["requires_python"] == ">=3.8"
    assert [f["filename"] for f in body["urls"]] == [
        "demo_pkg-1.0-py3-none-any.whl",
        "demo_pkg-1.0.tar.gz",
    ]


def test_json_api_redirects_and_not_found(client, backend):
    assert client.get("/pypi/Demo_Pkg/json")["Location"] == "/pypi/demo-pkg/json"
    for url in ("/pypi/nope/json", "/pypi/demo-pkg/7.0/json", "/pypi/demo-pkg/x/y/json"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert response["Content-Type"] == "application/json"
        assert response.json()["message"] == "Not Found"


def test_simple_index_html_and_json(client, backend):
    response = client.get("/simple/")
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert response.streaming  # read in chunks, never held whole
    assert '<a href="demo-pkg/">demo-pkg</a>' in response.getvalue().decode()
    response = client.get("/simple/", HTTP_ACCEPT=PIP_ACCEPT)
    assert response["Content-Type"] == SIMPLE_JSON
    assert "Accept" in response["Vary"]
    body = json.loads(response.getvalue())
    assert body["meta"]["api-version"] == "1.1"
    assert [p["name"] for p in body["projects"]] == ["demo", "demo-pkg", "other"]


def test_simple_index_answers_304_until_the_list_of_projects_changes(client, backend):
    first = client.get("/simple/")
    etag = first["ETag"]
    assert first.getvalue().decode().count("<a href=") == 3
    unchanged = client.get("/simple/", HTTP_IF_NONE_MATCH=etag)
    assert unchanged.status_code == 304 and unchanged.content == b""
    # Another media type is another representation: its own ETag.
    assert client.get("/simple/", HTTP_ACCEPT=PIP_ACCEPT)["ETag"] != etag

    Package.objects.create(display_name="Newcomer")
    if backend == "mongo":
        fill_mongo()
    added = client.get("/simple/", HTTP_IF_NONE_MATCH=etag)
    assert added.status_code == 200 and added["ETag"] != etag
    assert '<a href="newcomer/">newcomer</a>' in added.getvalue().decode()

    Package.objects.filter(name="newcomer").delete()
    if backend == "mongo":
        fill_mongo()
    removed = client.get("/simple/", HTTP_IF_NONE_MATCH=added["ETag"])
    assert removed.status_code == 200
    assert "newcomer" not in removed.getvalue().decode()


def test_simple_index_streams_every_name_past_one_chunk(client, backend, monkeypatch):
    import catalog.views.simple

    Package.objects.bulk_create(
        [Package(name=f"bulk-{i:05d}", display_name=f"bulk-{i:05d}") for i in range(12)]
    )
    if backend == "mongo":
        fill_mongo()
    monkeypatch.setattr(catalog.views.simple, "SIMPLE_INDEX_CHUNK", 5)  # 15 names: three chunks
    html = client.get("/simple/").getvalue().decode()
    body = json.loads(client.get("/simple/", HTTP_ACCEPT=PIP_ACCEPT).getvalue())
    names = [p["name"] for p in body["projects"]]
    assert names == sorted(names) and len(names) == 15
    assert html.count("<a href=") == 15 and html.endswith("</body>\n</html>\n")


def test_simple_project_html(client, backend):
    response = client.get("/simple/demo-pkg/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    page = response.content.decode()
    assert (
        '<a href="https://files.example.org/packages/demo_pkg-1.0.tar.gz#sha256='
        + "00"
        + "ab" * 31
        + '" data-requires-python="&gt;=3.8">demo_pkg-1.0.tar.gz</a>'
    ) in page
    assert 'data-yanked="broken wheel">demo_pkg-1.11.tar.gz</a>' in page
    assert page.count("<a ") == 10
    serial = Package.objects.get(name="demo-pkg").last_serial
    assert serial > 42  # 42 when made, raised by each release and file added since
    assert response["X-PyPI-Last-Serial"] == str(serial)


def test_simple_project_json(client, backend):
    response = client.get("/simple/demo-pkg/", HTTP_ACCEPT=PIP_ACCEPT)
    assert response["Content-Type"] == SIMPLE_JSON
    body = json.loads(response.content)
    assert body["name"] == "demo-pkg"
    assert body["versions"] == ["1.0", "1.9", "1.10", "1.11", "2.0b1"]
    files = {f["filename"]: f for f in body["files"]}
    assert files["demo_pkg-1.0.tar.gz"]["hashes"] == {"sha256": "00" + "ab" * 31}
    assert files["demo_pkg-1.0.tar.gz"]["requires-python"] == ">=3.8"
    assert files["demo_pkg-1.11.tar.gz"]["yanked"] == "broken wheel"
    assert files["demo_pkg-1.9.tar.gz"]["yanked"] is False


@pytest.mark.parametrize(
    ("accept", "status", "content_type"),
    [
        ("", 200, "text/html; charset=utf-8"),
        ("*/*", 200, "text/html; charset=utf-8"),
        ("application/vnd.pypi.simple.v1+html", 200, "application/vnd.pypi.simple.v1+html"),
        ("text/html;q=0.5, application/vnd.pypi.simple.v1+json;q=0.9", 200, SIMPLE_JSON),
        ("application/pdf", 406, "text/plain"),
    ],
)
def test_simple_content_negotiation(client, backend, accept, status, content_type):
    response = client.get("/simple/demo/", HTTP_ACCEPT=accept)
    assert response.status_code == status
    assert response["Content-Type"].startswith(content_type)


def test_simple_redirects_and_plain_text_404(client, backend):
    assert client.get("/simple/Demo_Pkg/")["Location"] == "/simple/demo-pkg/"
    response = client.get("/simple/nope/")
    assert response.status_code == 404
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode() == "404 Not Found: no package named 'nope'\n"


@pytest.mark.parametrize("source", ["demo-pkg", "other"])
def test_json_api_output_imports_back_into_an_empty_catalog(client, backend, tmp_path, source):
    exported = client.get(f"/pypi/{source}/json").json()
    path = tmp_path / f"{source}.json"
    path.write_text(json.dumps(exported))
    Package.objects.all().delete()
    License.objects.all().delete()
    Classifier.objects.all().delete()
    assert not Release.objects.exists() and not Maintainer.objects.exists()

    call_command("import_pypi", str(path))

    if backend == "mongo":
        fill_mongo()
    again = client.get(f"/pypi/{source}/json").json()
    assert again == exported
