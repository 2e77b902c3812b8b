"""Operator docs: every `hybridops ...` command in docs/ parses against the real CLI, the runbooks
the alerts link to exist and have the sections an on-call needs, and the HOWTO covers the loop."""

from __future__ import annotations

import re

import pytest
import yaml

from tests.workflows.cli_commands import REPO, Command, check, commands_in_markdown, root_command

DOCS = REPO / "docs"
RUNBOOKS = (
    "dr-cutover",
    "dr-failback",
    "cost-guardrail-breach",
    "jenkins-controller-outage",
    "db-01-failover",
)
SECTIONS = ("When to use it", "Preconditions", "Steps", "Verify", "Roll back", "Evidence it leaves")
# The local lab is being added to the CLI; until it is, exactly these may appear, in one section.
LAB_COMMANDS = {("lab", "up"), ("lab", "drill", "jenkins-outage"), ("lab", "down")}


def _all_commands() -> list[Command]:
    return [c for path in sorted(DOCS.rglob("*.md")) for c in commands_in_markdown(path)]


def _has_lab() -> bool:
    ctx = root_command().make_context("hybridops", [], resilient_parsing=True)
    return root_command().get_command(ctx, "lab") is not None


def test_every_hybridops_command_in_the_docs_parses():
    """Fenced blocks in docs/**.md parse completely (required options included); inline code
    in prose names existing sub-commands and options."""
    commands = _all_commands()
    assert len(commands) >= 30
    problems = []
    for c in commands:
        if c.argv[:1] == ("lab",) and not _has_lab():  # pragma: no cover - until the lab lands
            if c.argv not in LAB_COMMANDS:
                problems.append(
                    f"{c.where}: `hybridops {' '.join(c.argv)}`: only {sorted(LAB_COMMANDS)} may be documented"
                )
            continue
        problems += [f"{c.where}: {p}" for p in check(c.argv, complete=not c.inline)]
    assert problems == []


def test_the_local_lab_is_documented_in_one_marked_section():
    """In the operator docs of issue 8, `hybridops lab` appears only in the HOWTO's "Local lab"
    section, with exactly the three commands (the lab's own page is docs/lab.md)."""
    mine = [DOCS / "HOWTO_dr_cost_drill.md", *(DOCS / "runbooks" / f"{n}.md" for n in RUNBOOKS)]
    mine.append(DOCS / "adr" / "0001-github-actions-stateless-orchestrator.md")
    lab = [c for path in mine for c in commands_in_markdown(path) if c.argv[:1] == ("lab",)]
    assert {c.argv for c in lab} == LAB_COMMANDS
    assert {c.where.split(":")[0] for c in lab} == {"docs/HOWTO_dr_cost_drill.md"}
    howto = (DOCS / "HOWTO_dr_cost_drill.md").read_text(encoding="utf-8")
    sections = re.split(r"^## ", howto, flags=re.M)
    with_lab = [s for s in sections if "hybridops lab" in s]
    assert len(with_lab) == 1 and with_lab[0].startswith("Local lab")


def _sections(text: str) -> list[tuple[str, str]]:
    parts = re.split(r"^## (.+)$", text, flags=re.M)
    return list(zip(parts[1::2], parts[2::2], strict=True))


@pytest.mark.parametrize("name", RUNBOOKS)
def test_runbook_has_the_sections_an_on_call_needs(name):
    """When to use it, preconditions, numbered steps with exact commands, verify, roll back, evidence."""
    text = (DOCS / "runbooks" / f"{name}.md").read_text(encoding="utf-8")
    assert text.startswith("# Runbook: ")
    sections = _sections(text)
    assert [title for title, _ in sections] == list(SECTIONS)
    body = dict(sections)
    steps = body["Steps"]
    numbers = [int(n) for n in re.findall(r"^(\d+)\. ", steps, flags=re.M)]
    assert len(numbers) >= 3 and numbers == list(range(1, len(numbers) + 1))
    assert steps.count("```bash") >= 3
    assert [c for c in commands_in_markdown(DOCS / "runbooks" / f"{name}.md")] or "```bash" in steps
    for title in ("Verify", "Roll back", "Evidence it leaves"):
        assert len(body[title].split()) >= 20, f"{name}: {title} is too thin"
    assert "TODO" not in text and "TBD" not in text


def test_runbook_links_in_the_alert_rules_resolve():
    """Every runbook_url annotation in monitoring/rules points at a runbook that exists."""
    urls = set()
    for path in (REPO / "monitoring" / "rules").glob("*.yml"):
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            for rule in group["rules"]:
                if "runbook_url" in rule.get("annotations", {}):
                    urls.add(rule["annotations"]["runbook_url"])
    assert urls
    assert {u for u in urls if not (REPO / u).is_file()} == set()
    assert urls <= {f"docs/runbooks/{n}.md" for n in RUNBOOKS}


def test_howto_walks_the_whole_loop():
    """The HOWTO fires a drill with amtool (the labels the relay maps), follows the relay, the
    workflow and the decision, and inspects the evidence files."""
    from dr.relay.mapping import DR_ACTION_LABEL, DRILL_LABEL

    howto = (DOCS / "HOWTO_dr_cost_drill.md").read_text(encoding="utf-8")
    fire = re.search(r"amtool alert add (alertname=.+)", howto)
    assert (
        fire
        and f"{DR_ACTION_LABEL}=cutover" in fire.group(1)
        and f"{DRILL_LABEL}=true" in fire.group(1)
    )
    for needle in (
        "hybridops_relay_dispatched",
        "gh run watch",
        "dr-approval",
        "gh run download",
        "record.json",
        "summary.md",
        "journal.jsonl",
        "decision-",
        "--end=",
        "dr-recovered",
    ):
        assert needle in howto, needle


def test_adr_0001_records_the_decision():
    text = (DOCS / "adr" / "0001-github-actions-stateless-orchestrator.md").read_text(
        encoding="utf-8"
    )
    assert text.startswith("# ADR 0001: ")
    assert [title for title, _ in _sections(text)] == ["Context", "Decision", "Consequences"]
    assert re.search(r"^Status: accepted", text, flags=re.M)
