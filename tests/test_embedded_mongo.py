"""The embedded store's linear cursor returns what mongomock's own cursor returns."""

import mongomock
import pytest
from mongomock.collection import Cursor

from project.embedded_mongo import _cursor_next


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


def test_the_configured_store_uses_the_linear_cursor():
    from catalog.documents import PackageDocument

    client = PackageDocument._get_collection().database.client
    assert isinstance(client, mongomock.MongoClient)
    assert Cursor.__next__ is _cursor_next
