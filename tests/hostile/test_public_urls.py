"""No public URL answers 500, whatever is in its path, its query or its headers.

Every public URL pattern is requested with each hostile path segment, every
query parameter the site reads with each hostile value, parameters repeated
and oversized, on PostgreSQL (the suite's database) and both read stores.
Bad input is a 400 (or a 404 for a path that names nothing), never a 500.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

import pytest

pytestmark = pytest.mark.django_db

# Decoded path segments; sent percent-encoded.
SEGMENTS = [
    "x\x00y",
    "\x00",
    "a\x01b",
    "\x1f",
    "\x7f",
    "tab\there",
    "new\nline",
    "a/b",
    "..",
    "../../etc/passwd",
    "%",
    "%00",
    " ",
    "\u202eevil",
    "\U0001f40d",
    "' OR 1=1 --",
    '{"$gt": ""}',
    "$where",
    ".*",
    "a" * 5000,
]
# Raw (already encoded) segments that are not valid UTF-8 once decoded.
RAW_SEGMENTS = ["%ED%A0%80", "%FF%FE", "%C0%AF"]

PATTERNS = [
    "/project/{}/",
    "/project/demo-pkg/{}/",
    "/project/{}/1.0/",
    "/user/{}/",
    "/pypi/{}/json",
    "/pypi/demo-pkg/{}/json",
    "/pypi/{}/1.0/json",
    "/simple/{}/",
    "/rss/project/{}/releases.xml",
    "/{}",
    "/static/{}",
]
FIXED = ["/", "/healthz", "/search/", "/simple/", "/rss/updates.xml", "/rss/packages.xml"]

VALUES = [
    "\x00",
    "a\x00b",
    "\x01\x02",
    "\x7f",
    "\ud800",  # a lone surrogate: encoded as UTF-8 it is rejected by Python
    "x" * 100_000,
    "9" * 5000,
    "-1",
    "0",
    "1e9",
    str(2**63),
    "99999999999999999999",
    "1.5",
    "²",
    "nan",
    '{"$gt": ""}',
    "$where",
    ".*",
    "%",
    "\u202e",
]
SEARCH_PARAMS = ["q", "c", "license", "o", "page"]


def probe(client, url: str, **headers) -> int:
    response = client.get(url, **headers)
    assert response.status_code < 500, (url[:200], response.status_code)
    return response.status_code


@pytest.fixture(params=["sql", "mongo"])
def backend(request, settings, catalog):
    from tests.web.conftest import fill_mongo

    settings.CATALOG_READ_BACKEND = request.param
    if request.param == "mongo":
        fill_mongo()
    return request.param


def test_hostile_path_segments(client, backend):
    answers: dict[int, int] = {}
    for pattern in PATTERNS:
        for segment in SEGMENTS:
            status = probe(client, pattern.format(quote(segment, safe="")))
            answers[status] = answers.get(status, 0) + 1
        for raw in RAW_SEGMENTS:
            status = probe(client, pattern.format(raw))
            answers[status] = answers.get(status, 0) + 1
    assert set(answers) <= {200, 301, 302, 400, 404}, answers


def test_nul_in_a_path_is_a_400(client, backend):
    for url in ["/project/x%00y/", "/user/x%00y/", "/pypi/x%00y/json", "/simple/x%00y/"]:
        assert client.get(url).status_code == 400, url


def test_hostile_query_values(client, backend):
    for path in [*FIXED, "/project/demo-pkg/", "/pypi/demo-pkg/json", "/simple/demo-pkg/"]:
        for name in SEARCH_PARAMS:
            for value in VALUES:
                probe(client, f"{path}?{urlencode({name: value}, errors='surrogatepass')}")
        # Keys are hostile too.
        probe(client, path + "?%00=1&%FF=2&" + "k" * 10_000 + "=3")


def test_bad_search_values_are_a_400(client, backend):
    for params in [
        {"q": "a\x00b"},
        {"c": "\x00"},
        {"license": "\x00"},
        {"page": "9" * 5000},
        {"page": str(2**63)},
        {"page": "0"},
        {"q": "x" * 201},
    ]:
        assert client.get("/search/", params).status_code == 400, params


def test_repeated_and_many_parameters(client, backend):
    assert probe(client, "/search/?" + "&".join(["q=demo"] * 50)) == 200
    assert probe(client, "/search/?page=1&page=2&page=abc") == 400
    # A filter per classifier: more than the limit is a 400, not a slow query.
    assert (
        probe(client, "/search/?" + urlencode([("c", f"Topic :: {i}") for i in range(200)])) == 400
    )
    # More fields than Django reads at all (DATA_UPLOAD_MAX_NUMBER_FIELDS).
    assert probe(client, "/search/?" + "&".join(f"x{i}=1" for i in range(1500))) == 400


def test_hostile_headers(client, backend):
    for accept in [
        "\x00",
        "text/html;q=nan",
        "text/html;q=1e999",
        "*/*;q=-1",
        "a" * 10_000,
        ",,,;;;",
    ]:
        probe(client, "/simple/", HTTP_ACCEPT=accept)
        probe(client, "/simple/demo-pkg/", HTTP_ACCEPT=accept)
    for value in ["\x00", 'W/"\x00"', "*", "a" * 10_000]:
        probe(client, "/project/demo-pkg/", HTTP_IF_NONE_MATCH=value)
    for value in ["\x00", "Sun, 06 Nov 1994 08:49:37 GMT\x00", "9" * 5000]:
        probe(client, "/project/demo-pkg/", HTTP_IF_MODIFIED_SINCE=value)
    probe(client, "/", HTTP_HOST="\x00")
