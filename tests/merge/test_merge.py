"""merge_sources: policies, key normalization, provenance, idempotency, bad input, dry run."""

from __future__ import annotations

import json

import pytest

from catalog.models import License, Package
from tests.merge.conftest import T1, T2, iso

A_ONLY = {"_id": "alpha", "v": 1, "updated": iso(T1)}
B_ONLY = {"_id": "beta", "v": 2, "updated": iso(T2)}

# A older with field a, B newer with field b; both have v.
MATCH_A = {"_id": "k", "v": 1, "a": "from-a", "updated": iso(T1)}
MATCH_B = {"_id": "k", "v": 2, "b": "from-b", "updated": iso(T2)}

# Same timestamp, different values.
CLASH_A = {"_id": "k", "v": 1, "updated": iso(T1)}
CLASH_B = {"_id": "k", "v": 2, "updated": iso(T1)}

CONFLICT = "conflict"

# policy -> (expected "k" after matching inputs, expected "k" after clashing inputs)
CASES = {
    "replace": ({"v": 2, "b": "from-b", "updated": T2}, {"v": 2, "updated": T1}),
    "keep_existing": ({"v": 1, "a": "from-a", "updated": T1}, {"v": 1, "updated": T1}),
    "merge": ({"v": 2, "a": "from-a", "b": "from-b", "updated": T2}, {"v": 2, "updated": T1}),
    "fail": (CONFLICT, CONFLICT),
    "newest": ({"v": 2, "a": "from-a", "b": "from-b", "updated": T2}, CONFLICT),
    "priority": ({"v": 1, "a": "from-a", "b": "from-b", "updated": T1}, {"v": 1, "updated": T1}),
}


def content(doc):
    return {k: v for k, v in doc.items() if k not in ("_id", "provenance")}


def run_policy(merge, jsonl, policy, a_docs, b_docs):
    a = jsonl("a.jsonl", *a_docs)
    b = jsonl("b.jsonl", *b_docs)
    return merge(
        f"--source=a=file:{a}", f"--source=b=file:{b}", "--into=merged", f"--policy={policy}"
    )


@pytest.mark.parametrize("policy", CASES)
def test_policy_without_matches_inserts_every_document_as_is(merge, jsonl, db, policy):
    code, out, err = run_policy(merge, jsonl, policy, [A_ONLY], [B_ONLY])

    assert code == 0, err
    docs = {d["_id"]: d for d in db.merged.find()}
    assert content(docs["alpha"]) == {"v": 1, "updated": T1}
    assert content(docs["beta"]) == {"v": 2, "updated": T2}
    assert docs["alpha"]["provenance"]["sources"] == ["a"]
    assert docs["beta"]["provenance"]["sources"] == ["b"]
    assert "2 written" in out


@pytest.mark.parametrize("policy", CASES)
def test_policy_on_matching_documents(merge, jsonl, db, policy):
    expected = CASES[policy][0]

    code, out, err = run_policy(merge, jsonl, policy, [MATCH_A], [MATCH_B])

    doc = db.merged.find_one({"_id": "k"})
    if expected == CONFLICT:
        assert code == 1
        assert doc is None
        assert "conflict: k field 'v'" in err
        assert "conflicted under policy fail" in err
    else:
        assert code == 0, err
        assert content(doc) == expected
        assert db.merge_conflicts.count_documents({}) == 0


@pytest.mark.parametrize("policy", CASES)
def test_policy_on_conflicting_documents(merge, jsonl, db, policy):
    expected = CASES[policy][1]

    code, out, err = run_policy(merge, jsonl, policy, [CLASH_A], [CLASH_B])

    doc = db.merged.find_one({"_id": "k"})
    if expected == CONFLICT:
        # Never a silent pick: nothing written, both values reported and recorded.
        assert doc is None
        assert "conflict: k field 'v'" in err
        assert "a=1" in err and "b=2" in err
        (recorded,) = db.merge_conflicts.find({"key": "k", "field": "v"})
        assert sorted((v["source"], v["value"]) for v in recorded["values"]) == [
            ("a", 1),
            ("b", 2),
        ]
        # Only fail turns a conflict into a failed run.
        assert code == (1 if policy == "fail" else 0)
    else:
        assert code == 0, err
        assert content(doc) == expected


