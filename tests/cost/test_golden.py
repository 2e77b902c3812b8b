"""Golden files pin the JSON and Markdown estimate of the reference stacks.

The estimates are made from plans recorded from the offline engine (``fixtures/plans``), so the
goldens pin the estimator and renderers; ``test_recorded_plans_match_the_stacks`` pins the plans to
the stacks. Regenerate both (then review the diff)::

    HYBRIDOPS_UPDATE_GOLDENS=1 pytest tests/cost/test_golden.py
"""

from __future__ import annotations

import json

import pytest

from cost.estimator import estimate
from cost.render import render_json, render_markdown
from tests.cost.conftest import FIXED_NOW, GOLDEN, PLANS, REFERENCE, REGENERATE, UPDATE_GOLDENS


def _report(name, recorded_plan, catalogs, stack_usage):
    stack, _ = REFERENCE[name]
    return estimate(
        recorded_plan(name),
        catalogs,
        usage=stack_usage(stack),
        catalogs=catalogs.infos,
        generated_at=FIXED_NOW,
    )


def _check(path, text):
    if UPDATE_GOLDENS:
        path.write_text(text, encoding="utf-8")
        return
    assert path.is_file(), f"missing golden {path.name}; create it with: {REGENERATE}"
    expected = path.read_text(encoding="utf-8")
    assert text == expected, (
        f"{path.name} differs from the golden; if the change is intended: {REGENERATE}"
    )


def _resources(plan):
    return [r.model_dump(mode="json") for r in plan.resources]


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_recorded_plans_match_the_stacks(name, offline_plan):
    """The recorded plans are what the offline engine plans for the reference stacks today."""
    stack, overrides = REFERENCE[name]
    live = offline_plan(stack, **overrides)
    path = PLANS / f"{name}.json"
    if UPDATE_GOLDENS:
        recorded = live.model_copy(update={"created_at": FIXED_NOW})
        doc = recorded.model_dump(mode="json", exclude={"resources": {"__all__": {"inputs"}}})
        path.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
        return
    from cost.plan import Plan

    recorded = Plan.model_validate_json(path.read_text(encoding="utf-8"))
    assert _resources(recorded) == _resources(live), (
        f"stack {stack} plans differently now: {REGENERATE}"
    )
    assert recorded.config == live.config and recorded.overrides == live.overrides


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_json_golden(name, recorded_plan, catalogs, stack_usage):
    """`cost estimate --format json` of each reference plan is exactly the golden."""
    _check(
        GOLDEN / f"{name}.json", render_json(_report(name, recorded_plan, catalogs, stack_usage))
    )


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_markdown_golden(name, recorded_plan, catalogs, stack_usage):
    """The PR comment of each reference plan is exactly the golden."""
    _check(
        GOLDEN / f"{name}.md", render_markdown(_report(name, recorded_plan, catalogs, stack_usage))
    )
