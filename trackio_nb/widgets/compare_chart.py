"""`CompareChart`: one line per run for one or several metrics, in one Vega view."""

from __future__ import annotations

from typing import Any

import traitlets

from ..presentation import json_float, run_labels, select_run_ids
from ..storage import ProjectNotFound
from . import assets, html
from .base import LiveWidget
from .bundle import vega_bundle
from .hub import Entry
from .jsonable import pack_floats, point_value
from .spec import compare_spec

X_AXES = ("step", "timestamp")
Key = tuple[str, str]  # (run_id, metric)


class _Series:
    """One line: x values (steps or epoch ms) and y values; a repeated x replaces its point."""

    __slots__ = ("last_x", "xs", "ys")

    def __init__(self) -> None:
        self.xs: list[float] = []
        self.ys: list[float] = []
        self.last_x = float("-inf")

    def add(self, x: float, y: float) -> None:
        if x > self.last_x:
            self.xs.append(x)
            self.ys.append(y)
            self.last_x = x
            return
        for i in range(len(self.xs) - 1, -1, -1):
            if self.xs[i] == x:
                self.ys[i] = y
                return
        self.xs.append(x)
        self.ys.append(y)


class CompareChart(LiveWidget):
    """Curves of `metric` (or `metrics`) for every run (or `runs`: names or ids), live."""

    _esm = assets.esm("compare_chart")
    metrics = traitlets.List(traitlets.Unicode()).tag(sync=True)
    x = traitlets.Unicode("step").tag(sync=True)
    log_scale = traitlets.Bool(False).tag(sync=True)
    spec = traitlets.Dict().tag(sync=True)
    series = traitlets.List(traitlets.Dict()).tag(sync=True)
    vega_js = traitlets.Unicode("").tag(sync=True)

    def __init__(
        self,
        project: str,
        metric: str | None = None,
        *,
        metrics: list[str] | None = None,
        runs: list[str] | None = None,
        x: str = "step",
        log_scale: bool = False,
        **source: Any,
    ) -> None:
        wanted = _metric_list(metric, metrics)
        if runs is not None and (isinstance(runs, str) or not all(isinstance(r, str) and r for r in runs)):
            raise TypeError("runs must be a list of run names or ids")
        if x not in X_AXES:
            raise ValueError(f"x must be 'step' or 'timestamp', got {x!r}")
        self._runs = list(runs) if runs is not None else None
        self._store: dict[Key, _Series] = {}
        self._labels: dict[str, str] = {}
        self._cursor = 0
        super().__init__(
            project,
            metrics=wanted,
            x=x,
            log_scale=bool(log_scale),
            spec=compare_spec(x),
            vega_js=vega_bundle(),
            **source,
        )

    def _update(self, batch: list[Entry], *, full: bool, initial: bool) -> None:
        metrics = self.metrics or None
        live = set(self._live_ids())
        try:
            tail = self._reader.tail(
                self.project,
                chunk_after=self._cursor,
                alert_after=None,
                metrics=metrics,
                exclude_run_ids=() if initial else sorted(live),
            )
        except ProjectNotFound:
            if full:
                self._sync_full(series=[])
            return
        self._cursor = tail.chunk_cursor
        runs = tail.runs.select("id", "name").rows()
        labels = run_labels(runs)
        if self._runs is None:
            wanted_ids = {rid for rid, _ in runs}
        else:  # by id or a name only one run has: ambiguity is an error, never a merge
            wanted_ids = set(select_run_ids(tail.runs, self.project, self._runs, missing_ok=True))
        relabel = any(self._labels.get(rid, label) != label for rid, label in labels.items())
        self._labels = labels
        fresh: dict[Key, tuple[list, list]] = {}
        scale = 1000.0 if self.x == "timestamp" else 1.0
        points = tail.points
        if not points.is_empty():
            column = "timestamp" if self.x == "timestamp" else "step"
            for (rid, metric), group in points.group_by(["run_id", "metric"], maintain_order=True):
                if rid in wanted_ids:
                    xs = (group[column] * scale).to_list() if scale != 1.0 else group[column].to_list()
                    self._fold(fresh, (rid, metric), xs, group["value"].to_list())
        for rid, step, timestamp, numbers in batch:
            if rid not in live or rid not in wanted_ids:
                continue
            xv = timestamp * 1000.0 if scale != 1.0 else step
            for metric, value in numbers.items():
                if metrics is None or metric in metrics:
                    self._fold(fresh, (rid, metric), [xv], [value])
        if full or relabel:
            self._sync_full(series=[self._packed(k, s) for k, s in self._store.items()])
        elif fresh:
            self._send_delta({"type": "points", "series": [self._series_dict(k, *xy) for k, xy in fresh.items()]})

    def _fold(self, fresh: dict, key: Key, xs: list, ys: list) -> None:
        series = self._store.get(key)
        if series is None:
            series = self._store[key] = _Series()
        for xv, yv in zip(xs, ys, strict=True):
            series.add(xv, yv)
        got = fresh.get(key)
        if got is None:
            fresh[key] = (list(xs), list(ys))
        else:
            got[0].extend(xs)
            got[1].extend(ys)

    def _series_dict(self, key: Key, xs: list, ys: list) -> dict:
        rid, metric = key
        return {
            "run_id": rid,
            "run": self._labels.get(rid, rid),
            "metric": metric,
            "x": list(xs),
            "y": [point_value(v) for v in ys],
        }

    def _packed(self, key: Key, series: _Series) -> dict:
        """A full-state series: columns packed (a walk over 100k-item lists costs ipywidgets ~1 s)."""
        rid, metric = key
        return {
            "run_id": rid,
            "run": self._labels.get(rid, rid),
            "metric": metric,
            "xb": pack_floats(series.xs),
            "yb": pack_floats(series.ys),
        }

    def points(self) -> dict[tuple[str, str], int]:
        """How many points each (run label, metric) line holds."""
        return {(self._labels.get(rid, rid), m): len(s.xs) for (rid, m), s in self._store.items()}

    def _describe(self) -> str:
        shown = ", ".join(self.metrics) if self.metrics else "all"
        return f"project={self.project!r}, metrics=[{shown}], x={self.x!r}, lines={len(self._store)}"

    def _html(self) -> str:
        rows = [
            [self._labels.get(rid, rid), metric, len(s.xs), s.xs[-1] if s.xs else None, json_float(s.ys[-1])]
            for (rid, metric), s in self._store.items()
            if s.xs
        ]
        headers = ["run", "metric", "points", f"last {self.x}", "last value"]
        return html.table(f"{self.project}: curves", headers, rows, "no points yet")


def _metric_list(metric: str | None, metrics: list[str] | None) -> list[str]:
    if metric is not None and metrics is not None:
        raise TypeError("give either metric or metrics, not both")
    if metric is not None:
        if not isinstance(metric, str) or not metric:
            raise TypeError("metric must be a non-empty string")
        return [metric]
    if metrics is None:
        return []
    if isinstance(metrics, str) or not all(isinstance(m, str) and m for m in metrics):
        raise TypeError("metrics must be a list of metric names")
    return list(dict.fromkeys(metrics))
