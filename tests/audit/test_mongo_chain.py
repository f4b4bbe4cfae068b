"""The MongoDB chain: writers with stale views of the tip, threads, emptied stores."""

from __future__ import annotations

import threading

import pytest

from audit import recorder
from audit.recorder import (
    GENESIS_HASH,
    MONGO_CHAIN,
    MONGO_ENTRIES,
    MONGO_STORE,
    EntryData,
    mongo_db,
    mongo_record,
)
from audit.services import audit_chain_verify
from tests.audit.conftest import mongo_entries


def record(*keys: str) -> None:
    mongo_record([EntryData("packages", key, "update", {"summary": ["a", key]}) for key in keys])


def tip_document() -> dict:
    return mongo_db()[MONGO_CHAIN].find_one({"_id": MONGO_STORE})


def assert_chain_ok(count: int) -> list[dict]:
    entries = mongo_entries()
    assert [e["_id"] for e in entries] == list(range(1, count + 1))
    report = audit_chain_verify(stores=["mongo"])
    assert report.broken == []
    assert report.checked["mongo"] == count
    assert tip_document() == {"_id": MONGO_STORE, "seq": count, "hash": entries[-1]["hash"]}
    return entries


def test_a_writer_with_a_stale_view_of_the_tip_chains_after_the_real_one(monkeypatch):
    record("a")
    this_process = dict(recorder._mongo_tips)  # what a second process would still believe
    record("b", "c")  # "the other process" appends two entries
    monkeypatch.setattr(recorder, "_mongo_tips", this_process)

    record("d")

    entries = assert_chain_ok(4)
    assert [e["object_key"] for e in entries] == ["a", "b", "c", "d"]
    assert entries[3]["prev_hash"] == entries[2]["hash"]


def test_an_emptied_store_starts_a_new_chain():
    record("a", "b")
    db = mongo_db()
    db[MONGO_ENTRIES].delete_many({})
    db[MONGO_CHAIN].delete_many({})  # a new database, while this process remembers the old tip

    record("c")

    [entry] = assert_chain_ok(1)
    assert entry["prev_hash"] == GENESIS_HASH
    assert entry["object_key"] == "c"


def test_a_tip_left_behind_by_entries_is_caught_up_without_a_fork(monkeypatch):
    # Older versions moved the tip after inserting: a crash in between left it behind.
    record("a", "b", "c")
    first = mongo_entries()[0]
    mongo_db()[MONGO_CHAIN].update_one(
        {"_id": MONGO_STORE}, {"$set": {"seq": 1, "hash": first["hash"]}}
    )
    monkeypatch.setattr(recorder, "_mongo_tips", {})  # a process started after that

    record("d", "e")

    entries = assert_chain_ok(5)
    assert entries[3]["prev_hash"] == entries[2]["hash"]


def test_a_removed_tip_entry_is_reported_after_the_next_append():
    # What a crash between moving the tip and inserting the entries leaves.
    record("a", "b")
    mongo_db()[MONGO_ENTRIES].delete_one({"_id": 2})

    record("c")

    report = audit_chain_verify(stores=["mongo"])
    [broken] = report.broken
    assert broken.entry_id == 3


@pytest.mark.parametrize("threads", [4])
def test_concurrent_writers_in_threads_share_one_chain(threads):
    per_thread = 25

    def work(n: int) -> None:
        for i in range(per_thread):
            record(f"t{n}-{i}")

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    entries = assert_chain_ok(threads * per_thread)
    assert len({e["object_key"] for e in entries}) == threads * per_thread
