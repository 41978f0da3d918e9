"""`SweepChart`: each ended run's final (or best) metric against one of its config values, live.

One point per run that has ended (finished or failed), has `param` in its config (dotted keys
reach nested values: "optimizer.lr") and logged `metric`. A run gains its point on the tick
after it ends; nothing else is read on a tick where no run changed.
"""

from __future__ import annotations

import math
from typing import Any

import traitlets
from ipywidgets import widget_serialization

from ..enums import END_STATUSES
from ..presentation import run_labels
from ..reports.data import flatten_config
from ..storage.queries import MODES
from . import assets, html
from .base import LiveWidget
from .bundle import VegaBundle, shared_bundle
from .hub import Batch
from .spec import sweep_spec


class SweepChart(LiveWidget):
    """`metric` (its last, min or max value: `mode`) of every ended run against config value `param`."""

    _esm = assets.esm("sweep_chart")
    metric = traitlets.Unicode("").tag(sync=True)
    param = traitlets.Unicode("").tag(sync=True)
    mode = traitlets.Unicode("last").tag(sync=True)
    spec = traitlets.Dict().tag(sync=True)
    points = traitlets.List(traitlets.Dict()).tag(sync=True)
    vega = traitlets.Instance(VegaBundle, allow_none=True).tag(sync=True, **widget_serialization)

    def __init__(self, project: str, metric: str, param: str, mode: str = "last", **source: Any) -> None:
        for name, value in (("metric", metric), ("param", param)):
            if not isinstance(value, str) or not value:
                raise TypeError(f"{name} must be a non-empty string")
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        self._points: dict[str, dict] = {}
        self._kind = "quantitative"
        super().__init__(
            project, metric=metric, param=param, mode=mode, spec=_spec("quantitative", param, metric, mode),
            vega=shared_bundle(), **source,
        )  # fmt: skip

    def _update(self, batch: Batch, *, full: bool, initial: bool) -> None:
        feed = self._feed
        if feed.removed:
            self._points = {k: p for k, p in self._points.items() if k not in feed.removed}
            full = True
        if initial:
            candidates = [rid for rid, r in feed.runs.items() if r["status"] in END_STATUSES]
        else:
            candidates = [rid for rid in feed.changed_runs | feed.changed_values if rid in feed.runs]
            candidates = [rid for rid in candidates if feed.runs[rid]["status"] in END_STATUSES]
        fresh = []
        if candidates:
            labels = run_labels([(rid, r["name"]) for rid, r in feed.runs.items()])
            values = self._reader.final_values(self.project, candidates, [self.metric], self.mode)
            for rid, value in values.select("run_id", "value").iter_rows():
                config = flatten_config(feed.runs[rid]["config"])
                x = config.get(self.param)
                if x is None or isinstance(x, (dict, list)) or value is None or not math.isfinite(value):
                    continue
                point = {"run_id": rid, "run": labels[rid], "param": x, "value": value}
                if self._points.get(rid) != point:
                    self._points[rid] = point
                    fresh.append(point)
        kind = _kind(self._points.values())
        if kind != self._kind:  # a text value arrived: the axis becomes categorical
            self._kind, full = kind, True
        if full or initial:
            self._sync_full(points=list(self._points.values()), spec=_spec(kind, self.param, self.metric, self.mode))
        elif fresh:
            self._send_delta({"type": "points", "points": fresh})

    def _describe(self) -> str:
        return f"project={self.project!r}, metric={self.metric!r}, param={self.param!r}, mode={self.mode!r}, runs={len(self._points)}"

    def _html(self) -> str:
        rows = [[p["run"], p["param"], p["value"]] for p in self._points.values()]
        headers = ["run", self.param, f"{self.metric} ({self.mode})"]
        return html.table(f"{self.project}: {self.metric} by {self.param}", headers, rows, "no ended runs yet")


def _kind(points) -> str:
    """Numbers across a continuous axis; any text value makes the axis categorical."""
    numeric = all(isinstance(p["param"], (int, float)) and not isinstance(p["param"], bool) for p in points)
    return "quantitative" if numeric else "nominal"


def _spec(kind: str, param: str, metric: str, mode: str) -> dict:
    spec = sweep_spec(kind)
    spec["encoding"]["x"]["title"] = param
    spec["encoding"]["y"]["title"] = metric if mode == "last" else f"{metric} ({mode})"
    spec["encoding"]["tooltip"][1]["title"] = param
    return spec
