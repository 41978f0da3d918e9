"""Everything a report shows, gathered through the reader seam (local files or a server).

Runs, full-resolution final/min/max values (one query each), alerts, the config keys that
differ between runs, the best run per metric, and downsampled chart series.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from ..analysis import candidate_runs, rank, select_runs
from ..errors import InvalidValue
from ..presentation import alert_dicts
from ..readers import FINAL_SCHEMA, Reader
from .downsample import downsample

CHART_POINTS = 12_000
"""Points budget of one chart (all its runs): long histories are downsampled to fit it."""
MAX_SERIES_POINTS = 1_000
MIN_SERIES_POINTS = 40
MINIMIZE_HINTS = ("loss", "err", "perplexity", "ppl", "mse", "mae", "regret")
MAXIMIZE_HINTS = ("acc", "f1", "auc", "precision", "recall", "score", "reward", "return", "iou", "map", "bleu")


@dataclass
class ReportData:
    """The report's content, independent of how it is rendered."""

    project: str
    title: str
    generated_at: float
    runs: list[dict[str, Any]]
    metrics: list[str]
    finals: dict[str, dict[str, dict[str, Any]]]
    alerts: list[dict[str, Any]]
    config_columns: list[str]
    best: dict[str, dict[str, Any]]
    primary_metric: str | None
    series: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    points_per_series: int = MAX_SERIES_POINTS


def direction_for(metric: str) -> str:
    """'max' for metrics that read as a score (accuracy, f1, reward …), else 'min' (losses, errors)."""
    leaf = metric.lower().rsplit("/", 1)[-1]
    if any(hint in leaf for hint in MINIMIZE_HINTS):
        return "min"
    return "max" if any(hint in leaf for hint in MAXIMIZE_HINTS) else "min"


def _names(value: object, what: str) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise InvalidValue(f"{what} must be a list of strings, got {type(value).__name__}")
    for item in value:
        if not isinstance(item, str):
            raise InvalidValue(f"{what} must be a list of strings, got an item of type {type(item).__name__}")
    return list(value)


