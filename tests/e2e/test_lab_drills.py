"""The four lab drills end to end, through the real CLI, on one shared lab (reset between drills).

Each test runs ``hybridops lab drill SCENARIO --json`` and asserts the measured properties from
the printed ``lab-timings.json`` and the evidence on disk. The last one interrupts a drill with
SIGINT and checks that no process it started survives and the DR record says CANCELLED.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dr.database_errors import PostgresNotInstalledError
from dr.lab.lab import Lab
from dr.lab.postgres import default_tmp_parent, find_pg_bindir
from dr.lab.procs import DEBIAN_PACKAGES, MissingBinaryError, find_binary, group_members, is_alive

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

PROJECT = Path(__file__).resolve().parents[2]
HYBRIDOPS = str(Path(sys.executable).with_name("hybridops"))


def _require_binaries() -> None:
    """Fail (CI) or skip (a workstation without them) naming the Debian package to install."""
    try:
        for name in ("prometheus", "prometheus-alertmanager", "prometheus-blackbox-exporter", "jq"):
            find_binary(name)
        find_pg_bindir()
    except (MissingBinaryError, PostgresNotInstalledError) as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI must install the lab's Debian packages: {exc}")
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def lab_dir() -> Iterator[Path]:
    """One lab for the module, in a directory the postgres user can enter (not tmp_path)."""
    _require_binaries()
    directory = Path(tempfile.mkdtemp(prefix="hybridops-lab-", dir=default_tmp_parent()))
    directory.chmod(0o755)
    up = _hybridops("lab", "up", "--dir", str(directory), timeout=120)
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        yield directory
    finally:
        lab = Lab(directory, PROJECT)
        pids = lab.recorded_pids()
        down = _hybridops("lab", "down", "--dir", str(directory), timeout=120)
        leftovers = {name: pid for name, pid in pids.items() if is_alive(pid)}
        assert down.returncode == 0, down.stdout + down.stderr
        assert not leftovers, f"lab processes still running after `lab down`: {leftovers}"
        shutil.rmtree(directory, ignore_errors=True)


def _hybridops(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [HYBRIDOPS, *args],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "CI": "1"},
        check=False,
    )


def _drill(lab_dir: Path, scenario: str) -> dict[str, Any]:
    result = _hybridops("lab", "drill", scenario, "--dir", str(lab_dir), "--json", timeout=200)
    assert result.stdout.strip(), f"no timings printed:\n{result.stderr}"
    timings: dict[str, Any] = json.loads(result.stdout)
    failed = [c for c in timings["checks"] if not c["ok"]]
    assert result.returncode == 0 and timings["result"] == "passed", (
        f"{scenario}: {failed}\n{result.stderr}"
    )
    print(
        f"{scenario}: detection {timings['detection_latency_s']} s (floor {timings['floor_s']} s), "
        f"decision {timings['decision_latency_s']} s, RTO {timings['rto_s']} s, "
        f"RPO {timings['rpo_rows']} rows / {timings['rpo_bytes']} B"
    )
    return timings


def _record(timings: dict[str, Any]) -> dict[str, Any]:
    assert timings["record"], "the drill found no DR record"
    record_path = Path(timings["record"])
    run_dir = record_path.parent
    for name in ("record.json", "summary.md", "inputs.json", "journal.jsonl", "lab-timings.json"):
        assert (run_dir / name).is_file(), f"{name} missing in {run_dir}"
    record: dict[str, Any] = json.loads(record_path.read_text())
    return record


def test_jenkins_outage_cuts_over_once_with_the_cost_gate_allowing(lab_dir: Path) -> None:
    """Jenkins killed -> exactly one dr-cutover -> allow -> cloud-db promoted, db-01 fenced."""
    t = _drill(lab_dir, "jenkins-outage")
    assert t["trigger"] == "alert"
    assert t["dispatches"] == 1
    assert t["decision"] == "allow"
    assert t["workflow_jobs"] == {
        "decide": "success",
        "approve": "skipped",
        "execute": "success",
        "recovered": "skipped",
    }
    assert t["promoted"] is True
    assert t["roles_after"] == {"db-01": "fenced", "cloud-db": "primary"}
    # the alert path cannot beat its own `for:`; 10 s of slack for a loaded 2-core machine
    assert t["settings"]["alert_for_s"] <= t["detection_latency_s"] <= t["floor_s"] + 10
    assert 0 < t["decision_latency_s"] < 30
    assert t["detection_latency_s"] < t["rto_s"] < 60
    assert t["rpo_rows"] is not None and t["rpo_rows"] >= 0
    record = _record(t)
    assert record["operation"] == "cutover" and record["simulate"] is False
    assert record["result"] == "WARNINGS"  # offline engine: transitions planned, not applied
    assert record["trigger"]["event_type"] == "dr-cutover"
    assert record["trigger"]["alert"]["alertname"] == "jenkins_critical_down"
    steps = {s["id"]: s["outcome"] for s in record["steps"]}
    assert steps["fence-onprem-primary"] == steps["promote-cloud-replica"] == "succeeded"
    assert record["decision"]["decision"] == "allow"
    assert Path(t["decision_record"]).is_file()


def test_cost_block_stops_before_anything_moves_and_notifies(lab_dir: Path) -> None:
    """Tight budget -> block -> nothing promoted, blocked record, notification delivered."""
    t = _drill(lab_dir, "cost-block")
    assert t["dispatches"] == 1
    assert t["decision"] == "block"
    assert t["workflow_jobs"]["decide"] == "failure"
    assert t["workflow_jobs"]["execute"] == "skipped"
    assert t["promoted"] is False
    assert t["roles_after"] == {"db-01": "primary", "cloud-db": "standby"}
    assert t["rto_s"] is None
    assert any("BLOCKED" in n for n in t["notifications"]), t["notifications"]
    record = _record(t)
    assert record["result"] == "CANCELLED" and record["exit_code"] == 20
    assert record["decision"]["decision"] == "block"
    artefacts = Path(t["record"]).parents[2]
    blocked = list((artefacts / "cost" / "cloud-dr").glob("blocked-*.json"))
    assert [p.name for p in blocked] == [f"blocked-{record['run_id']}.json"]
    assert t["writer"]["acknowledged_on"].keys() == {"onprem"}
    assert t["writer"]["failed_attempts"] == 0


def test_db_primary_loss_promotes_and_counts_lost_rows(lab_dir: Path) -> None:
    """db-01 SIGKILLed under writes -> operator dispatch -> unplanned promotion, RPO counted."""
    t = _drill(lab_dir, "db-primary-loss")
    assert t["trigger"] == "operator"
    assert t["dispatches"] == 1
    assert t["decision"] == "allow"
    assert t["promoted"] is True
    assert t["roles_after"] == {"db-01": "down", "cloud-db": "primary"}
    assert t["writer"]["acknowledged_on"]["onprem"] >= 500
    assert (
        isinstance(t["rpo_rows"], int)
        and 0 <= t["rpo_rows"] <= t["writer"]["acknowledged_on"]["onprem"]
    )
    assert t["writer"]["first_ack_on_new_primary_at"] is not None
    assert 0 < t["rto_s"] < 60
    record = _record(t)
    fence = next(s for s in record["steps"] if s["id"] == "fence-onprem-primary")
    assert fence["data"]["fence"]["outcome"] == "fenced-by-absence"


def test_failback_switches_back_with_zero_rows_lost(lab_dir: Path) -> None:
    """After a cutover: planned switchover to db-01 while a writer runs; nothing acknowledged lost."""
    t = _drill(lab_dir, "failback")
    assert t["decision"] == "allow"
    assert t["rpo_rows"] == 0
    assert t["rpo_bytes"] == 0
    assert t["writer"]["acknowledged_on"]["cloud"] > 0
    assert t["writer"]["acknowledged_on"]["onprem"] > 0
    assert t["roles_after"] == {"db-01": "primary", "cloud-db": "standby"}
    record = _record(t)
    assert record["operation"] == "failback"
    steps = {s["id"]: s["outcome"] for s in record["steps"]}
    assert steps["resync-db01"] == steps["planned-switchover"] == "succeeded"


def test_ctrl_c_cancels_the_run_and_leaves_no_stray_process(lab_dir: Path) -> None:
    """SIGINT during the recovery plan: exit 130, record CANCELLED, every started PID gone."""
    proc = subprocess.Popen(
        [HYBRIDOPS, "lab", "drill", "db-primary-loss", "--dir", str(lab_dir)],
        cwd=PROJECT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "CI": "1"},
    )
    try:
        journal = _wait_for_execute_step(lab_dir, proc, "cost-gate", timeout=90)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, out
    record = json.loads((journal.parent / "record.json").read_text())
    assert record["result"] == "CANCELLED", record["summary"]
    assert any(s["outcome"] == "cancelled" for s in record["steps"])
    drill_dir = journal.parents[3]
    timings = json.loads((drill_dir / "lab-timings.json").read_text())
    assert timings["result"] == "cancelled"
    assert timings["processes"], "the drill recorded no workflow processes"
    stray = [
        p["pid"] for p in timings["processes"] if is_alive(p["pid"]) or group_members(p["pid"])
    ]
    assert not stray, f"processes of the cancelled drill still running: {stray}"
    # the lab itself is intact and recovers for the next drill
    lab = Lab(lab_dir, PROJECT)
    assert all(s.running for s in lab.status() if not s.name.startswith("postgresql"))


def _wait_for_execute_step(
    lab_dir: Path, proc: subprocess.Popen[str], step: str, timeout: float
) -> Path:
    """The execute job's journal once ``step`` has started in it (the drill is the newest one)."""
    deadline = time.monotonic() + timeout
    started = time.time()
    while time.monotonic() < deadline:
        assert proc.poll() is None, (
            f"drill ended early: {proc.stdout.read() if proc.stdout else ''}"
        )
        for journal in (lab_dir / "drills").glob("*/artifacts/dr/*-cutover/journal.jsonl"):
            if journal.stat().st_mtime < started:
                continue
            events = [json.loads(line) for line in journal.read_text().splitlines() if line]
            if any(e.get("event") == "step-started" and e.get("step") == step for e in events):
                return journal
        time.sleep(0.05)
    raise AssertionError(f"the execute job never started {step!r}")


def test_binary_hint_names_the_debian_package() -> None:
    """A missing binary fails with the package that ships it."""
    assert DEBIAN_PACKAGES["prometheus-alertmanager"] == "prometheus-alertmanager"
    with pytest.raises(MissingBinaryError, match="apt-get install no-such-binary-xyz"):
        find_binary("no-such-binary-xyz")
