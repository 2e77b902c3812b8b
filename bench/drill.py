"""Benchmark: each lab drill N times (default 3); median detection latency, RTO and RPO beside the
physical floor of the lab's settings.

Goals (issue #9): detection within 3 s of the floor (alert-driven drills); RTO under 60 s with
the lab's 10 s ``for:``; RPO zero for failback.

Usage: ``.venv/bin/python bench/drill.py [--runs 3] [--scenario NAME ...] [--dir DIR] [--json]``.
Starts one lab in a fresh directory (or uses ``--dir``), runs the drills back to back (each
resets the lab), and brings the lab down at the end (unless ``--dir`` was given).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dr.lab.drills import SCENARIOS, PlainProgress, run_drill
from dr.lab.lab import Lab
from dr.lab.postgres import default_tmp_parent
from dr.lab.timings import LabTimings

PROJECT = Path(__file__).resolve().parents[1]
DETECTION_SLACK_S = 3.0
RTO_GOAL_S = 60.0


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return round(statistics.median(known), 2) if known else None


def _fmt(value: float | None, unit: str = "s") -> str:
    return "-" if value is None else f"{value:.1f} {unit}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scenario", action="append", choices=sorted(SCENARIOS))
    parser.add_argument("--dir", type=Path, help="use (and keep) this lab directory")
    parser.add_argument("--json", action="store_true", help="print the raw figures as JSON")
    parser.add_argument("--verbose", action="store_true", help="show each drill's progress")
    args = parser.parse_args()
    scenarios = args.scenario or list(SCENARIOS)
    own_dir = args.dir is None
    lab_dir = args.dir or Path(
        tempfile.mkdtemp(prefix="hybridops-bench-", dir=default_tmp_parent())
    )
    lab_dir.mkdir(parents=True, exist_ok=True)
    lab_dir.chmod(0o755)
    quiet = PlainProgress(print if args.verbose else (lambda _m: None))
    lab = Lab(lab_dir, PROJECT, say=quiet.done)
    results: dict[str, list[LabTimings]] = {s: [] for s in scenarios}
    started = time.monotonic()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, lab in {lab_dir}")
    try:
        t0 = time.monotonic()
        lab.up()
        print(f"lab up: {time.monotonic() - t0:.1f} s")
        for i in range(args.runs):
            for name in scenarios:
                t0 = time.monotonic()
                timings = run_drill(lab, name, quiet)
                results[name].append(timings)
                print(
                    f"  run {i + 1} {name:16} {timings.result:6} in {time.monotonic() - t0:5.1f} s: "
                    f"detection {_fmt(timings.detection_latency_s)}, "
                    f"decision {_fmt(timings.decision_latency_s)}, RTO {_fmt(timings.rto_s)}, "
                    f"RPO {timings.rpo_rows} rows / {timings.rpo_bytes} B",
                    flush=True,
                )
    finally:
        if own_dir:
            lab.down()
            shutil.rmtree(lab_dir, ignore_errors=True)
    floor = next(iter(results.values()))[0].floor_s
    formula = next(iter(results.values()))[0].floor_formula
    print(
        f"\n{args.runs} runs per scenario, {time.monotonic() - started:.0f} s in all; floor: {formula}"
    )
    header = f"{'scenario':16} {'detection':>10} {'vs floor':>9} {'decision':>9} {'RTO':>8} {'RPO rows':>9} {'RPO bytes':>10}  passed"
    print(header)
    summary: dict[str, Any] = {}
    goals: list[str] = []
    for name, runs in results.items():
        det = _median([r.detection_latency_s for r in runs])
        dec = _median([r.decision_latency_s for r in runs])
        rto = _median([r.rto_s for r in runs])
        rows = [r.rpo_rows for r in runs if r.rpo_rows is not None]
        nbytes = [r.rpo_bytes for r in runs if r.rpo_bytes is not None]
        rpo_rows = statistics.median(rows) if rows else None
        rpo_bytes = statistics.median(nbytes) if nbytes else None
        alert = runs[0].trigger == "alert"
        gap = round(det - floor, 2) if det is not None and alert else None
        passed = sum(r.result == "passed" for r in runs)
        print(
            f"{name:16} {_fmt(det):>10} {('-' if gap is None else f'{gap:+.1f} s'):>9} "
            f"{_fmt(dec):>9} {_fmt(rto):>8} {('-' if rpo_rows is None else f'{rpo_rows:g}'):>9} "
            f"{('-' if rpo_bytes is None else f'{rpo_bytes:g}'):>10}  {passed}/{len(runs)}"
        )
        summary[name] = {
            "detection_latency_s": [r.detection_latency_s for r in runs],
            "decision_latency_s": [r.decision_latency_s for r in runs],
            "rto_s": [r.rto_s for r in runs],
            "rpo_rows": [r.rpo_rows for r in runs],
            "rpo_bytes": [r.rpo_bytes for r in runs],
            "median": {
                "detection": det,
                "decision": dec,
                "rto": rto,
                "rpo_rows": rpo_rows,
                "rpo_bytes": rpo_bytes,
            },
            "passed": passed,
        }
        if alert and det is not None:
            goals.append(
                f"{name}: detection {det:.1f} s vs floor {floor:g} s "
                f"({'met' if det <= floor + DETECTION_SLACK_S else 'NOT met'}: goal <= floor + {DETECTION_SLACK_S:g} s)"
            )
        if rto is not None and name != "failback":
            goals.append(
                f"{name}: RTO {rto:.1f} s ({'met' if rto < RTO_GOAL_S else 'NOT met'}: goal < {RTO_GOAL_S:g} s)"
            )
        if name == "failback":
            lost = [r.rpo_rows for r in runs]
            goals.append(
                f"failback: RPO {lost} rows ({'met' if all(x == 0 for x in lost) else 'NOT met'}: goal 0 in every run)"
            )
    print("\n".join(["goals:", *[f"  {g}" for g in goals]]))
    if args.json:
        print(json.dumps({"floor_s": floor, "scenarios": summary}, indent=2))
    return 0 if all(s["passed"] == args.runs for s in summary.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
