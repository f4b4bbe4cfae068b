"""The report of bench/migrate.py: rates, targets and the printed table (no Django)."""

from __future__ import annotations

import argparse
from typing import Any

TARGET_SPEEDUP = 10.0  # (b) / (a), at least
TARGET_FLOOR = 2.0  # (c) / (b), at most
TARGET_RERUN = 0.2  # re-run / first run, under
TARGET_MEMORY = 20.0  # peak memory growth in percent for a tenfold catalog, under
MB = 1024 * 1024


def _rate(part: dict[str, Any] | None) -> float:
    if not part or not part["seconds"]:
        return 0.0
    return part.get("documents", 0) / part["seconds"]


def _target(name, label, value, op, target, *, counts=True) -> dict[str, Any]:
    ok = {">=": value >= target, "<=": value <= target, "<": value < target}[op]
    return {
        "name": name,
        "label": label,
        "value": value,
        "op": op,
        "target": target,
        # Informative rows (auditing off on both sides) do not decide the exit status.
        "ok": ok if counts else None,
        "met": ok,
    }


def backend_summary(
    name: str, run: dict[str, Any], small: dict, full: dict, *, local: bool
) -> dict[str, Any]:
    rates = {
        key: _rate(run.get(key))
        for key in (
            "loop",
            "loop_unaudited",
            "migrate",
            "migrate_unaudited",
            "floor",
            "floor_audited",
        )
    }
    growth = (full["peak_bytes"] - small["peak_bytes"]) / small["peak_bytes"] * 100
    loop, migrate, floor = rates["loop"], rates["migrate"], rates["floor"]
    # Each side against the floor of the same work: audited, entries included.
    audited = bool(rates["migrate_unaudited"])
    migrate_floor = rates["floor_audited"] if audited else floor
    # On the local server the bulk advantage itself is small: at least half the
    # floor's, the floor doing the same work as ours (entries included when audited).
    speedup_target = round(migrate_floor / loop / 2, 2) if local else TARGET_SPEEDUP
    targets = [
        _target(
            "floor_speedup", "(c) / (a) docs/s, the floor's", floor / loop, ">=", 0, counts=False
        ),
        *(
            [
                _target(
                    "floor_audited_speedup",
                    "(c2) / (a) docs/s, the floor's",
                    migrate_floor / loop,
                    ">=",
                    0,
                    counts=False,
                )
            ]
            if audited
            else []
        ),
        _target("speedup", "(b) / (a) docs/s", migrate / loop, ">=", speedup_target),
        _target(
            "floor",
            "(c2) / (b) docs/s" if audited else "(c) / (b) docs/s",
            migrate_floor / migrate,
            "<=",
            TARGET_FLOOR,
        ),
        _target(
            "rerun",
            "re-run / first run, time",
            run["rerun"]["seconds"] / run["migrate"]["seconds"],
            "<",
            TARGET_RERUN,
        ),
        _target("memory", "peak growth, 10x catalog, %", growth, "<", TARGET_MEMORY),
    ]
    if rates["migrate_unaudited"]:
        unaudited = rates["migrate_unaudited"]
        targets[2:2] = [
            _target(
                "speedup_unaudited",
                "  audit off: (b) / (a)",
                unaudited / rates["loop_unaudited"],
                ">=",
                round(floor / rates["loop_unaudited"] / 2, 2) if local else TARGET_SPEEDUP,
                counts=False,
            ),
            _target(
                "floor_unaudited",
                "  audit off: (c) / (b)",
                floor / unaudited,
                "<=",
                TARGET_FLOOR,
                counts=False,
            ),
        ]
    differ = run["migrate"]["failed"] + run["floor"]["check"]["differ"]
    if differ:
        targets.append(
            {
                "name": "same documents",
                "label": "failed or differing documents",
                "value": differ,
                "op": "==",
                "target": 0,
                "ok": False,
                "met": False,
            }
        )
    return {
        "backend": name,
        "rates": rates,
        "throughput": run,
        "memory": {"small": small, "full": full, "growth_percent": growth},
        "targets": targets,
    }


