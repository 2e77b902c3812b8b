"""The report as JSON: the report model itself, money as decimal strings."""

from __future__ import annotations

import json

from cost.report import CostReport


def render_json(report: CostReport) -> str:
    return json.dumps(report.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
