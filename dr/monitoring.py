"""Render the committed monitoring/ configuration for tests and the local lab.

monitoring/ holds production values (``for: 5m``, 15 s intervals, real host names). Tests and the
lab need the same rules with short ``for:`` and intervals, and the same configs pointed at
loopback ports. These helpers write such copies into a directory; they never edit monitoring/.
Pure file-to-file transforms with PyYAML, no network.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from dr.errors import ConfigError

MONITORING_DIR = Path(__file__).resolve().parent.parent / "monitoring"
RULES_DIR = MONITORING_DIR / "rules"


def _load(path: Path) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path} is not a YAML mapping")
    return data


def _dump(data: Mapping[str, Any], path: Path) -> Path:
    import yaml

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(dict(data), sort_keys=False), encoding="utf-8")
    return path


def override_rules(
    groups_doc: Mapping[str, Any],
    *,
    for_override: str | Mapping[str, str] | None = None,
    interval: str | None = None,
) -> dict[str, Any]:
    """A copy of a rule-file document with ``for:`` and group ``interval:`` replaced.

    ``for_override`` is one duration for every alerting rule, or a mapping alertname -> duration
    (alerts not named keep theirs). Recording rules have no ``for:`` and are left alone.
    """
    groups = []
    for group in groups_doc.get("groups", []):
        group = dict(group)
        if interval is not None:
            group["interval"] = interval
        rules = []
        for rule in group.get("rules", []):
            rule = dict(rule)
            name = rule.get("alert")
            if name is not None and for_override is not None:
                if isinstance(for_override, str):
                    rule["for"] = for_override
                elif name in for_override:
                    rule["for"] = for_override[name]
            rules.append(rule)
        group["rules"] = rules
        groups.append(group)
    return {**groups_doc, "groups": groups}


def render_rules(
    out_dir: Path,
    *,
    for_override: str | Mapping[str, str] | None = None,
    interval: str | None = None,
    rules_dir: Path = RULES_DIR,
) -> list[Path]:
    """Write every ``rules_dir/*.yml`` into ``out_dir`` with the overrides applied."""
    sources = sorted(rules_dir.glob("*.yml"))
    if not sources:
        raise ConfigError(f"no rule files in {rules_dir}")
    return [
        _dump(
            override_rules(_load(src), for_override=for_override, interval=interval),
            out_dir / src.name,
        )
        for src in sources
    ]


def localize_prometheus_config(
    src: Path,
    dst: Path,
    *,
    targets: Mapping[str, Sequence[str]],
    rule_files: Sequence[Path],
    blackbox_address: str | None = None,
    alertmanagers: Sequence[str] = (),
    scrape_interval: str | None = None,
    evaluation_interval: str | None = None,
) -> Path:
    """Write ``src`` with loopback targets: the lab's version of a leaf or central config.

    Keeps only the jobs named in ``targets`` (with their labels, params and relabelling), points
    the blackbox relabel rule at ``blackbox_address`` and alerting at ``alertmanagers``.
    """
    doc = _load(src)
    glob = dict(doc.get("global", {}))
    if scrape_interval is not None:
        glob["scrape_interval"] = scrape_interval
        glob["scrape_timeout"] = scrape_interval
    if evaluation_interval is not None:
        glob["evaluation_interval"] = evaluation_interval
    doc["global"] = glob
    doc["rule_files"] = [str(p) for p in rule_files]
    jobs = []
    for job in doc.get("scrape_configs", []):
        name = job["job_name"]
        if name not in targets:
            continue
        job = {k: v for k, v in job.items() if k not in ("scrape_interval", "scrape_timeout")}
        static = job.get("static_configs") or [{}]
        job["static_configs"] = [{**static[0], "targets": list(targets[name])}]
        if blackbox_address is not None and "relabel_configs" in job:
            job["relabel_configs"] = [
                {**r, "replacement": blackbox_address}
                if r.get("target_label") == "__address__"
                else dict(r)
                for r in job["relabel_configs"]
            ]
        jobs.append(job)
    missing = set(targets) - {j["job_name"] for j in jobs}
    if missing:
        raise ConfigError(f"{src} has no scrape job named {', '.join(sorted(missing))}")
    doc["scrape_configs"] = jobs
    if alertmanagers:
        doc["alerting"] = {
            "alertmanagers": [{"static_configs": [{"targets": list(alertmanagers)}]}]
        }
    else:
        doc.pop("alerting", None)
    return _dump(doc, dst)


def localize_alertmanager_config(
    src: Path,
    dst: Path,
    *,
    webhook_urls: Mapping[str, str],
    credentials_file: Path,
    group_wait: str | None = None,
    group_interval: str | None = None,
    repeat_interval: str | None = None,
) -> Path:
    """Write ``src`` with every receiver turned into a loopback webhook.

    ``webhook_urls`` maps each receiver name to a URL (the human receiver's email becomes a
    webhook sink the lab can read); ``credentials_file`` is set wherever the original used one.
    Routing (matchers, ``continue``, grouping keys) is kept as committed.
    """
    doc = _load(src)
    doc["global"] = {
        k: v for k, v in doc.get("global", {}).items() if not str(k).startswith("smtp_")
    }
    receivers = []
    for receiver in doc.get("receivers", []):
        name = receiver["name"]
        if name not in webhook_urls:
            raise ConfigError(f"no loopback URL given for receiver {name!r}")
        original = (receiver.get("webhook_configs") or [{}])[0]
        hook: dict[str, Any] = {"url": webhook_urls[name], "send_resolved": True}
        if "max_alerts" in original:
            hook["max_alerts"] = original["max_alerts"]
        if original.get("http_config", {}).get("authorization"):
            hook["http_config"] = {
                "authorization": {"type": "Bearer", "credentials_file": str(credentials_file)}
            }
        receivers.append({"name": name, "webhook_configs": [hook]})
    doc["receivers"] = receivers

    def timing(route: dict[str, Any], root: bool = False) -> dict[str, Any]:
        route = dict(route)
        for key, value in (
            ("group_wait", group_wait),
            ("group_interval", group_interval),
            ("repeat_interval", repeat_interval),
        ):
            if value is not None and (root or key in route):
                route[key] = value
        if "routes" in route:
            route["routes"] = [timing(r) for r in route["routes"]]
        return route

    doc["route"] = timing(doc["route"], root=True)
    return _dump(doc, dst)
