"""The embedded store's faster cursor and datetime copy give what mongomock's own give."""

from collections import OrderedDict
from datetime import UTC, datetime, timedelta, timezone

import mongomock
import pytest
from bson import SON, ObjectId
from mongomock import helpers
from mongomock.collection import Collection, Cursor

from project.embedded_mongo import (
    _cursor_next,
    _iter_documents,
    _original_iter_documents,
    _original_patch_datetimes,
    _patch_datetimes,
)


@pytest.fixture
def collection():
    client = mongomock.MongoClient()
    collection = client.db.items
    collection.insert_many([{"_id": n, "n": n % 7} for n in range(50)])
    return collection


def _original_next(self):
    # mongomock 4.3's own __next__, for comparison.
    try:
        doc = self._compute_results(with_limit_and_skip=True)[self._emitted]
        self._emitted += 1
        return doc
    except IndexError as err:
        raise StopIteration() from err


@pytest.mark.parametrize(
    ("skip", "limit", "sort"),
    [(0, 0, None), (5, 0, "n"), (0, 10, "n"), (45, 10, None), (3, -4, "_id"), (60, 0, None)],
)
def test_linear_cursor_returns_the_same_documents(collection, monkeypatch, skip, limit, sort):
    def read() -> list:
        cursor = collection.find({"n": {"$lt": 6}}).skip(skip).limit(limit)
        if sort:
            cursor = cursor.sort([(sort, -1), ("_id", 1)])
        return list(cursor)

    monkeypatch.setattr(Cursor, "__next__", _cursor_next)
    linear = read()
    monkeypatch.setattr(Cursor, "__next__", _original_next)
    assert linear == read()
    matching = 43  # 50 documents, 7 of them with n == 6
    expected = max(matching - skip, 0)
    assert len(linear) == (min(expected, abs(limit)) if limit else expected)


def test_the_configured_store_uses_the_faster_parts():
    from catalog.documents import PackageDocument

    client = PackageDocument._get_collection().database.client
    assert isinstance(client, mongomock.MongoClient)
    assert Cursor.__next__ is _cursor_next
    assert Collection._iter_documents is _iter_documents
    assert helpers.patch_datetime_awareness_in_document is _patch_datetimes


def test_datetime_copy_is_the_one_mongomock_makes():
    when = datetime(2024, 5, 6, 7, 8, 9, 123456)
    document = {
        "_id": ObjectId("0123456789ab0123456789ab"),
        "name": "demo",
        "n": 3,
        "ratio": 0.5,
        "yes": True,
        "none": None,
        "blob": b"\x00\x01",
        "naive": when,
        "aware": when.replace(tzinfo=timezone(timedelta(hours=2))),
        "utc": when.replace(tzinfo=UTC),
        "files": [{"uploaded": when, "tags": ("a", when)}, [when, 1]],
        "son": SON([("b", when), ("a", {"c": when})]),
        "ordered": OrderedDict([("z", when)]),
    }
    original, fast = _original_patch_datetimes(document), _patch_datetimes(document)

    assert fast == original
    assert repr(fast) == repr(original) != repr(document)  # same types, milliseconds
    assert type(fast["ordered"]) is OrderedDict
    assert type(fast["son"]) is dict  # as mongomock: a dict subclass becomes a dict
    assert fast["files"][0]["uploaded"] == datetime(2024, 5, 6, 7, 8, 9, 123000)
    assert fast["aware"] == datetime(2024, 5, 6, 5, 8, 9, 123000)
    assert fast["files"] is not document["files"]  # a copy, as the original makes


@pytest.mark.parametrize(
    "query",
    [
        {"_id": "a"},
        {"_id": "a", "n": 1},
        {"_id": "a", "n": 2},
        {"_id": "missing"},
        {"_id": 7},
        {"_id": 7.0},
        {"_id": True},
        {"_id": 1},
        {"_id": ObjectId("0123456789ab0123456789ab")},
        {"_id": {"$in": ["a", "b", 7]}},
        {"_id": {"k": 1}},
        {"n": 1},
        {},
    ],
)
def test_id_lookup_finds_what_a_scan_finds(monkeypatch, query):
    collection = mongomock.MongoClient().db.items
    collection.insert_many(
        [
            {"_id": "a", "n": 1},
            {"_id": "b", "n": 1},
            {"_id": 7, "n": 1},
            {"_id": 1.0, "n": 3},
            {"_id": ObjectId("0123456789ab0123456789ab"), "n": 4},
            {"_id": {"k": 1}, "n": 5},
        ]
    )

    def read() -> list:
        return [(doc, collection.count_documents(query)) for doc in collection.find(query)]

    monkeypatch.setattr(Collection, "_iter_documents", _iter_documents)
    direct = read()
    monkeypatch.setattr(Collection, "_iter_documents", _original_iter_documents)
    assert direct == read()


@pytest.mark.parametrize(
    "query",
    [
        {"_id": "a", "n": {"$nosuchoperator": 1}},
        {"_id": "missing", "n": {"$nosuchoperator": 1}},
        {"n": {"$nosuchoperator": 1}, "_id": "missing"},
    ],
)
def test_id_lookup_refuses_a_malformed_filter_as_a_scan_does(monkeypatch, query):
    collection = mongomock.MongoClient().db.items
    collection.insert_one({"_id": "a"})

    def outcome(iter_documents) -> object:
        monkeypatch.setattr(Collection, "_iter_documents", iter_documents)
        try:
            return collection.find_one(query)
        except mongomock.OperationFailure as error:
            return str(error)

    assert outcome(_iter_documents) == outcome(_original_iter_documents)
    if query["_id"] == "a" or next(iter(query)) == "n":
        assert outcome(_iter_documents) == "unknown operator: $nosuchoperator"