def print_report(summaries: list[dict[str, Any]], args: argparse.Namespace) -> None:
    first = summaries[0]["throughput"]
    catalog = first["catalog"]
    small = summaries[0]["memory"]["small"]["catalog"]
    audit = "on" if first["audit_enabled"] else "off"
    print(
        f"catalog: {catalog['packages']:,} packages, {catalog['releases']:,} releases, "
        f"{catalog['files']:,} files, {catalog['users']:,} users = {first['documents']:,} "
        f"documents; small catalog (memory): {small['packages']:,} packages, "
        f"{small['releases']:,} releases"
    )
    print(
        f"settings: MongoDB {first['mongodb']}, "
        f"AUDIT_ENABLED={audit} (the default: on), CATALOG_LIVE_SYNC=off; "
        f"--batch-size {args.batch_size} (memory runs: {args.memory_batch_size}), "
        f"--workers {args.workers}, "
        f"loop sample {first['loop']['documents']:,} documents"
    )
    print(f"{'backend':9} {'measurement':44} {'documents':>10} {'seconds':>9} {'docs/s':>9}")
    for s in summaries:
        run = s["throughput"]
        rows = [(f"(a) save() loop, audit {audit}", run["loop"])]
        if run.get("loop_unaudited"):
            rows.append(("    the same, audit off", run["loop_unaudited"]))
        rows.append((f"(b) migrate_to_mongo, audit {audit}", run["migrate"]))
        if run.get("migrate_unaudited"):
            rows.append(("    the same, audit off", run["migrate_unaudited"]))
        rerun, parts = run["rerun"], run["floor"]["parts"]
        spent = ", ".join(f"{name} {sec:.2f} s" for name, sec in rerun["collections"].items())
        rows += [
            ("(b2) re-run on unchanged data", {**rerun, "documents": None}),
            (
                f"read {rerun['read']:,} rows, wrote {rerun['written']:,} documents; {spent}",
                None,
            ),
            ("(c) floor: values_list + insert_many", run["floor"]),
            (
                f"read {parts['read']:.2f} s, build + checksum {parts['build']:.2f} s, "
                f"insert_many {parts['insert']:.2f} s, indexes {parts['indexes']:.2f} s",
                None,
            ),
            ("(c2) the floor + an entry per document", run["floor_audited"]),
            (f"entries: build, hash, insert_many {parts['entries']:.2f} s", None),
        ]
        for label, part in rows:
            if part is None:  # a detail of the row above
                print(f"{'':9}     {label}")
                continue
            docs = part.get("documents")
            rate = f"{docs / part['seconds']:9.0f}" if docs else f"{'-':>9}"
            shown = f"{docs:10,}" if docs is not None else f"{'-':>10}"
            print(f"{s['backend']:9} {label:44} {shown} {part['seconds']:9.2f} {rate}")
        for size in ("small", "full"):
            m = s["memory"][size]
            label = f"dry run, {m['catalog']['packages']:,} packages"
            print(
                f"{s['backend']:9} {label:44}"
                f" {m['documents']:10,} {m['seconds']:9.2f} {m['documents'] / m['seconds']:9.0f}"
                f"  peak {m['peak_bytes'] / MB:.1f} MB (tracemalloc),"
                f" RSS +{m['rss_growth_bytes'] / MB:.0f} MB"
            )
    print("targets:")
    for s in summaries:
        for t in s["targets"]:
            value = t["value"]
            shown = f"{value:.0f}" if t["name"] == "memory" else f"{value:.2f}"
            verdict = {True: "ok", False: "MISSED", None: "(info)"}[t["ok"]]
            print(
                f"  {s['backend']:9} {t['label']:28} {shown:>8}  target {t['op']} {t['target']:g}"
                f"  {verdict}"
            )