def flatten_config(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested config dicts as dotted keys: {"opt": {"lr": 1}} -> {"opt.lr": 1}."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten_config(value, name + "."))
        else:
            flat[name] = value
    return flat


def differing_keys(configs: list[dict[str, Any]]) -> list[str]:
    """Config keys whose value is not the same in every run (all keys when there is one run)."""
    keys = DifferingKeys()
    for i, config in enumerate(configs):
        keys.set(i, comparable(config))
    return keys.keys()


def comparable(config: dict[str, Any]) -> dict[str, Any]:
    """A flattened config's values as hashable keys, equal exactly when their sorted JSON is (cache it per run)."""
    return {k: _same_key(v) for k, v in config.items()}


class DifferingKeys:
    """`differing_keys` kept up to date as runs come, change and go (a live table: O(keys) per change)."""

    def __init__(self) -> None:
        self._of: dict[Hashable, dict[str, Any]] = {}  # run -> its comparable config
        self._values: dict[str, Counter] = {}  # key -> comparable value -> how many runs hold it

    def set(self, run: Hashable, config: dict[str, Any]) -> None:
        """A run's `comparable` config (new or changed)."""
        self.discard(run)
        self._of[run] = config
        for key, value in config.items():
            self._values.setdefault(key, Counter())[value] += 1

    def discard(self, run: Hashable) -> None:
        for key, value in self._of.pop(run, {}).items():
            held = self._values[key]
            held[value] -= 1
            if not held[value]:
                del held[value]
                if not held:
                    del self._values[key]

    def keys(self) -> list[str]:
        """The keys whose values differ, or that some runs lack (every key when there is one run)."""
        runs = len(self._of)
        return sorted(k for k, held in self._values.items() if runs <= 1 or len(held) > 1 or held.total() < runs)


_EXACT = (str, int, bool, type(None))  # their JSON spelling is one-to-one with (type, value): no dumps needed


def _same_key(value: Any) -> Any:
    """A hashable key that is equal for two values exactly when their sorted JSON is."""
    kind = type(value)
    if kind in _EXACT:
        return (kind, value)
    if kind is float:  # hex: exact, one spelling for every NaN, -0.0 apart from 0.0 (as in JSON)
        return (float, value.hex())
    return json.dumps(value, sort_keys=True, default=repr)


def _best(runs: pl.DataFrame, last: pl.DataFrame, metric: str) -> dict[str, Any] | None:
    """The best run by its last value of `metric` (as `trackio-nb best`: finished runs when any)."""
    direction = direction_for(metric)
    pool = candidate_runs(runs)
    if pool.is_empty():
        pool = runs
    ranked = rank(pool, last, metric, direction)
    if ranked.is_empty():
        return None
    top = ranked.row(0, named=True)
    if top["value"] is None or math.isnan(top["value"]):
        return None
    return {"run_id": top["id"], "run": top["name"], "value": top["value"], "step": top["step"], "direction": direction}


def _finals(reader: Reader, project: str, run_ids: list[str], metrics: list[str]) -> tuple[dict, pl.DataFrame]:
    finals: dict[str, dict[str, dict[str, Any]]] = {rid: {} for rid in run_ids}
    frames = {}
    for mode in ("last", "min", "max"):
        if not run_ids or not metrics:
            frames[mode] = pl.DataFrame(schema=FINAL_SCHEMA)
            continue
        frame = frames[mode] = reader.final_values(project, run_ids, metrics, mode)
        for rid, metric, value, step in frame.select("run_id", "metric", "value", "step").iter_rows():
            entry = finals[rid].setdefault(metric, {})
            entry[mode] = value
            entry[f"{mode}_step"] = step
    return finals, frames["last"]


def _chart_value(v: float) -> float | None:
    return float(f"{v:.6g}") if math.isfinite(v) else None


def _series(reader: Reader, project: str, runs: list[dict], metrics: list[str], per_series: int) -> dict:
    series: dict[str, list[dict[str, Any]]] = {m: [] for m in metrics}
    for run in runs:
        frame = reader.history(project, run["id"], metrics)
        all_steps = frame["step"].to_numpy()
        for metric in metrics:
            if metric not in frame.columns or not frame.schema[metric].is_numeric():
                continue
            column = frame[metric]
            logged = column.is_not_null().to_numpy()  # a logged NaN is not null: it stays
            if not logged.any():
                continue
            steps = all_steps[logged]
            values = column.to_numpy()[logged].astype(np.float64, copy=False)
            keep = downsample(steps, values, per_series)
            series[metric].append(
                {
                    "run_id": run["id"],
                    "steps": steps[keep].tolist(),
                    "values": [_chart_value(v) for v in values[keep].tolist()],
                }
            )
    return series


def collect(
    reader: Reader,
    project: str,
    runs: list[str] | None = None,
    metrics: list[str] | None = None,
    title: str | None = None,
) -> ReportData:
    """Read a project's runs, values, alerts and chart series for a report."""
    if not isinstance(project, str):
        raise InvalidValue(f"project must be a string, got {type(project).__name__}")
    wanted_runs = _names(runs, "runs")
    wanted_metrics = _names(metrics, "metrics")
    if title is not None and not isinstance(title, str):
        raise InvalidValue(f"title must be a string, got {type(title).__name__}")
    frame = reader.runs(project)
    if wanted_runs is not None:
        frame = select_runs(frame, project, wanted_runs)
    run_rows = []
    for row in frame.iter_rows(named=True):
        config = json.loads(row["config"]) if row["config"] else {}
        run_rows.append(
            {
                **{k: row[k] for k in ("id", "name", "group", "status", "created_at", "finished_at")},
                "config": flatten_config(config) if isinstance(config, dict) else {},
            }
        )
    run_ids = [r["id"] for r in run_rows]
    logged = reader.metrics(project, run_ids) if run_ids else []
    if wanted_metrics is not None:
        unknown = [m for m in wanted_metrics if m not in logged]
        if unknown:
            raise InvalidValue(f"the selected runs of {project!r} logged no metric {', '.join(map(repr, unknown))}")
        chosen = list(dict.fromkeys(wanted_metrics))
    else:
        chosen = logged
    finals, last = _finals(reader, project, run_ids, chosen)
    numeric = [m for m in chosen if any(m in finals[rid] for rid in run_ids)]
    best = {m: b for m in numeric if (b := _best(frame, last, m)) is not None}
    alerts_frame = reader.alerts(project, run_ids) if run_ids else None
    alerts = [] if alerts_frame is None else alert_dicts(alerts_frame)
    widest = max((sum(1 for rid in run_ids if m in finals[rid]) for m in numeric), default=1)
    per_series = int(min(MAX_SERIES_POINTS, max(MIN_SERIES_POINTS, CHART_POINTS // widest)))
    data = ReportData(
        project=project,
        title=title or f"{project} report",
        generated_at=time.time(),
        runs=run_rows,
        metrics=numeric,
        finals=finals,
        alerts=alerts,
        config_columns=differing_keys([r["config"] for r in run_rows]),
        best=best,
        primary_metric=_primary(numeric, wanted_metrics),
        points_per_series=per_series,
    )
    data.series = _series(reader, project, run_rows, numeric, per_series)
    return data


def _primary(metrics: list[str], wanted: list[str] | None) -> str | None:
    if not metrics:
        return None
    if wanted:
        return next((m for m in wanted if m in metrics), metrics[0])
    return next((m for m in metrics if "loss" in m.lower()), metrics[0])