def test_priority_order_can_be_given(merge, jsonl, db):
    a = jsonl("a.jsonl", MATCH_A)
    b = jsonl("b.jsonl", MATCH_B)

    code, _, err = merge(
        f"--source=a=file:{a}",
        f"--source=b=file:{b}",
        "--into=merged",
        "--policy=priority",
        "--priority=b,a",
    )

    assert code == 0, err
    assert content(db.merged.find_one()) == {
        "v": 2,
        "a": "from-a",
        "b": "from-b",
        "updated": T2,
    }


def test_priority_conflicts_when_one_source_disagrees_with_itself(merge, jsonl, db):
    a = jsonl("a.jsonl", {"_id": "k", "v": 1}, {"_id": "K", "v": 3})
    b = jsonl("b.jsonl", {"_id": "k", "v": 2})

    code, _, err = merge(
        f"--source=a=file:{a}",
        f"--source=b=file:{b}",
        "--into=merged",
        "--policy=priority",
        "--normalize=lowercase",
    )

    assert code == 0
    assert db.merged.count_documents({}) == 0
    assert "same priority with different values" in err


def test_keep_existing_keeps_the_target_document(merge, jsonl, db):
    db.merged.insert_one({"_id": "k", "v": 0})

    code, out, _ = run_policy(merge, jsonl, "keep_existing", [MATCH_A], [MATCH_B])

    assert code == 0
    assert db.merged.find_one() == {"_id": "k", "v": 0}
    assert "0 written" in out


def test_newest_keeps_a_target_newer_than_every_source(merge, jsonl, db):
    later = MATCH_B["updated"].replace("2024-06", "2025-06")
    db.merged.insert_one({"_id": "k", "v": 9, "updated": later})

    code, _, err = run_policy(merge, jsonl, "newest", [MATCH_A], [MATCH_B])

    assert code == 0, err
    doc = db.merged.find_one()
    assert doc["v"] == 9
    assert doc["a"] == "from-a" and doc["b"] == "from-b"


def test_canonical_name_normalization_matches_spellings_and_keeps_the_normalized_key(
    merge, jsonl, db
):
    a = jsonl("a.jsonl", {"_id": "PKG_30", "summary": "from a"})
    b = jsonl("b.jsonl", {"_id": "Pkg.30", "home_page": "https://b.example"})
    db.c.insert_one({"_id": "pkg-30", "author": "from c"})

    code, out, err = merge(
        f"--source=a=file:{a}",
        f"--source=b=file:{b}",
        "--source=c=mongo:c",
        "--into=packages",
        "--normalize=canonical-name",
        "--policy=merge",
        "--json",
    )

    assert code == 0, err
    (doc,) = db.packages.find()
    assert doc["_id"] == "pkg-30"
    terms = doc.pop("terms")  # a package document gets its search terms
    # and says what the releases collection holds of its releases (none here).
    summary = {key: doc.pop(key) for key in ("release_count", "latest", "history")}
    assert summary == {"release_count": 0, "latest": None, "history": []}
    assert content(doc) == {
        "summary": "from a",
        "home_page": "https://b.example",
        "author": "from c",
    }
    assert "=pkg-30" in terms
    report = json.loads(out)
    assert report["totals"]["inserted"] == 1
    assert {name: c["matched"] for name, c in report["sources"].items()} == {
        "a": 1,
        "b": 1,
        "c": 1,
    }


def test_without_normalization_spellings_stay_apart(merge, jsonl, db):
    a = jsonl("a.jsonl", {"_id": "PKG_30"})
    b = jsonl("b.jsonl", {"_id": "pkg-30"})

    code, _, _ = merge(f"--source=a=file:{a}", f"--source=b=file:{b}", "--into=packages")

    assert code == 0
    assert sorted(d["_id"] for d in db.packages.find()) == ["PKG_30", "pkg-30"]


def test_multi_field_key_with_per_field_normalization(merge, jsonl, db):
    a = jsonl("a.jsonl", {"_id": "Foo==1.0", "package": "Foo", "version": "1.0", "yanked": False})
    b = jsonl("b.jsonl", {"package": "foo", "version": "1.0", "yanked": True})

    code, _, err = merge(
        f"--source=a=file:{a}",
        f"--source=b=file:{b}",
        "--into=releases",
        "--key=package,version",
        "--normalize=package=canonical-name",
    )

    assert code == 0, err
    (doc,) = db.releases.find()
    assert doc["package"] == "foo"
    assert doc["version"] == "1.0"
    assert doc["yanked"] is True
    # The record's own _id is kept for the insert.
    assert doc["_id"] == "Foo==1.0"


