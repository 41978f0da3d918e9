"""`CompareChart`: one line per run for one or several metrics, in one Vega view.

Series travel as binary buffers (little-endian float64 columns `step`, `t` (epoch seconds)
and `y`): in the full state (`series` trait) and in delta messages (`buffers=`). The page
draws x by step, wall time or relative time, smooths with an EMA, and highlights a run
clicked in any chart or run table of the same project, all without asking the kernel.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Sequence
from itertools import accumulate, islice
from operator import lt
from typing import Any

import numpy as np
import polars as pl
import traitlets
from ipywidgets import widget_serialization

from ..presentation import json_float, run_labels, select_run_ids
from . import assets, html
from .base import LiveWidget
from .bundle import VegaBundle, shared_bundle
from .hub import Batch
from .jsonable import pack_column
from .spec import X_MODES, specs

Key = tuple[str, str]  # (run_id, metric)


class _Series:
    """One line: steps, timestamps and values; a repeated step replaces its point.

    Float arrays, not lists: the garbage collector never walks them (a big project's chart holds
    thousands of series, and a collector pass over their lists would land inside log()).
    """

    __slots__ = ("last_step", "steps", "ts", "ys")

    def __init__(self) -> None:
        self.steps = array("d")
        self.ts = array("d")
        self.ys = array("d")
        self.last_step = -1

    def add(self, step: int, t: float, y: float) -> None:
        if step > self.last_step:
            self.steps.append(step)
            self.ts.append(t)
            self.ys.append(y)
            self.last_step = step
            return
        for i in range(len(self.steps) - 1, -1, -1):
            if self.steps[i] == step:
                self.ts[i], self.ys[i] = t, y
                return
        self.steps.append(step)
        self.ts.append(t)
        self.ys.append(y)


class CompareChart(LiveWidget):
    """Curves of `metric` (or `metrics`) for every run (or `runs`: names or ids), live."""

    _esm = assets.esm("compare_chart")
    metrics = traitlets.List(traitlets.Unicode()).tag(sync=True)
    x = traitlets.Unicode("step").tag(sync=True)
    smoothing = traitlets.Float(0.0).tag(sync=True)
    log_scale = traitlets.Bool(False).tag(sync=True)
    spec = traitlets.Dict().tag(sync=True)
    series = traitlets.List(traitlets.Dict()).tag(sync=True)
    vega = traitlets.Instance(VegaBundle, allow_none=True).tag(sync=True, **widget_serialization)

    def __init__(
        self,
        project: str,
        metric: str | None = None,
        *,
        metrics: list[str] | None = None,
        runs: list[str] | None = None,
        x: str = "step",
        smoothing: float = 0.0,
        log_scale: bool = False,
        **source: Any,
    ) -> None:
        wanted = _metric_list(metric, metrics)
        if runs is not None and (isinstance(runs, str) or not all(isinstance(r, str) and r for r in runs)):
            raise TypeError("runs must be a list of run names or ids")
        x = "time" if x == "timestamp" else x  # the first release's name for wall time
        if x not in X_MODES:
            raise ValueError(f"x must be one of {', '.join(X_MODES)}, got {x!r}")
        if isinstance(smoothing, bool) or not isinstance(smoothing, (int, float)) or not 0 <= smoothing < 1:
            raise ValueError(f"smoothing must be a number in [0, 1), got {smoothing!r}")
        self._runs = list(runs) if runs is not None else None
        self._store: dict[Key, _Series] = {}
        self._labels: dict[str, str] = {}
        self._wanted: set[str] = set()
        self._names_version = -1
        super().__init__(
            project,
            metrics=wanted,
            x=x,
            smoothing=float(smoothing),
            log_scale=bool(log_scale),
            spec=specs()["compare"],
            vega=shared_bundle(),
            **source,
        )

    def _update(self, batch: Batch, *, full: bool, initial: bool) -> None:
        feed = self._feed
        if feed.removed:
            self._store = {k: s for k, s in self._store.items() if k[0] not in feed.removed}
            full = True
        metrics = self.metrics or None
        relabel = False
        if initial or feed.names_version != self._names_version:  # a run appeared, was renamed or removed
            self._names_version = feed.names_version
            runs = [(rid, r["name"]) for rid, r in feed.runs.items()]
            labels = run_labels(runs)
            relabel = any(self._labels.get(rid, label) != label for rid, label in labels.items())
            self._labels = labels
            if self._runs is None:
                self._wanted = set(labels)
            else:  # by id or a name only one run has: ambiguity is an error, never a merge
                frame = pl.DataFrame(runs, schema={"id": pl.String, "name": pl.String}, orient="row")
                self._wanted = set(select_run_ids(frame, self.project, self._runs, missing_ok=True))
        fresh: dict[Key, tuple[list, list, list]] = {}
        points = feed.history(metrics) if initial else feed.points
        if points.height:
            if metrics is not None and not initial:
                points = points.filter(points["metric"].is_in(metrics))
            for rid, metric, steps, ts, ys in split_series(points):
                if rid in self._wanted:
                    self._fold(fresh, (rid, metric), steps, ts, ys)
        for rid in self._wanted.intersection(batch, self._live_ids()) if batch else ():
            for metric, (steps, ts, ys, increasing) in batch[rid].items():
                if metrics is None or metric in metrics:
                    self._fold(fresh, (rid, metric), steps, ts, ys, increasing)
        if full or relabel:
            self._sync_full(series=[self._packed(k, s.steps, s.ts, s.ys) for k, s in self._store.items()])
        elif fresh:
            parts, buffers = [], []
            for (rid, metric), columns in fresh.items():
                label = self._labels.get(rid, rid)
                parts.append({"run_id": rid, "run": label, "metric": metric, "buffer": len(buffers)})
                buffers += [pack_column(c) for c in columns]  # step, t, y
            self._send_delta({"type": "points", "series": parts}, buffers)

    def _fold(
        self, fresh: dict, key: Key, steps: Sequence, ts: Sequence, ys: Sequence, increasing: bool | None = None
    ) -> None:
        """Add points to a line and to this update's `fresh` (`increasing`: the caller knows whether steps grow)."""
        if not isinstance(steps, array):
            steps, ts, ys = array("d", steps), array("d", ts), array("d", ys)  # once, in C: stored and sent as is
        if increasing is None:
            increasing = all(map(lt, steps, islice(steps, 1, None)))
        series = self._store.get(key)
        if series is None:
            series = self._store[key] = _Series()
        if increasing and steps[0] > series.last_step:
            series.steps.extend(steps)  # the usual case: new steps, in order
            series.ts.extend(ts)
            series.ys.extend(ys)
            series.last_step = steps[-1]
        else:
            for s, t, y in zip(steps, ts, ys, strict=True):
                series.add(s, t, y)
        got = fresh.get(key)
        fresh[key] = (steps, ts, ys) if got is None else tuple(a + b for a, b in zip(got, (steps, ts, ys), strict=True))

    def _packed(self, key: Key, steps: list, ts: list, ys: list) -> dict:
        rid, metric = key
        out = {"run_id": rid, "run": self._labels.get(rid, rid), "metric": metric}
        for name, column in (("step", steps), ("t", ts), ("y", ys)):
            out[name] = pack_column(column)
        return out

    def points(self) -> dict[tuple[str, str], int]:
        """How many points each (run label, metric) line holds."""
        return {(self._labels.get(rid, rid), m): len(s.steps) for (rid, m), s in self._store.items()}

    def _describe(self) -> str:
        shown = ", ".join(self.metrics) if self.metrics else "all"
        return f"project={self.project!r}, metrics=[{shown}], x={self.x!r}, lines={len(self._store)}"

    def _html(self) -> str:
        rows = [
            [self._labels.get(rid, rid), metric, len(s.steps), s.steps[-1], json_float(s.ys[-1])]
            for (rid, metric), s in self._store.items()
            if s.steps
        ]
        headers = ["run", "metric", "points", "last step", "last value"]
        return html.table(f"{self.project}: curves", headers, rows, "no points yet")


def split_series(points: pl.DataFrame) -> Iterator[tuple[str, str, array, array, array]]:
    """Each (run id, metric)'s steps, timestamps and values as float64 arrays, series in order of first
    appearance and points in storage order: one sort, then slices (no frame per series: a project of 1,000
    runs x 30 metrics is 30,000 of them)."""
    ordered = (
        points.with_row_index("i")
        .with_columns(pl.col("i").min().over("run_id", "metric").alias("first"))
        .sort("first", "i")
    )
    starts = ordered["first"].unique_counts()  # (unique in order of appearance: one count per series)
    bounds = [0, *accumulate(starts.to_list())]
    heads = ordered.select("run_id", "metric").gather(bounds[:-1]).rows()
    columns = [ordered[c].cast(pl.Float64).to_numpy() for c in ("step", "timestamp", "value")]
    for (rid, metric), lo, hi in zip(heads, bounds, bounds[1:], strict=False):
        yield rid, metric, *(_floats(c[lo:hi]) for c in columns)


def _floats(values: np.ndarray) -> array:
    out = array("d")
    out.frombytes(np.ascontiguousarray(values, dtype=np.float64).tobytes())
    return out


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
