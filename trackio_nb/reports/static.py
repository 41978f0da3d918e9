"""Server-side HTML for the parts of a report that must read with JavaScript off.

Header with counts by status, the run table (differing config columns, final and best
values, the best run marked) and the alert timeline. Every piece of text from runs,
configs and alerts goes through `html.escape`.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from html import escape
from typing import Any

from ..enums import LEVELS, STATUSES
from ..presentation import alert_reason, human_time
from .data import ReportData

STATUS_ORDER = STATUSES
LEVEL_ORDER = tuple(reversed(LEVELS))


def fmt_value(value: Any) -> str:
    """A number as a table shows it: 6 significant digits, NaN and ±inf spelled out."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return f"{value:.6g}"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, default=repr)


def fmt_time(epoch: float | str | None) -> str:
    if epoch is None:
        return "—"
    return f"{human_time(epoch)} UTC"


def _counts(items: list[str], order: tuple[str, ...]) -> str:
    counter = Counter(items)
    keys = [k for k in order if counter[k]] + sorted(k for k in counter if k not in order)
    return ", ".join(f'<span class="tnbr-count tnbr-{escape(k)}">{counter[k]} {escape(k)}</span>' for k in keys)


def header(data: ReportData) -> str:
    """Title, project, generation time, runs by status and alerts by level."""
    statuses = _counts([r["status"] for r in data.runs], STATUS_ORDER)
    levels = _counts([a["level"] for a in data.alerts], LEVEL_ORDER)
    return (
        '<header class="tnbr-header">'
        f"<h1>{escape(data.title)}</h1>"
        '<dl class="tnbr-facts">'
        f"<dt>Project</dt><dd>{escape(data.project)}</dd>"
        f"<dt>Generated</dt><dd>{escape(fmt_time(data.generated_at))}</dd>"
        f'<dt>Runs</dt><dd id="tnbr-run-counts">{len(data.runs)}{": " + statuses if statuses else ""}</dd>'
        f'<dt>Alerts</dt><dd id="tnbr-alert-counts">{len(data.alerts)}{": " + levels if levels else ""}</dd>'
        "</dl></header>"
    )


def _best_text(entry: dict[str, Any], direction: str) -> str:
    value, step = entry.get(direction), entry.get(f"{direction}_step")
    if value is None:
        return ""
    return f'<span class="tnbr-sub">{direction} {escape(fmt_value(value))} @ {escape(fmt_value(step))}</span>'


def run_table(data: ReportData) -> str:
    """The run table: name, status, group, differing config values, final (and best) metric values."""
    primary = data.best.get(data.primary_metric) if data.primary_metric else None
    has_group = any(r["group"] for r in data.runs)
    head = ["<th>Run</th>", "<th>Status</th>"]
    if has_group:
        head.append("<th>Group</th>")
    head += [f'<th class="tnbr-config">{escape(k)}</th>' for k in data.config_columns]
    for metric in data.metrics:
        best = data.best.get(metric)
        arrow = " ↓" if best and best["direction"] == "min" else (" ↑" if best else "")
        head.append(f'<th class="tnbr-metric" data-metric="{escape(metric)}">{escape(metric)}{arrow}</th>')
    rows = []
    for run in data.runs:
        is_best = primary is not None and primary["run_id"] == run["id"]
        name = escape(run["name"])
        badge = ' <span class="tnbr-best-badge">★ best</span>' if is_best else ""
        cells = [
            f'<td class="tnbr-run"><span class="tnbr-name">{name}</span>{badge}'
            f'<span class="tnbr-sub">{escape(run["id"])}</span></td>',
            f'<td><span class="tnbr-status tnbr-{escape(run["status"])}">{escape(run["status"])}</span></td>',
        ]
        if has_group:
            cells.append(f"<td>{escape(run['group'] or '')}</td>")
        for key in data.config_columns:
            value = run["config"].get(key)
            cells.append(f'<td class="tnbr-config">{escape(fmt_value(value)) if key in run["config"] else ""}</td>')
        finals = data.finals.get(run["id"], {})
        for metric in data.metrics:
            entry = finals.get(metric)
            if entry is None:
                cells.append('<td class="tnbr-num"></td>')
                continue
            best = data.best.get(metric)
            cls = "tnbr-num tnbr-best" if best and best["run_id"] == run["id"] else "tnbr-num"
            sub = _best_text(entry, best["direction"]) if best else ""
            cells.append(f'<td class="{cls}">{escape(fmt_value(entry.get("last")))}{sub}</td>')
        row_cls = ' class="tnbr-best-run"' if is_best else ""
        rows.append(f'<tr{row_cls} data-run-id="{escape(run["id"])}">{"".join(cells)}</tr>')
    if not rows:
        return '<p class="tnbr-empty">This project has no runs.</p>'
    return (
        '<table class="tnbr-table" id="tnbr-runs"><thead><tr>'
        + "".join(head)
        + "</tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def alert_timeline(data: ReportData) -> str:
    """Every alert in order: time, run, step, level, reason, title, text and data."""
    if not data.alerts:
        return '<p class="tnbr-empty">No alerts.</p>'
    rows = []
    for alert in data.alerts:
        extra = alert["data"]
        shown = "" if extra is None else json.dumps(extra, sort_keys=True, default=repr)
        rows.append(
            f'<tr class="tnbr-level-{escape(alert["level"])}" data-alert-id="{int(alert["id"])}">'
            f"<td>{escape(fmt_time(alert['timestamp']))}</td>"
            f"<td>{escape(alert['run'])}</td>"
            f'<td class="tnbr-num">{escape(fmt_value(alert["step"]))}</td>'
            f'<td><span class="tnbr-level tnbr-{escape(alert["level"])}">{escape(alert["level"])}</span></td>'
            f"<td>{escape(alert_reason(alert) or '')}</td>"
            f'<td class="tnbr-title">{escape(alert["title"])}</td>'
            f"<td>{escape(alert['text'] or '')}</td>"
            f'<td><code class="tnbr-data">{escape(shown)}</code></td>'
            "</tr>"
        )
    return (
        '<table class="tnbr-table" id="tnbr-alerts"><thead><tr><th>Time</th><th>Run</th><th>Step</th><th>Level</th>'
        "<th>Reason</th><th>Title</th><th>Text</th><th>Data</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )
