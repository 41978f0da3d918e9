"""Assemble the report file: static HTML, the JSON data blob, and the inlined scripts.

Scripts and JSON are embedded so that no text can close their `<script>` element: JSON
escapes `<`, `>` and `&` as `\\u003c`-style sequences, and inlined script sources have
`</script` and `<!--` neutralised.
"""

from __future__ import annotations

import re
from html import escape
from importlib import resources
from typing import Any

from ..presentation import dumps
from ..widgets import assets as widget_assets
from .components import report_labels
from .data import ReportData
from .static import alert_timeline, header, run_table

_CLOSE_SCRIPT = re.compile(r"</(script)", re.IGNORECASE)


def asset(name: str) -> str:
    """The text of a file in trackio_nb/reports/assets."""
    return resources.files(__package__).joinpath("assets", name).read_text(encoding="utf-8")


def script_json(value: Any) -> str:
    """JSON safe inside `<script type="application/json">`: no `<`, `>` or `&` characters."""
    text = dumps(value, compact=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def inline_script(source: str) -> str:
    """JavaScript source safe inside an inline `<script>` element."""
    return _CLOSE_SCRIPT.sub(r"<\\/\1", source).replace("<!--", "<\\!--")


def _chart_sections(data: ReportData) -> str:
    if not data.metrics:
        return '<p class="tnbr-empty">No numeric metrics to chart.</p>'
    labels = report_labels(data)
    boxes = []
    for index, metric in enumerate(data.metrics):
        lines = len(data.series.get(metric, []))
        best = data.best.get(metric)
        best_note = f" · best: {escape(labels[best['run_id']])} ({best['direction']})" if best else ""
        boxes.append(
            f'<div class="tnbr-chart-box" id="tnbr-chart-box-{index}">'
            f"<h3>{escape(metric)}</h3>"
            f'<p class="tnbr-chart-note">{lines} run{"s" if lines != 1 else ""}{best_note}</p>'
            f'<div class="tnbr-chart" data-metric-index="{index}"></div>'
            '<noscript><p class="tnbr-chart-note">The interactive chart needs JavaScript; final values'
            " are in the run table.</p></noscript></div>"
        )
    return '<div class="tnbr-charts">' + "".join(boxes) + "</div>"


def render_page(data: ReportData, blob: dict[str, Any], modules: dict[str, str], vega: str, media: str = "") -> str:
    """The whole HTML document for a report (`media`: the media section's HTML, if any)."""
    per = data.points_per_series
    css = asset("report.css").replace("</", "<\\/")
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="generator" content="trackio_nb">'
        f"<title>{escape(data.title)}</title>"
        f"<style>{css}</style>"
        '</head><body class="tnbr-report">'
        + header(data)
        + '<section id="tnbr-runs-section"><h2>Runs</h2><div class="tnbr-scroll">'
        + run_table(data)
        + '</div></section><section id="tnbr-alerts-section"><h2>Alerts</h2><div id="tnbr-alerts-widget"></div>'
        + '<div class="tnbr-scroll" id="tnbr-alerts-static">'
        + alert_timeline(data)
        + '</div></section><section id="tnbr-charts-section"><h2>Charts</h2>'
        + f'<p class="tnbr-chart-note">Histories longer than {per} points are downsampled per window'
        " (first, last, minimum and maximum kept); the tables hold full-resolution values.</p>"
        + _chart_sections(data)
        + "</section>"
        + media
        + f'<script type="application/json" id="tnbr-report-data">{script_json(blob)}</script>'
        + f'<script type="application/json" id="tnbr-widget-modules">{script_json(modules)}</script>'
        + f"<script>{inline_script(vega)}</script>"
        + f"<script>{inline_script(widget_assets.host())}</script>"
        + f"<script>{inline_script(asset('report.js'))}</script>"
        + "</body></html>\n"
    )