def test_provenance_names_the_contributing_sources_and_the_time(merge, jsonl, db):
    code, _, _ = run_policy(merge, jsonl, "keep_existing", [MATCH_A, A_ONLY], [MATCH_B, B_ONLY])

    assert code == 0
    docs = {d["_id"]: d["provenance"] for d in db.merged.find()}
    # keep_existing took nothing from b for "k".
    assert docs["k"]["sources"] == ["a"]
    assert docs["beta"]["sources"] == ["b"]
    assert docs["k"]["policy"] == "keep_existing"
    assert docs["k"]["at"].year >= 2025

    code, _, _ = run_policy(merge, jsonl, "merge", [MATCH_A], [MATCH_B])
    assert db.merged.find_one({"_id": "k"})["provenance"]["sources"] == ["a", "b"]


@pytest.mark.parametrize("policy", ["replace", "merge", "newest", "priority", "fail"])
def test_a_second_identical_run_writes_nothing(merge, jsonl, db, policy):
    a_docs = [MATCH_A, A_ONLY] if policy != "fail" else [A_ONLY]
    run_policy(merge, jsonl, policy, a_docs, [MATCH_B, B_ONLY])
    before = list(db.merged.find().sort("_id", 1))

    code, out, err = run_policy(merge, jsonl, policy, a_docs, [MATCH_B, B_ONLY])

    assert code == 0, err
    assert "0 written" in out
    documents_row = next(line for line in out.splitlines() if line.startswith("documents"))
    unchanged = documents_row.split()[5]
    assert int(unchanged) == len(before)
    # Provenance timestamps included: nothing was rewritten.
    assert list(db.merged.find().sort("_id", 1)) == before


def test_malformed_records_are_reported_and_skipped(merge, jsonl, db, tmp_path):
    a = jsonl(
        "a.jsonl",
        {"_id": "good-a", "v": 1},
        '{"_id": "broken", ',
        ["not", "an", "object"],
        {"v": 3},
        {"_id": 42, "v": 4},
    )
    b_path = tmp_path / "b.json"
    b_path.write_text(json.dumps([{"_id": "good-b"}, "text"]))

    code, out, err = merge(
        f"--source=a=file:{a}",
        f"--source=b=file:{b_path}",
        "--into=merged",
        "--normalize=canonical-name",
    )

    assert code == 1
    assert sorted(d["_id"] for d in db.merged.find()) == ["good-a", "good-b"]
    assert "malformed: a line 2: not valid JSON" in err
    assert "malformed: a line 3: expected a JSON object, got list" in err
    assert "malformed: a line 4: missing key field '_id'" in err
    assert "malformed: a line 5: key field '_id': canonical-name needs a string, got int" in err
    assert "malformed: b item 2: expected a JSON object, got str" in err
    assert "5 record(s) failed" in err
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[2:5]}
    assert rows["a"][0] == "5" and rows["a"][-1] == "4"  # read, failed
    assert rows["b"][0] == "2" and rows["b"][-1] == "1"


def test_newest_needs_an_updated_timestamp(merge, jsonl, db):
    code, _, err = run_policy(merge, jsonl, "newest", [{"_id": "k", "v": 1}], [MATCH_B])

    assert code == 1
    assert "a line 1: field 'updated': missing or not a date" in err
    assert content(db.merged.find_one()) == {"v": 2, "b": "from-b", "updated": T2}


def test_dry_run_writes_nothing_and_details_each_document(merge, jsonl, db):
    db.merged.insert_one({"_id": "k", "v": 0})
    db.drop_collection("merge_conflicts")  # left by an earlier test of this session
    indexes = db.merged.index_information()

    code, out, err = merge(
        f"--source=a=file:{jsonl('a.jsonl', MATCH_A, A_ONLY)}",
        f"--source=b=file:{jsonl('b.jsonl', MATCH_B)}",
        "--into=merged",
        "--policy=newest",
        "--dry-run",
        "--details",
    )

    assert code == 0, err
    assert "dry run: nothing written" in out
    assert "  insert    alpha\n" in out
    assert "  update    k (a, b, updated, v)\n" in out
    assert db.merged.find_one() == {"_id": "k", "v": 0}
    assert db.merged.count_documents({}) == 1
    assert "merge_conflicts" not in db.list_collection_names()
    assert db.merged.index_information() == indexes


