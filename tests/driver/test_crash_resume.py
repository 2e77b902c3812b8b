"""Kill the driver between two steps; the re-run with the same run id finishes without
repeating the steps that were done."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import REPO
from tests.support.fakes import HealthServer


def _journal(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_killed_run_resumes_at_the_first_unfinished_step(scratch_project: Path, tmp_path: Path):
    cloud, onprem = (
        HealthServer(503),
        HealthServer(503),
    )  # cloud not healthy yet: the run waits in verify-health
    artefacts, state = tmp_path / "art", tmp_path / "backend.json"
    journal = artefacts / "dr" / "crash-1" / "journal.jsonl"
    argv = [
        sys.executable,
        "-m",
        "tests.support.crash_runner",
        str(scratch_project),
        str(artefacts),
        "crash-1",
        str(state),
        cloud.url,
        onprem.url,
    ]
    try:
        proc = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if any(
                e.get("event") == "step-started" and e.get("step") == "verify-health"
                for e in _journal(journal)
            ):
                break
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        else:
            raise AssertionError("the run never reached verify-health")
        os.kill(proc.pid, signal.SIGKILL)  # no cleanup, no finally: a real crash
        proc.wait(timeout=10)
        before = _journal(journal)
        assert not any(e["event"] == "run-finished" for e in before)

        cloud.status = 200
        done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "SUCCESS"
    finally:
        cloud.close()
        onprem.close()

    entries = _journal(journal)
    started = [e["step"] for e in entries if e["event"] == "step-started"]
    # done before the crash: started exactly once; verify-health: once before, once after the crash
    for step in ("confirm-trigger", "cost-gate", "scale-cloud", "switch-traffic", "record"):
        assert started.count(step) == 1, (step, started)
    assert started.count("verify-health") == 2
    assert [e["event"] for e in entries].count("run-resumed") == 1
    record = json.loads((artefacts / "dr" / "crash-1" / "record.json").read_text())
    assert record["result"] == "SUCCESS"
    resumed = {s["id"]: s["resumed"] for s in record["steps"]}
    assert resumed == {
        "confirm-trigger": True,
        "cost-gate": True,
        "scale-cloud": True,
        "verify-health": False,
        "switch-traffic": False,
        "record": False,
    }
    assert any("resumed: 3 step(s)" in n for n in record["notes"])
    # the decision taken before the crash was kept, not taken again
    assert record["decision"]["decision"] == "allow"
    switch = next(s for s in record["steps"] if s["id"] == "switch-traffic")
    assert "within the approved 900.00/month" in switch["data"]["gate"]
    backend = json.loads(state.read_text())["cloud-dr"]
    assert [h["kind"] for h in backend["history"]] == [
        "up",
        "up",
    ]  # scale once, traffic once: nothing applied twice
