"""merge_sources refuses what it cannot merge safely, with a clear error and nothing written.

Keys that are not scalars, the project's own collections as target, invalid
collection names, JSON nested deeper than MongoDB stores, field names MongoDB
refuses and values it cannot hold: each is a clear error naming the record (a
bad record is skipped, the rest goes on) or the option (nothing is read or
written), and every document written is in the audit trail.
"""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from mongoengine.connection import get_db

from audit.recorder import MONGO_ENTRIES

pytestmark = pytest.mark.django_db


@pytest.fixture
def mdb():
    return get_db()


@pytest.fixture
def jsonl(tmp_path):
    """Write documents (dicts, or raw strings for broken lines) to a JSON Lines file."""

    def write(name: str, *lines) -> str:
        path = tmp_path / name
        text = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines)
        path.write_text(text + "\n")
        return str(path)

    return write


@pytest.fixture
def merge(capsys):
    """Run merge_sources; (exit code, stdout, stderr) as a shell would see them."""

    def run(*args: str) -> tuple[int, str, str]:
        code, message = 0, ""
        try:
            call_command("merge_sources", *args)
        except CommandError as exc:
            code, message = 1, f"CommandError: {exc}\n"
        out, err = capsys.readouterr()
        return code, out, err + message

    return run


def run(merge, a: str, b: str, *extra: str):
    return merge("--source", f"a=file:{a}", "--source", f"b=file:{b}", *extra)


def audited_keys(mdb, collection: str) -> set[str]:
    return {e["object_key"] for e in mdb[MONGO_ENTRIES].find({"model": collection})}


BAD_KEYS = [
    ({"x": 1}, "an object"),
    ([1, 2], "an array"),
    (True, "a boolean"),
]


@pytest.mark.parametrize(("value", "described"), BAD_KEYS)
def test_a_key_that_is_not_a_scalar_is_refused_and_the_rest_merged(
    merge, jsonl, mdb, value, described
):
    a = jsonl("a.jsonl", {"_id": value, "v": 1}, {"_id": "ok", "v": 2})
    b = jsonl("b.jsonl", {"_id": "ok", "v": 3})
    code, out, err = run(merge, a, b, "--into", "target", "--key", "_id")
    assert code == 1
    assert f"a line 1: key field '_id': expected a string or a number, got {described}" in out + err
    assert [d["_id"] for d in mdb["target"].find()] == ["ok"]
    assert audited_keys(mdb, "target") == {"ok"}


def test_a_non_scalar_summary_key_writes_nothing_of_it(merge, jsonl, mdb):
    a = jsonl("a.jsonl", {"_id": "p1", "summary": {"$gt": ""}}, {"_id": "p2", "summary": "same"})
    b = jsonl("b.jsonl", {"_id": "p3", "summary": "same", "v": 1})
    code, out, err = run(merge, a, b, "--into", "target", "--key", "summary")
    assert code == 1
    assert "field name '$gt' at summary starts with '$'" in out + err
    docs = list(mdb["target"].find())
    assert [d["summary"] for d in docs] == ["same"]
    assert audited_keys(mdb, "target") == {str(d["_id"]) for d in docs}


@pytest.mark.parametrize(
    "into",
    ["audit_entries", "audit_chain", "migration_state", "job_checkpoints"],
)
def test_the_projects_own_collections_are_refused(merge, jsonl, mdb, into):
    before = mdb[into].count_documents({})
    a = jsonl("a.jsonl", {"_id": "ok", "v": 1})
    b = jsonl("b.jsonl", {"_id": "ok", "v": 2})
    code, _, err = run(merge, a, b, "--into", into, "--key", "_id")
    assert code == 1
    assert "is the project's own bookkeeping" in err
    assert mdb[into].count_documents({}) == before
    code, _, err = run(merge, a, b, "--into", "target", "--conflicts-collection", into)
    assert code == 1 and "own bookkeeping" in err
    # Nothing written (the collection itself may remain from an earlier test).
    assert mdb["target"].count_documents({}) == 0