def test_dry_run_reports_conflicts_without_recording_them(merge, jsonl, db):
    code, out, err = merge(
        f"--source=a=file:{jsonl('a.jsonl', CLASH_A)}",
        f"--source=b=file:{jsonl('b.jsonl', CLASH_B)}",
        "--into=merged",
        "--policy=fail",
        "--dry-run",
    )

    assert code == 1
    assert "conflict: k field 'v'" in err
    assert db.merge_conflicts.count_documents({}) == 0


def test_unknown_source_kind_is_a_clear_error(merge, jsonl):
    code, _, err = merge("--source=a=ftp:x", f"--source=b=file:{jsonl('b.jsonl')}", "--into=m")

    assert code == 1
    assert "source 'a': unknown kind 'ftp'" in err


def test_missing_file_is_a_clear_error(merge, jsonl, tmp_path):
    code, _, err = merge(
        f"--source=a=file:{tmp_path / 'nope.jsonl'}",
        f"--source=b=file:{jsonl('b.jsonl')}",
        "--into=m",
    )

    assert code == 1
    assert "source 'a': cannot read" in err


@pytest.mark.django_db
def test_relational_catalog_as_a_source(merge, jsonl, db):
    mit = License.objects.create(name="MIT License", spdx_id="MIT")
    Package.objects.create(display_name="Requests_Plus", summary="from sql", license=mit)
    mirror = jsonl(
        "mirror.jsonl",
        {"_id": "Requests.Plus", "summary": "from mirror", "downloads": 10},
        {"_id": "only-in-mirror", "summary": "m"},
    )

    code, out, err = merge(
        f"--source=mirror=file:{mirror}",
        "--source=live=sql:packages",
        "--into=packages",
        "--normalize=canonical-name",
        "--policy=priority",
        "--priority=live,mirror",
        "--json",
    )

    assert code == 0, err
    doc = db.packages.find_one({"_id": "requests-plus"})
    assert doc["summary"] == "from sql"
    assert doc["downloads"] == 10
    assert doc["license"] == {"name": "MIT License", "spdx_id": "MIT"}
    assert doc["provenance"]["sources"] == ["live", "mirror"]
    report = json.loads(out)
    assert report["sources"]["live"]["read"] == 1
    assert report["sources"]["mirror"]["read"] == 2
    assert report["totals"]["inserted"] == 2


def test_fail_conflicts_with_a_differing_target_document_and_names_both_values(merge, jsonl, db):
    db.merged.insert_one({"_id": "k", "v": 0})

    code, _, err = run_policy(merge, jsonl, "fail", [{"_id": "k", "v": 1}], [B_ONLY])

    assert code == 1
    assert db.merged.find_one({"_id": "k"}) == {"_id": "k", "v": 0}
    assert db.merged.find_one({"_id": "beta"})["v"] == 2
    assert "conflict: k field 'v': policy fail: a match changes this field: " in err
    assert "(existing)=0; a=1" in err


def test_merged_writes_are_in_the_audit_trail_as_the_command(merge, jsonl, db):
    from tests.audit.conftest import mongo_entries

    code, _, err = run_policy(merge, jsonl, "merge", [MATCH_A], [MATCH_B])
    assert code == 0, err
    [entry] = mongo_entries(model="merged")
    assert (entry["operation"], entry["object_key"]) == ("bulk_create", "k")
    assert entry["changes"]["b"] == [None, "from-b"]
    assert entry["actor"] == "command:merge_sources"

    run_policy(merge, jsonl, "merge", [MATCH_A], [MATCH_B])  # idempotent: nothing recorded
    assert len(mongo_entries(model="merged")) == 1


def test_documents_merged_into_packages_get_search_terms(merge, jsonl, db, client, settings):
    settings.CATALOG_READ_BACKEND = "mongo"
    settings.CATALOG_PAGE_CACHE = False
    doc = {"_id": "merged-parser", "display_name": "Merged_Parser", "summary": "Reads TOML files"}
    other = {"_id": "other", "display_name": "other"}
    code, _, err = merge(
        f"--source=a=file:{jsonl('a.jsonl', doc)}",
        f"--source=b=file:{jsonl('b.jsonl', other)}",
        "--into=packages",
        "--policy=replace",
    )
    assert code == 0, err
    stored = db.packages.find_one({"_id": "merged-parser"})
    assert {"=merged-parser", "n:parser", "s:toml"} <= set(stored["terms"])
    page = client.get("/search/", {"q": "toml"}).content.decode()
    assert 'class="package-snippet__name">Merged_Parser<' in page
