"""The local lab: the whole DR loop on 127.0.0.1, with its state in one directory.

``Lab.up()`` starts, on free loopback ports:

- ``receiver``: the notification receiver (driver notifications, Alertmanager's human receiver);
- ``jenkins``: the fake Jenkins controller (the monitored on-prem target);
- ``runner``: the dispatch runner (loopback GitHub that runs dr.yml's execute command);
- ``relay``: ``hybridops relay serve``, dispatching to the runner;
- ``alertmanager``, ``blackbox``, ``prometheus-leaf``, ``prometheus-central``: the Debian binaries
  with the committed monitoring/ files, localised by :mod:`dr.monitoring` (short ``for:`` and
  intervals in copies; production files untouched);
- PostgreSQL ``db-01`` (primary) and ``cloud-db`` (streaming standby): :mod:`dr.lab.postgres`.

``Lab.down()`` stops exactly those (recorded PID + start time; PostgreSQL by its cluster state)
and keeps the evidence. ``Lab.reset()`` brings a lab that a drill changed back to the baseline:
Jenkins serving, no open incident, db-01 primary with cloud-db streaming from it, runner idle.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import yaml

from cost.atomic import write_json_atomic
from dr.lab.postgres import STATE_FILE as PG_STATE_FILE
from dr.lab.postgres import ClusterState, LocalPostgresCluster, find_pg_bindir
from dr.lab.procs import (
    LabError,
    find_binary,
    free_port,
    http_ok,
    is_ours,
    log_tail,
    spawn,
    stop,
    tcp_open,
    wait_until,
)
from dr.lab.runner import WorkflowRun
from dr.lab.state import (
    CLOUD_NODE,
    ONPREM_NODE,
    START_ORDER,
    Component,
    ComponentName,
    LabSettings,
    LabState,
)
from dr.monitoring import (
    MONITORING_DIR,
    RULES_DIR,
    localize_alertmanager_config,
    localize_prometheus_config,
    render_rules,
)

Say = Callable[[str], None]

APP_TABLE_DDL = """
CREATE TABLE IF NOT EXISTS app_rows (
    id bigserial PRIMARY KEY,
    writer text NOT NULL,
    seq integer NOT NULL,
    written_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (writer, seq)
)
"""
"""The lab's application table: a drill's writer inserts (writer, seq) rows and counts them."""

DEFAULT_LAB_DIRNAME = ".lab"


def default_lab_dir(project_dir: Path) -> Path:
    return project_dir / DEFAULT_LAB_DIRNAME


def hybridops_script() -> str:
    """The installed console script next to this interpreter (the venv), else on PATH."""
    script = Path(sys.executable).with_name("hybridops")
    if script.exists():
        return str(script)
    found = shutil.which("hybridops")
    if found is None:
        raise LabError("the hybridops console script is not installed: pip install -e .")
    return found


def dispatching_alerts(rules_dir: Path = RULES_DIR) -> list[str]:
    """Alert names that carry a ``dr_action`` label (the ones that reach the relay)."""
    names: list[str] = []
    for path in sorted(rules_dir.glob("*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for group in doc.get("groups", []):
            for rule in group.get("rules", []):
                if "alert" in rule and "dr_action" in (rule.get("labels") or {}):
                    names.append(str(rule["alert"]))
    return sorted(set(names))


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    port: int | None
    pid: int | None
    running: bool
    health: str
    detail: str = ""


class Lab:
    def __init__(self, lab_dir: Path, project_dir: Path, say: Say | None = None) -> None:
        self.dir = lab_dir.resolve()
        self.project_dir = project_dir.resolve()
        self.say: Say = say or (lambda _msg: None)

    # -- paths ---------------------------------------------------------------------------------
    @property
    def logs_dir(self) -> Path:
        return self.dir / "logs"

    @property
    def config_dir(self) -> Path:
        return self.dir / "config"

    @property
    def secrets_dir(self) -> Path:
        return self.dir / "secrets"

    @property
    def pg_dir(self) -> Path:
        return self.dir / "pg"

    @property
    def pg_template_dir(self) -> Path:
        return self.dir / "pg-template"

    @property
    def dsn_file(self) -> Path:
        return self.secrets_dir / "dsn.json"

    @property
    def notifications_file(self) -> Path:
        return self.dir / "notifications.jsonl"

    @property
    def drills_dir(self) -> Path:
        return self.dir / "drills"

    @property
    def runs_dir(self) -> Path:
        return self.dir / "runner" / "runs"

    @property
    def default_artefacts(self) -> Path:
        return self.dir / "artifacts"

    def load_state(self) -> LabState | None:
        return LabState.load(self.dir)

    def state(self) -> LabState:
        state = self.load_state()
        if state is None:
            raise LabError(f"no lab in {self.dir}: run `hybridops lab up`")
        return state

    # -- up ------------------------------------------------------------------------------------
    def is_up(self) -> bool:
        state = self.load_state()
        if state is None or set(state.components) != set(START_ORDER):
            return False
        return all(is_ours(c.process) for c in state.components.values()) and self._pg_running()

    def up(self) -> LabState:
        """Start the lab (a no-op when it already runs); returns its state."""
        if self.is_up():
            self.say("lab already up")
            return self.state()
        previous = self.load_state()
        if previous is not None and any(is_ours(c.process) for c in previous.components.values()):
            self.say("lab partly running: stopping the rest before a fresh start")
            self.down()
        binaries = self._check_binaries()
        started = time.monotonic()
        self.dir.mkdir(parents=True, exist_ok=True)
        for sub in (self.logs_dir, self.config_dir, self.secrets_dir, self.drills_dir):
            sub.mkdir(parents=True, exist_ok=True)
        self.secrets_dir.chmod(0o700)
        # Fresh monitoring state each start: old TSDB alert state or a relay ledger from another
        # lab would only confuse a drill (the evidence lives elsewhere and is kept).
        for stale in ("data", "relay-state"):
            shutil.rmtree(self.dir / stale, ignore_errors=True)
        settings = previous.settings if previous is not None else LabSettings()
        state = LabState(project_dir=str(self.project_dir), settings=settings)
        ports = {name: free_port() for name in START_ORDER}
        self._write_secrets()
        self._write_profiles(ports)
        components = self._components(state, ports, binaries)
        state.components = {c.name: c for c in components}
        state.save(self.dir)
        try:
            for component in components:
                self._start(component)
                state.save(self.dir)
            self.say("processes started; creating PostgreSQL db-01 + cloud-db")
            self._create_pg_pair()
            for component in components:
                self._wait_ready(component)
            self.say("components healthy; waiting for the Jenkins signal at the central Prometheus")
            self.wait_signal_armed(timeout=60)
        except BaseException:
            with contextlib.suppress(Exception):
                self.down()
            raise
        self.say(f"lab up in {time.monotonic() - started:.1f} s ({self.dir})")
        return state

    def _check_binaries(self) -> dict[str, str]:
        found = {
            name: find_binary(name)
            for name in ("prometheus", "prometheus-alertmanager", "prometheus-blackbox-exporter")
        }
        find_binary("jq")  # dr.yml's steps use it
        find_pg_bindir()  # PostgresNotInstalledError names the postgresql package
        return found

    def _write_secrets(self) -> None:
        for name in ("relay-token", "github-token"):
            path = self.secrets_dir / name
            if not path.exists():
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as fh:
                    fh.write(secrets.token_urlsafe(24) + "\n")

    def token(self, name: str = "github-token") -> str:
        return (self.secrets_dir / name).read_text(encoding="utf-8").strip()

    def profile_path(self, name: str) -> Path:
        return self.dir / "profiles" / f"{name}.yaml"

    def _write_profiles(self, ports: dict[ComponentName, int]) -> None:
        """The lab's DR profiles, derived from the committed stacks/dr/cloud-dr.yaml.

        Only the parts that point at real systems change: the database (the lab pair, plain
        streaming, with host access for failback) and the health/probe URLs (the fake Jenkins).
        ``alert`` keeps the trigger's on-prem probe (Jenkins answering healthy refuses a cutover:
        the alert may be stale); ``operator`` has none, for dispatches a person made after
        checking on-prem (a db-01 loss: Jenkins being up says nothing about db-01, whose state
        the promotion itself checks: it refuses while the old primary takes writes).
        """
        source = self.project_dir / "stacks" / "dr" / "cloud-dr.yaml"
        base = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
        jenkins = f"http://127.0.0.1:{ports['jenkins']}/login"
        base["database"] = {
            **(base.get("database") or {}),
            "mode": "postgres-streaming",
            "onprem_dsn_env": "HYBRIDOPS_DB_ONPREM_DSN",
            "cloud_dsn_env": "HYBRIDOPS_DB_CLOUD_DSN",
            "fence_mode": "read-only",
            "fence_timeout_s": 10,
            "promote_timeout_s": 30,
            "switchover_timeout_s": 120,
            "lab_cluster_dir": str(self.pg_dir),
            "onprem_node": ONPREM_NODE,
            "cloud_node": CLOUD_NODE,
        }
        # The lab has no cloud ingress to probe: the cloud health check is the promoted database
        # taking a real write (the driver adds it for postgres-streaming profiles).
        base["health"] = {"urls": [], "timeout_s": 30, "interval_s": 1}
        base["onprem_health"] = {"urls": [jenkins], "timeout_s": 30, "interval_s": 1}
        trigger = dict(base.get("trigger") or {})
        for name, probes in (("alert", [jenkins]), ("operator", [])):
            doc = {**base, "trigger": {**trigger, "onprem_probe_urls": probes}}
            path = self.profile_path(name)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(
                f"# hybridops lab DR profile '{name}', derived from stacks/dr/cloud-dr.yaml by "
                "dr/lab/lab.py\n" + yaml.safe_dump(doc, sort_keys=False),
                encoding="utf-8",
            )

    def run_env(
        self, *, artefacts: Path, profile: str = "alert", budget_policy: Path | None = None
    ) -> dict[str, str]:
        """The lab-only environment of a workflow run (the DSNs are added by the runner).

        No HYBRIDOPS_PROJECT_DIR: each job's workspace is a stand-in checkout (symlinks to the
        project), so what a step writes relative to the project (``hybridops cost decide``'s
        default ``output/artifacts``) stays in the run's directory, never in the real output/.
        """
        receiver = self.state().component("receiver")
        env = {
            "HYBRIDOPS_OFFLINE": "1",
            "HYBRIDOPS_DR_PROFILE": str(self.profile_path(profile)),
            "HYBRIDOPS_ARTEFACTS": str(artefacts),
            "HYBRIDOPS_NOTIFY_WEBHOOK_URL": f"{receiver.url}/hooks/hybridops",
        }
        if budget_policy is not None:
            env["HYBRIDOPS_BUDGET_POLICY"] = str(budget_policy)
        return env

    def _components(
        self, state: LabState, ports: dict[ComponentName, int], binaries: dict[str, str]
    ) -> list[Component]:
        s = state.settings
        py = sys.executable
        url = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        cfg = self.config_dir
        data = self.dir / "data"
        rules = render_rules(
            cfg / "rules",
            for_override={name: f"{s.alert_for_s}s" for name in dispatching_alerts()},
            interval=f"{s.evaluation_interval_s}s",
        )
        leaf_rules = [p for p in rules if p.name.startswith("leaf-")]
        central_rules = [p for p in rules if p.name.startswith("central-")]
        timing = {
            "scrape_interval": f"{s.scrape_interval_s}s",
            "evaluation_interval": f"{s.evaluation_interval_s}s",
        }
        leaf_cfg = localize_prometheus_config(
            MONITORING_DIR / "prometheus" / "leaf-onprem.yml",
            cfg / "prometheus-leaf.yml",
            targets={
                "jenkins-login": [f"{url['jenkins']}/login"],
                "prometheus": [f"127.0.0.1:{ports['prometheus-leaf']}"],
            },
            rule_files=leaf_rules,
            blackbox_address=f"127.0.0.1:{ports['blackbox']}",
            **timing,
        )
        central_cfg = localize_prometheus_config(
            MONITORING_DIR / "prometheus" / "central.yml",
            cfg / "prometheus-central.yml",
            targets={"federate-onprem": [f"127.0.0.1:{ports['prometheus-leaf']}"]},
            rule_files=central_rules,
            alertmanagers=[f"127.0.0.1:{ports['alertmanager']}"],
            **timing,
        )
        am_cfg = localize_alertmanager_config(
            MONITORING_DIR / "alertmanager" / "alertmanager.yml",
            cfg / "alertmanager.yml",
            webhook_urls={
                "platform-oncall": f"{url['receiver']}/alertmanager/platform-oncall",
                "dr-relay": f"{url['relay']}/alertmanager",
            },
            credentials_file=self.secrets_dir / "relay-token",
            group_wait=f"{s.group_wait_s}s",
            group_interval=f"{s.group_interval_s}s",
        )
        default_env = self._write_runner_env(url["receiver"])

        def prometheus(name: ComponentName, config: Path) -> list[str]:
            return [
                binaries["prometheus"],
                f"--config.file={config}",
                f"--storage.tsdb.path={data / name}",
                f"--web.listen-address=127.0.0.1:{ports[name]}",
                "--log.level=warn",
            ]

        def comp(name: ComponentName, argv: list[str], health: str) -> Component:
            return Component(
                name=name,
                port=ports[name],
                argv=argv,
                log=str(self.logs_dir / f"{name}.log"),
                health=health,
            )

        return [
            comp(
                "receiver",
                [py, "-m", "dr.lab.receiver", "--port", str(ports["receiver"]),
                 "--out", str(self.notifications_file)],
                f"tcp://127.0.0.1:{ports['receiver']}",
            ),
            comp(
                "jenkins",
                [py, "-m", "dr.lab.jenkins", "--port", str(ports["jenkins"])],
                f"{url['jenkins']}/login",
            ),
            comp(
                "runner",
                [py, "-m", "dr.lab.runner", "--lab-dir", str(self.dir),
                 "--project-dir", str(self.project_dir), "--port", str(ports["runner"]),
                 "--token-file", str(self.secrets_dir / "github-token"), "--repo", state.repo,
                 "--default-env", str(default_env), "--dsn-file", str(self.dsn_file)],
                f"{url['runner']}/healthz",
            ),
            comp(
                "relay",
                [hybridops_script(), "relay", "serve", "--port", str(ports["relay"]),
                 "--repo", state.repo, "--github-api-url", url["runner"],
                 "--github-token-file", str(self.secrets_dir / "github-token"),
                 "--auth-token-file", str(self.secrets_dir / "relay-token"),
                 "--state-dir", str(self.dir / "relay-state")],
                f"{url['relay']}/healthz",
            ),
            comp(
                "alertmanager",
                [binaries["prometheus-alertmanager"], f"--config.file={am_cfg}",
                 f"--storage.path={data / 'alertmanager'}",
                 f"--web.listen-address=127.0.0.1:{ports['alertmanager']}",
                 "--cluster.listen-address=", "--log.level=info"],
                f"{url['alertmanager']}/-/ready",
            ),
            comp(
                "blackbox",
                [binaries["prometheus-blackbox-exporter"],
                 f"--config.file={MONITORING_DIR / 'blackbox' / 'blackbox.yml'}",
                 f"--web.listen-address=127.0.0.1:{ports['blackbox']}"],
                f"{url['blackbox']}/metrics",
            ),
            comp("prometheus-leaf", prometheus("prometheus-leaf", leaf_cfg),
                 f"{url['prometheus-leaf']}/-/ready"),
            comp("prometheus-central", prometheus("prometheus-central", central_cfg),
                 f"{url['prometheus-central']}/-/ready"),
        ]  # fmt: skip

    def _write_runner_env(self, receiver_url: str) -> Path:
        """The lab env of runs that arrive while no drill armed the runner (a manual outage)."""
        path = self.dir / "runner" / "default-env.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        env = {
            "HYBRIDOPS_OFFLINE": "1",
            "HYBRIDOPS_DR_PROFILE": str(self.profile_path("alert")),
            "HYBRIDOPS_ARTEFACTS": str(self.default_artefacts),
            "HYBRIDOPS_NOTIFY_WEBHOOK_URL": f"{receiver_url}/hooks/hybridops",
        }
        write_json_atomic(path, json.dumps(env, indent=2))
        return path

    def _start(self, component: Component) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        # the lab's own processes must not inherit a drill's settings
        for key in [k for k in env if k.startswith(("HYBRIDOPS_", "GITHUB_"))]:
            del env[key]
        _popen, ref = spawn(component.argv, log=Path(component.log), env=env, cwd=self.project_dir)
        component.process = ref

    def _wait_ready(self, component: Component, timeout: float = 30) -> None:
        def ready() -> bool:
            if not is_ours(component.process):
                raise LabError(
                    f"{component.name} exited; {component.log}:\n{log_tail(Path(component.log))}"
                )
            return _healthy(component.health)

        try:
            wait_until(ready, timeout, f"{component.name} to answer {component.health}", 0.05)
        except LabError as exc:
            if "exited" in str(exc):
                raise
            raise LabError(f"{exc}; {component.log}:\n{log_tail(Path(component.log))}") from None

    # -- PostgreSQL ----------------------------------------------------------------------------
    def _template(self) -> Any:
        cluster = LocalPostgresCluster(self.pg_template_dir)
        if "template" in cluster.nodes:
            return cluster.node("template")
        return cluster.init_node("template")

    def _create_pg_pair(self) -> None:
        """A fresh db-01 (from the initdb template) and cloud-db streaming from it."""
        if (self.pg_dir / PG_STATE_FILE).exists():
            LocalPostgresCluster.open(self.pg_dir).stop_all()
        shutil.rmtree(self.pg_dir, ignore_errors=True)
        template = self._template()
        cluster = LocalPostgresCluster(self.pg_dir)
        primary = cluster.create_primary(ONPREM_NODE, template=template)
        standby = cluster.create_standby(CLOUD_NODE, primary=primary)
        with psycopg.connect(primary.dsn, autocommit=True, connect_timeout=5) as conn:
            conn.execute(APP_TABLE_DDL)
        fd = os.open(self.dsn_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump({"onprem": primary.dsn, "cloud": standby.dsn}, fh)
        wait_until(lambda: self.pg_baseline() is None, 20, "cloud-db to stream from db-01", 0.05)

    def dsns(self) -> dict[str, str]:
        """``{"onprem": ..., "cloud": ...}`` superuser DSNs (with passwords: never print them)."""
        try:
            data = json.loads(self.dsn_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise LabError(
                f"no PostgreSQL DSNs in {self.dsn_file}: run `hybridops lab up`"
            ) from exc
        return {"onprem": str(data["onprem"]), "cloud": str(data["cloud"])}

    def _pg_state(self) -> ClusterState | None:
        """cluster.json read without opening the cluster (opening rewrites it, and a driver run
        may be changing it at the same time)."""
        path = self.pg_dir / PG_STATE_FILE
        try:
            return ClusterState.model_validate_json(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def pg_pids(self) -> dict[str, int | None]:
        state = self._pg_state()
        return {n.name: n.pid for n in state.nodes} if state else {}

    def _pg_running(self) -> bool:
        state = self._pg_state()
        if state is None:
            return False
        names = {n.name for n in state.nodes}
        return {ONPREM_NODE, CLOUD_NODE} <= names and all(
            n.pid is not None and _postmaster_of(n.pid, self.pg_dir / n.name / "data")
            for n in state.nodes
            if n.name in (ONPREM_NODE, CLOUD_NODE)
        )

    def pg_role(self, which: str) -> str:
        """``primary`` (writable), ``fenced`` (primary refusing writes), ``standby``, ``down``."""
        try:
            with psycopg.connect(self.dsns()[which], autocommit=True, connect_timeout=2) as conn:
                row = conn.execute(
                    "SELECT pg_is_in_recovery(), current_setting('default_transaction_read_only')"
                ).fetchone()
        except psycopg.Error:
            return "down"
        assert row is not None
        if row[0]:
            return "standby"
        return "fenced" if row[1] == "on" else "primary"

    def pg_baseline(self) -> str | None:
        """None when db-01 is a writable primary and cloud-db streams from it; else why not."""
        onprem, cloud = self.pg_role("onprem"), self.pg_role("cloud")
        if (onprem, cloud) != ("primary", "standby"):
            return f"db-01 is {onprem}, cloud-db is {cloud}"
        with psycopg.connect(self.dsns()["onprem"], autocommit=True, connect_timeout=2) as conn:
            row = conn.execute(
                "SELECT state FROM pg_stat_replication WHERE application_name = %s",
                (CLOUD_NODE,),
            ).fetchone()
        if row is None or row[0] != "streaming":
            return f"cloud-db is not streaming from db-01 ({row[0] if row else 'not connected'})"
        return None

    def kill_db01(self) -> None:
        """SIGKILL db-01's postmaster and its children (the abrupt loss of the primary)."""
        LocalPostgresCluster.open(self.pg_dir).node(ONPREM_NODE).kill()

    # -- components ----------------------------------------------------------------------------
    def kill_component(self, name: ComponentName) -> float:
        """SIGKILL a component (a drill's fault); returns the epoch time of the kill."""
        from dr.lab.procs import kill

        state = self.state()
        component = state.component(name)
        at = time.time()
        if not kill(component.process):
            raise LabError(f"{name} is not running (pid {component.process})")
        component.process = None
        state.save(self.dir)
        return at

    def start_component(self, name: ComponentName) -> None:
        """(Re)start one component on its recorded port and wait until it answers."""
        state = self.state()
        component = state.component(name)
        if is_ours(component.process):
            return
        deadline = time.monotonic() + 10
        while not _port_free(component.port):  # a just-killed listener may linger briefly
            if time.monotonic() > deadline:
                raise LabError(f"port {component.port} of {name} is taken by another process")
            time.sleep(0.05)
        self._start(component)
        state.save(self.dir)
        self._wait_ready(component)

    # -- the runner's API ----------------------------------------------------------------------
    def _runner_url(self) -> str:
        return self.state().component("runner").url

    def runs(self) -> list[WorkflowRun]:
        r = httpx.get(f"{self._runner_url()}/_lab/runs", timeout=5)
        r.raise_for_status()
        return [WorkflowRun.model_validate(x) for x in r.json()]

    def arm(self, drill_id: str, env: dict[str, str]) -> None:
        r = httpx.put(
            f"{self._runner_url()}/_lab/arm", json={"drill_id": drill_id, "env": env}, timeout=5
        )
        r.raise_for_status()

    def disarm(self) -> None:
        with contextlib.suppress(httpx.HTTPError, LabError):
            httpx.delete(f"{self._runner_url()}/_lab/arm", timeout=5)

    def _github(self, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        state = self.state()
        return httpx.post(
            f"{self._runner_url()}/repos/{state.repo}{path}",
            json=body,
            headers={
                "Authorization": f"Bearer {self.token()}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
            },
            timeout=10,
        )

    def workflow_dispatch(self, inputs: dict[str, str], actor: str = "lab-operator") -> float:
        """An operator's "Run workflow" on dr.yml; returns the epoch time it was sent."""
        sent = time.time()
        r = self._github(
            "/actions/workflows/dr.yml/dispatches",
            {"ref": "main", "inputs": inputs, "lab_actor": actor},
        )
        if r.status_code != 204:
            raise LabError(f"workflow_dispatch refused: HTTP {r.status_code} {r.text}")
        return sent

    def cancel_run(self, run_id: int) -> None:
        r = self._github(f"/actions/runs/{run_id}/cancel")
        if r.status_code not in (202, 409):
            raise LabError(f"cancel of run {run_id} refused: HTTP {r.status_code} {r.text}")

    # -- Prometheus / Alertmanager -------------------------------------------------------------
    def query(self, promql: str, component: ComponentName = "prometheus-central") -> list[Any]:
        url = self.state().component(component).url
        r = httpx.get(f"{url}/api/v1/query", params={"query": promql}, timeout=5)
        r.raise_for_status()
        return list(r.json()["data"]["result"])

    def alert_state(self, alertname: str = "jenkins_critical_down") -> str | None:
        """``pending``/``firing`` at the central Prometheus, or None."""
        states = {
            s["metric"].get("alertstate") for s in self.query(f'ALERTS{{alertname="{alertname}"}}')
        }
        return "firing" if "firing" in states else "pending" if "pending" in states else None

    def jenkins_signal(self) -> str | None:
        values = [
            s["value"][1] for s in self.query('dr:jenkins_login_probe:success{site="onprem"}')
        ]
        return values[0] if values else None

    def wait_signal_armed(self, timeout: float = 60) -> None:
        """Until the central Prometheus sees Jenkins up, federated from the leaf (the signal the
        cutover alert watches) and no cutover alert is pending or firing."""
        wait_until(
            lambda: self.jenkins_signal() == "1" and self.alert_state() is None,
            timeout,
            "the federated Jenkins signal (=1) at the central Prometheus",
            0.2,
        )

    def open_incidents(self) -> list[WorkflowRun]:
        """dr-cutover dispatches whose incident (fingerprint, startsAt) saw no dr-recovered yet."""
        runs = self.runs()
        recovered = {
            (r.payload.get("fingerprint"), r.payload.get("startsAt"))
            for r in runs
            if r.event_type == "dr-recovered"
        }
        return [
            r
            for r in runs
            if r.event_type == "dr-cutover"
            and (r.payload.get("fingerprint"), r.payload.get("startsAt")) not in recovered
        ]

    # -- reset ---------------------------------------------------------------------------------
    def reset(self, timeout: float = 90) -> list[str]:
        """Back to the baseline; returns what had to be done (empty: it was at baseline)."""
        done: list[str] = []
        state = self.state()
        if not is_ours(state.component("jenkins").process):
            self.start_component("jenkins")
            done.append("restarted Jenkins")
        deadline = time.monotonic() + timeout
        if self.alert_state() is not None or self.jenkins_signal() != "1":
            wait_until(
                lambda: self.alert_state() is None and self.jenkins_signal() == "1",
                max(1.0, deadline - time.monotonic()),
                "the Jenkins alert to clear",
                0.2,
            )
            done.append("waited for the Jenkins alert to clear")
        if self.open_incidents():
            # Alertmanager must have told the relay the incident resolved: otherwise its
            # notification log still says "firing sent" and the next outage would not notify.
            wait_until(
                lambda: not self.open_incidents(),
                max(1.0, deadline - time.monotonic()),
                "dr-recovered for the last incident",
                0.2,
            )
            done.append("waited for dr-recovered")
        busy = [r for r in self.runs() if r.status != "completed"]
        if busy:
            with contextlib.suppress(LabError):
                wait_until(
                    lambda: all(r.status == "completed" for r in self.runs()),
                    min(60.0, max(1.0, deadline - time.monotonic())),
                    "workflow runs to finish",
                    0.2,
                )
            for run in self.runs():
                if run.status != "completed":
                    self.cancel_run(run.run_id)
            wait_until(
                lambda: all(r.status == "completed" for r in self.runs()),
                30,
                "cancelled workflow runs to stop",
                0.2,
            )
            done.append(f"waited for {len(busy)} workflow run(s)")
        why = self.pg_baseline() if self._pg_running() else "PostgreSQL is not running"
        if why is not None:
            self.say(f"rebuilding PostgreSQL: {why}")
            self._create_pg_pair()
            done.append(f"rebuilt db-01 + cloud-db ({why})")
        return done

    # -- down and status -----------------------------------------------------------------------
    def down(self) -> list[str]:
        """Stop what ``up`` started (runner first: it cancels a running step), keep the evidence."""
        stopped: list[str] = []
        state = self.load_state()
        if state is not None:
            runner = state.components.get("runner")
            if runner is not None and stop(runner.process, timeout=20):
                stopped.append(f"runner (pid {runner.process.pid if runner.process else '?'})")
            threads = []
            lock = threading.Lock()

            def stop_one(c: Component) -> None:
                if stop(c.process, timeout=10):
                    with lock:
                        stopped.append(f"{c.name} (pid {c.process.pid if c.process else '?'})")

            for c in state.components.values():
                if c.name != "runner":
                    t = threading.Thread(target=stop_one, args=(c,))
                    t.start()
                    threads.append(t)
            for t in threads:
                t.join()
            for c in state.components.values():
                c.process = None
            state.save(self.dir)
        if (self.pg_dir / PG_STATE_FILE).exists():
            pids = [p for p in self.pg_pids().values() if p is not None]
            LocalPostgresCluster.open(self.pg_dir).stop_all()
            if pids:
                stopped.append(f"postgresql (pids {', '.join(map(str, pids))})")
        return stopped

    def status(self) -> list[ComponentStatus]:
        state = self.state()
        out = []
        for name in START_ORDER:
            c = state.components.get(name)
            if c is None:
                continue
            running = is_ours(c.process)
            healthy = running and _healthy(c.health)
            out.append(
                ComponentStatus(
                    name=name,
                    port=c.port,
                    pid=c.process.pid if c.process else None,
                    running=running,
                    health="healthy" if healthy else "unhealthy" if running else "stopped",
                    detail=c.url if name != "receiver" else f"{c.url}/hooks/hybridops",
                )
            )
        pg = self._pg_state()
        for node in pg.nodes if pg else []:
            alive = node.pid is not None and _postmaster_of(
                node.pid, self.pg_dir / node.name / "data"
            )
            role = (
                self.pg_role("onprem" if node.name == ONPREM_NODE else "cloud") if alive else "down"
            )
            out.append(
                ComponentStatus(
                    name=f"postgresql {node.name}",
                    port=node.port,
                    pid=node.pid if alive else None,
                    running=alive,
                    health=role if alive else "stopped",
                    detail=f"127.0.0.1:{node.port}",
                )
            )
        return out

    def recorded_pids(self) -> dict[str, int]:
        """Every PID the lab recorded (components and PostgreSQL postmasters)."""
        pids: dict[str, int] = {}
        state = self.load_state()
        for c in state.components.values() if state else []:
            if c.process is not None:
                pids[c.name] = c.process.pid
        for name, pid in self.pg_pids().items():
            if pid is not None:
                pids[f"postgresql {name}"] = pid
        return pids

    @contextlib.contextmanager
    def armed(self, drill_id: str, env: dict[str, str]) -> Iterator[None]:
        self.arm(drill_id, env)
        try:
            yield
        finally:
            self.disarm()


def _healthy(health: str) -> bool:
    if health.startswith("tcp://"):
        return tcp_open(int(health.rsplit(":", 1)[1]))
    return http_ok(health)


def _port_free(port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _postmaster_of(pid: int, datadir: Path) -> bool:
    from dr.lab.procs import is_alive

    if not is_alive(pid):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return str(datadir).encode() in cmdline
