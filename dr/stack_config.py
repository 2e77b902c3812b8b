"""Stack configuration files and ``--set`` overrides (what-if planning).

Values follow Pulumi's model: a top-level key is ``namespace:name``; plain values are strings to
the program (``hybridops:drMode: active``); structured values are objects. A ``--set`` value is a
string too (pydantic turns ``"5"`` into 5 where a number is expected), unless it is a JSON/YAML
list or object. A dotted key sets a path inside a structured value, like ``pulumi config set --path``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dr.errors import ConfigError, UsageError
from dr.project import list_stacks, stack_file

DEFAULT_NAMESPACE = "hybridops"


@dataclass(frozen=True)
class StackConfig:
    stack: str
    path: Path
    values: dict[str, Any]
    """Full key (``hybridops:drMode``) -> value, as in the stack file."""
    secure_keys: frozenset[str] = field(default_factory=frozenset)
    """Keys whose value is encrypted (``secure: v1:...``) in the file: unreadable without the CLI."""
    overrides: dict[str, Any] = field(default_factory=dict)

    @property
    def display_path(self) -> str:
        try:
            return str(self.path.relative_to(Path.cwd()))
        except ValueError:
            return str(self.path)

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(qualify(key), default)

    def with_overrides(self, overrides: Mapping[str, Any]) -> StackConfig:
        values = copy.deepcopy(self.values)
        for key, value in overrides.items():
            _set_path(values, key, value, source=self.display_path)
        secure = self.secure_keys - {k.split(".", 1)[0] for k in overrides}
        return StackConfig(
            self.stack, self.path, values, frozenset(secure), {**self.overrides, **overrides}
        )

    def runtime_values(self) -> dict[str, str]:
        """What the Pulumi runtime hands the program: strings, with structured values as JSON."""
        return {
            key: value if isinstance(value, str) else json.dumps(value)
            for key, value in self.values.items()
            if key not in self.secure_keys
        }


def qualify(key: str) -> str:
    head, dot, rest = key.partition(".")
    if ":" not in head:
        head = f"{DEFAULT_NAMESPACE}:{head}"
    return head + dot + rest


def load_stack_config(project_dir: Path, stack: str) -> StackConfig:
    path = stack_file(project_dir, stack)
    if not path.is_file():
        known = ", ".join(list_stacks(project_dir)) or "none"
        raise ConfigError(
            f"unknown stack {stack!r}: no {path.relative_to(project_dir)} (known stacks: {known})"
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    config = data.get("config") or {}
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: 'config' must be a mapping")
    values: dict[str, Any] = {}
    secure: set[str] = set()
    for key, value in config.items():
        if not isinstance(key, str) or ":" not in key:
            raise ConfigError(f"{path}: config key {key!r} must be 'namespace:name'")
        if isinstance(value, dict) and set(value) == {"secure"}:
            secure.add(key)
        values[key] = _stringify_scalars(value, top=True)
    return StackConfig(stack, path, values, frozenset(secure))


def _stringify_scalars(value: Any, *, top: bool) -> Any:
    # Pulumi passes top-level scalars to the program as strings; inside objects JSON types stay.
    if top and isinstance(value, bool):
        return "true" if value else "false"
    if top and isinstance(value, int | float):
        return str(value)
    return value


def parse_overrides(items: Iterable[str]) -> dict[str, Any]:
    """``KEY=VALUE`` items from ``--set``; a malformed one is a usage error naming it."""
    out: dict[str, Any] = {}
    for item in items:
        key, eq, raw = item.partition("=")
        key = key.strip()
        if not eq or not key or key.startswith(".") or key.endswith(".") or ".." in key:
            raise UsageError(f"--set {item!r}: expected KEY=VALUE (e.g. --set drMode=active)")
        if raw.strip()[:1] in ("[", "{"):
            try:
                value: Any = yaml.safe_load(raw)
            except yaml.YAMLError as exc:
                raise UsageError(f"--set {item!r}: value is not valid YAML/JSON: {exc}") from None
        else:
            value = raw
        out[qualify(key)] = value
    return out


def _set_path(values: dict[str, Any], key: str, value: Any, *, source: str) -> None:
    head, _, rest = key.partition(".")
    if not rest:
        values[head] = value
        return
    node = values.get(head)
    if node is None:
        node = values[head] = {}
    if not isinstance(node, dict):
        raise UsageError(f"--set {key}: {head} in {source} is not an object")
    parts = rest.split(".")
    for part in parts[:-1]:
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise UsageError(f"--set {key}: {part} in {source} is not an object")
        node = child
    node[parts[-1]] = value
