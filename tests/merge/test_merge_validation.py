"""merge_sources input records meet the import's rules (catalog.validation) before any write."""

from __future__ import annotations

import json


def test_records_with_unstorable_values_are_reported_and_skipped(merge, jsonl, db):
    deep: list = []
    for _ in range(40):
        deep = [deep]
    a = jsonl(
        "a.jsonl",
        {"_id": "good-a", "v": 1},
        {"_id": "nul", "summary": "a\x00b"},
        '{"_id": "surrogate", "author": "\\ud800"}',
        json.dumps({"_id": "huge", "size": 2**63}),
        {"_id": "deep", "v": deep},
    )
    b = jsonl("b.jsonl", {"_id": "good-b"})

    code, out, err = merge(f"--source=a=file:{a}", f"--source=b=file:{b}", "--into=merged")
    err = out + err

    assert code == 1
    assert sorted(d["_id"] for d in db.merged.find()) == ["good-a", "good-b"]
    assert "a line 2: field 'summary': contains a NUL character at position 1" in err
    assert "a line 3: field 'author': contains a lone surrogate at position 0" in err
    assert "merged key 'huge': cannot be stored in MongoDB" in err
    assert "a line 5: is nested more than 32 levels deep" in err
