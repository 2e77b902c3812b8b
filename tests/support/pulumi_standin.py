"""A stand-in for the pulumi CLI, compatible with ``pulumi.automation.PulumiCommand``.

The automation API runs ``PulumiCommand.run(args, ...)`` for every CLI call. This stand-in
answers those calls the way the CLI does (same arguments, same stdout JSON, same error texts,
same exit codes) against a small in-memory backend, and for preview/up/refresh it *replays
recorded engine events* (JSON lines in the engine's documented event format,
https://github.com/pulumi/pulumi/blob/master/pkg/apitype/events.go) to the ``--event-log``
target: a file for CLIs <= 3.205, a gRPC ``Events`` stream (``tcp://host:port``) after that,
exactly as the SDK expects. Nothing in product code knows about it.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from pulumi.automation._cmd import CommandResult
from pulumi.automation.errors import create_command_error
from semver import VersionInfo

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "engine_events"

LOCK_ERROR = "error: [409] Conflict: Another update is currently in progress.\n"


def load_events(name: str, **substitutions: str) -> list[dict[str, Any]]:
    text = (FIXTURES / name).read_text(encoding="utf-8")
    for key, value in substitutions.items():
        text = text.replace("{{" + key + "}}", value)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@dataclass
class StackState:
    outputs: dict[str, Any] = field(default_factory=dict)
    secret_outputs: set[str] = field(default_factory=set)
    history: list[dict[str, Any]] = field(default_factory=list)
    locked_by_other_update: bool = False


# A scenario picks the events to replay: (command, effective config, stack state) -> (events, exit code, stderr)
Scenario = Callable[[str, dict[str, Any], StackState], tuple[list[dict[str, Any]], int, str]]


class StandInPulumi:
    command = "pulumi"

    def __init__(
        self,
        project_dir: Path,
        scenario: Scenario,
        *,
        stacks: dict[str, StackState] | None = None,
        version: str = "3.210.0",
        outputs_from_config: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        state_file: Path | None = None,
    ) -> None:
        self.project_dir = project_dir
        self.scenario = scenario
        self.state_file = state_file
        self.stacks = stacks if stacks is not None else {}
        if state_file is not None and state_file.exists():
            saved = json.loads(state_file.read_text())
            self.stacks = {
                name: StackState(
                    outputs=v["outputs"], history=v["history"], locked_by_other_update=v["locked"]
                )
                for name, v in saved.items()
            }
        self.version = VersionInfo.parse(version)
        self.outputs_from_config = outputs_from_config or (lambda cfg: {})
        self.calls: list[list[str]] = []

    # --- PulumiCommand interface -----------------------------------------------------------

    def run(
        self,
        args: list[str],
        cwd: str,
        additional_env: Any,
        on_output: Any = None,
        on_error: Any = None,
    ) -> CommandResult:
        argv = [a for a in args if a != "--non-interactive"]
        self.calls.append(argv)
        try:
            stdout, stderr, code = self._dispatch(argv)
        except _CliExit as exit_:
            stdout, stderr, code = "", exit_.stderr, exit_.code
        if on_output and stdout:
            for line in stdout.splitlines():
                on_output(line)
        self._save()
        result = CommandResult(stdout=stdout, stderr=stderr, code=code)
        if code != 0:
            raise create_command_error(result)
        return result

    def _save(self) -> None:
        """The backend outlives the process when a state file is given (crash/resume tests)."""
        if self.state_file is None:
            return
        data = {
            name: {
                "outputs": st.outputs,
                "history": st.history,
                "locked": st.locked_by_other_update,
            }
            for name, st in self.stacks.items()
        }
        self.state_file.write_text(json.dumps(data))

    # --- commands -----------------------------------------------------------------------

    def _dispatch(self, argv: list[str]) -> tuple[str, str, int]:
        head = argv[0]
        if head == "stack" and argv[1] == "select":
            self._state(_opt(argv, "--stack"))
            return "", "", 0
        if head == "stack" and argv[1] == "output":
            state = self._state(_opt(argv, "--stack"))
            show = "--show-secrets" in argv
            out = {
                k: (v if show or k not in state.secret_outputs else "[secret]")
                for k, v in state.outputs.items()
            }
            return json.dumps(out), "", 0
        if head == "stack" and argv[1] == "history":
            state = self._state(_opt(argv, "--stack"))
            return (
                json.dumps(
                    list(reversed(state.history))[:1]
                    if "--page-size" in argv
                    else list(reversed(state.history))
                ),
                "",
                0,
            )
        if head == "config" and argv[1] == "set":
            return self._config_set(argv)
        if head == "config" and "--json" in argv:
            stack = _opt(argv, "--stack")
            values = self._config(stack)
            return (
                json.dumps(
                    {
                        k: {
                            "value": json.dumps(v) if not isinstance(v, str) else v,
                            "secret": False,
                        }
                        for k, v in values.items()
                    }
                ),
                "",
                0,
            )
        if head in ("preview", "up", "refresh"):
            return self._operation(head, argv)
        raise _CliExit(f"error: the stand-in does not implement `pulumi {' '.join(argv[:2])}`\n", 2)

    def _state(self, stack: str) -> StackState:
        if stack not in self.stacks:
            raise _CliExit(f"error: no stack named '{stack}' found\n", 255)
        return self.stacks[stack]

    def _stack_file(self, stack: str) -> Path:
        return self.project_dir / "stacks" / f"Pulumi.{stack}.yaml"

    def _config(self, stack: str, config_file: str | None = None) -> dict[str, Any]:
        path = Path(config_file) if config_file else self._stack_file(stack)
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return dict(data.get("config") or {})

    def _config_set(self, argv: list[str]) -> tuple[str, str, int]:
        stack = _opt(argv, "--stack")
        self._state(stack)
        value = argv[argv.index("--") + 1]
        key = argv[2] if argv[2] != "--path" else argv[3]
        path = self._stack_file(stack)
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        config = data.setdefault("config", {})
        if "--path" in argv and "." in key:
            head, *parts = key.split(".")
            node = config.setdefault(head, {})
            for part in parts[:-1]:
                node = node.setdefault(part, {})
            node[parts[-1]] = value
        else:
            config[key] = value
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        return "", "", 0

    def _operation(self, op: str, argv: list[str]) -> tuple[str, str, int]:
        stack = _opt(argv, "--stack") if "--stack" in argv else self._selected_stack()
        state = self._state(stack)
        if state.locked_by_other_update and op != "preview":
            raise _CliExit(LOCK_ERROR, 255)
        config = self._config(
            stack, _opt(argv, "--config-file") if "--config-file" in argv else None
        )
        events, code, stderr = self.scenario(op, config, state)
        started = datetime.now(UTC)
        self._emit(_opt(argv, "--event-log"), events)
        if code == 0 and op == "up":
            state.outputs = dict(self.outputs_from_config(config))
        if op in ("up", "refresh"):
            changes = next(
                (e["summaryEvent"]["resourceChanges"] for e in events if "summaryEvent" in e), {}
            )
            state.history.append(
                {
                    "version": len(state.history) + 1,
                    "kind": op,
                    "startTime": started.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                    "endTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                    "message": _opt(argv, "--message") if "--message" in argv else "",
                    "environment": {"exec.kind": "auto.local"},
                    "config": {},
                    "result": "succeeded" if code == 0 else "failed",
                    "resourceChanges": changes,
                }
            )
        stdout = f"{'Previewing' if op == 'preview' else 'Updating'} ({stack}):\n"
        return stdout, stderr, code

    def _selected_stack(self) -> str:
        if len(self.stacks) == 1:
            return next(iter(self.stacks))
        raise _CliExit("error: no stack selected\n", 255)

    def _emit(self, target: str, events: list[dict[str, Any]]) -> None:
        stamped = []
        for i, event in enumerate(events):
            event = copy.deepcopy(event)
            event["sequence"] = i
            event.setdefault("timestamp", int(time.time()))
            stamped.append(json.dumps(event))
        if target.startswith("tcp://"):
            _send_grpc(target.removeprefix("tcp://"), stamped)
        else:
            with open(target, "a", encoding="utf-8") as f:
                for line in stamped:
                    f.write(line + "\n")


class _CliExit(Exception):
    def __init__(self, stderr: str, code: int) -> None:
        super().__init__(stderr)
        self.stderr = stderr
        self.code = code


def _opt(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def _send_grpc(address: str, lines: list[str]) -> None:
    """Stream events to the automation API's Events service, as the CLI does after 3.205."""
    import grpc
    from pulumi.runtime.proto import events_pb2, events_pb2_grpc

    with grpc.insecure_channel(address) as channel:
        stub = events_pb2_grpc.EventsStub(channel)
        stub.StreamEvents(iter([events_pb2.EventRequest(event=line) for line in lines]))