@pytest.mark.parametrize(
    ("into", "reason"),
    [
        ("bad$name", "'$'"),
        ("a\x00b", "NUL"),
        (".hidden", "starts or ends with '.'"),
        ("a..b", "empty part"),
        ("system.profile", "system collection"),
        ("tab\there", "control character"),
        ("x" * 300, "longer than"),
    ],
)
def test_invalid_collection_names_are_refused(merge, jsonl, mdb, into, reason):
    a = jsonl("a.jsonl", {"_id": "ok", "v": 1})
    b = jsonl("b.jsonl", {"_id": "ok", "v": 2})
    names = set(mdb.list_collection_names())
    code, _, err = run(merge, a, b, "--into", into, "--key", "_id")
    assert code == 1
    assert "not a collection a merge may write" in err and reason in err
    assert set(mdb.list_collection_names()) == names
    assert mdb[MONGO_ENTRIES].count_documents({}) == 0


def test_into_and_conflicts_collection_must_differ(merge, jsonl, mdb):
    a = jsonl("a.jsonl", {"_id": "ok", "v": 1})
    b = jsonl("b.jsonl", {"_id": "ok", "v": 2})
    code, _, err = run(merge, a, b, "--into", "t", "--conflicts-collection", "t")
    assert code == 1 and "must be different collections" in err


def test_deep_json_is_a_clear_error_per_record(merge, jsonl, mdb, tmp_path):
    deep_line = "[" * 100_000 + "]" * 100_000
    a = jsonl("a.jsonl", deep_line, {"_id": "ok", "v": 1})
    nested: dict = {"_id": "nested", "v": 1}
    cursor = nested
    for _ in range(150):
        cursor["x"] = {}
        cursor = cursor["x"]
    b = jsonl("b.jsonl", nested, {"_id": "ok", "v": 2})
    code, out, err = run(merge, a, b, "--into", "target", "--key", "_id")
    assert code == 1
    text = out + err
    assert "a line 1: JSON nested too deeply" in text
    assert "b line 1: nested more than 100 levels (MongoDB's limit)" in text
    assert [d["_id"] for d in mdb["target"].find()] == ["ok"]
    array = tmp_path / "deep.json"
    array.write_text("[" * 100_000 + "]" * 100_000)
    code, out, err = run(merge, str(array), b, "--into", "target2", "--key", "_id")
    assert code == 1 and "JSON nested too deeply" in out + err


def test_values_mongodb_cannot_hold_are_refused_before_any_write(merge, jsonl, mdb):
    a = jsonl(
        "a.jsonl",
        '{"_id": "big", "v": ' + str(2**64) + "}",
        {"_id": "ok", "v": 1},
    )
    b = jsonl("b.jsonl", {"_id": "ok2", "v": 2})
    code, out, err = run(merge, a, b, "--into", "target", "--key", "_id", "--batch-size", "1")
    assert code == 1
    assert "target key 'big': cannot be stored in MongoDB" in out + err
    assert sorted(d["_id"] for d in mdb["target"].find()) == ["ok", "ok2"]
    assert audited_keys(mdb, "target") == {"ok", "ok2"}


def test_conflicts_are_audited_too(merge, jsonl, mdb):
    a = jsonl("a.jsonl", {"_id": "k", "v": 1})
    b = jsonl("b.jsonl", {"_id": "k", "v": 2})
    code, _, _ = run(merge, a, b, "--into", "target", "--key", "_id", "--policy", "fail")
    assert code == 1
    conflicts = list(mdb["merge_conflicts"].find())
    assert len(conflicts) == 1
    assert audited_keys(mdb, "merge_conflicts") == {conflicts[0]["_id"]}


def test_json_report_of_refused_records(merge, jsonl, mdb):
    a = jsonl("a.jsonl", {"_id": {"x": 1}}, {"_id": "ok"})
    b = jsonl("b.jsonl", {"_id": "ok", "v": 1})
    code, out, _ = run(merge, a, b, "--into", "target", "--key", "_id", "--json")
    assert code == 1
    report = json.loads(out)
    assert report["malformed"] == [
        {
            "source": "a",
            "where": "line 1",
            "reason": "key field '_id': expected a string or a number, got an object",
        }
    ]
