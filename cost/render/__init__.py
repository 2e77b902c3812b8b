"""Renderers: pure functions of :class:`cost.report.CostReport` (no pricing, no files)."""

from __future__ import annotations

from cost.render.json import render_json
from cost.render.markdown import MARKER, render_markdown
from cost.render.table import render_table

FORMATS = ("table", "json", "markdown")

__all__ = ["FORMATS", "MARKER", "render_json", "render_markdown", "render_table"]
