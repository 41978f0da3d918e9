"""Saved-state dicts for the widget front ends a report hosts (docs/widgets.md contract).

The report renders the same ES modules as the notebook widgets, fed from these dicts by a
model shim: a CompareChart per metric and the AlertStream.
"""

from __future__ import annotations

import json
from typing import Any

from ..presentation import run_labels
from .data import ReportData


def report_labels(data: ReportData) -> dict[str, str]:
    """Legend label per run id of the report's runs (`presentation.run_labels`)."""
    return run_labels((r["id"], r["name"]) for r in data.runs)


def chart_state(data: ReportData, metric: str, spec: dict[str, Any]) -> dict[str, Any]:
    """CompareChart state for one metric: the downsampled series of every run that logged it."""
    labels = report_labels(data)
    series = [
        {"run_id": s["run_id"], "run": labels[s["run_id"]], "metric": metric, "x": s["steps"], "y": s["values"]}
        for s in data.series.get(metric, [])
    ]
    return {
        "project": data.project,
        "seq": 0,
        "error": "",
        "metrics": [metric],
        "x": "step",
        "log_scale": False,
        "spec": spec,
        "series": series,
    }


def alert_state(data: ReportData) -> dict[str, Any]:
    """AlertStream state holding every alert of the report's runs."""
    labels = report_labels(data)
    alerts = [{**a, "run": labels.get(a["run_id"], a["run"])} for a in data.alerts]
    return {"project": data.project, "seq": 0, "error": "", "run": None, "level": "", "alerts": alerts}


def report_spec(spec: dict[str, Any], best_run_id: str | None) -> dict[str, Any]:
    """The chart spec for a report: legend entries toggle runs, the best run's line is thicker.

    Applied to the unit spec (inside a facet, if any), each part only where the widget's spec
    does not already set it (`params`/`opacity`, `strokeWidth`); a layered spec is left as is.
    """
    unit = spec.get("spec", spec)
    if not isinstance(unit.get("encoding"), dict) or "layer" in unit:
        return spec
    copy = json.loads(json.dumps(spec))
    target = copy.get("spec", copy)
    encoding = target["encoding"]
    if "params" not in target and "opacity" not in encoding:
        target["params"] = [{"name": "tnb_pick", "select": {"type": "point", "fields": ["run"]}, "bind": "legend"}]
        encoding["opacity"] = {"condition": {"param": "tnb_pick", "value": 1.0}, "value": 0.12}
    if best_run_id is not None and "strokeWidth" not in encoding:
        encoding["strokeWidth"] = {
            "condition": {"test": f"datum.run_id === {json.dumps(best_run_id)}", "value": 3.5},
            "value": 1.4,
        }
    return copy
