"""Best run, run comparison and project summary: Polars functions over the frames a Reader returns.

The CLI, the HTML report and the tracking server call these, so they give the same answers.
Each reads the final values of every wanted (run, metric) pair with ONE `final_values`
query (never a loop over runs or metrics). Results are plain dicts with the documented
JSON shapes (docs/cli.md); values may be NaN or ±Inf, the JSON layer decides how to write them.
"""

from __future__ import annotations

import json
from typing import Any

import polars as pl

from .enums import AlertLevel, RunStatus
from .errors import InvalidValue, MetricNotFound
from .presentation import run_fields, select_run_ids
from .readers import Reader

DIRECTIONS = ("min", "max")
MODES = ("last", "min", "max")


def check_choice(name: str, value: object, allowed: tuple[str, ...]) -> str:
    """`value` if it is one of `allowed`: TypeError for a non-string, InvalidValue for another string."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string (one of {', '.join(allowed)}), got {type(value).__name__}")
    if value not in allowed:
        raise InvalidValue(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return str(value)


def config_dict(text: str | None) -> dict:
    """A run's config column as a dict."""
    return json.loads(text) if text else {}


def candidate_runs(runs: pl.DataFrame, include_all: bool = False) -> pl.DataFrame:
    """The runs best/compare consider: finished ones, or every run with `include_all`."""
    return runs if include_all else runs.filter(pl.col("status") == RunStatus.FINISHED.value)


def select_runs(runs: pl.DataFrame, project: str, wanted: list[str]) -> pl.DataFrame:
    """The runs named by id or (unique) name in `wanted`, in that order, each once."""
    ids = select_run_ids(runs, project, wanted)
    order = pl.DataFrame({"id": ids, "_order": range(len(ids))}, schema={"id": pl.String, "_order": pl.Int64})
    return runs.join(order, on="id").sort("_order").drop("_order")


def rank(runs: pl.DataFrame, finals: pl.DataFrame, metric: str, direction: str = "min") -> pl.DataFrame:
    """The runs that logged `metric`, best first; NaN and missing values rank last.

    Columns: id, name, status, config, value, step. Ties keep the runs' creation order.
    """
    check_choice("direction", direction, DIRECTIONS)
    ordered = runs.select("id", "name", "status", "config").with_row_index("_order")
    df = finals.filter(pl.col("metric") == metric).join(ordered, left_on="run_id", right_on="id")
    bad = (pl.col("value").is_null() | pl.col("value").is_nan()).alias("_bad")
    key = (pl.col("value") if direction == "min" else -pl.col("value")).alias("_key")
    df = df.with_columns(bad, pl.when(bad).then(None).otherwise(key).alias("_key"))
    return df.sort(["_bad", "_key", "_order"], nulls_last=True).select(
        pl.col("run_id").alias("id"), "name", "status", "config", "value", "step"
    )


def best(
    reader: Reader,
    project: str,
    metric: str,
    direction: str = "min",
    mode: str = "last",
    include_all: bool = False,
) -> dict[str, Any]:
    """The best run by `metric` (`direction` min|max of each run's `mode` value) and the full ranking."""
    check_choice("direction", direction, DIRECTIONS)
    check_choice("mode", mode, MODES)
    runs = candidate_runs(reader.runs(project), include_all)
    finals = reader.final_values(project, runs["id"].to_list(), [metric], mode)
    ranked = rank(runs, finals, metric, direction)
    if ranked.is_empty():
        if metric not in reader.metrics(project):
            raise MetricNotFound(f"project {project!r} has no metric {metric!r}")
        raise MetricNotFound(
            f"no finished run of project {project!r} logged {metric!r}"
            " (running and failed runs are left out unless include-all is asked)"
        )
    ranking = [
        {
            "run": row["name"],
            "run_id": row["id"],
            "value": row["value"],
            "step": row["step"],
            "status": row["status"],
            "config": config_dict(row["config"]),
        }
        for row in ranked.iter_rows(named=True)
    ]
    top = ranking[0]
    if top["value"] is None or top["value"] != top["value"]:
        raise MetricNotFound(f"no run of project {project!r} has a numeric {mode} value of {metric!r} (all NaN)")
    return {
        "project": project,
        "metric": metric,
        "direction": direction,
        "mode": mode,
        "include_all": include_all,
        "best_run": top["run"],
        "best_run_id": top["run_id"],
        "best_value": top["value"],
        "best_step": top["step"],
        "ranking": ranking,
    }


def _by_run(finals: pl.DataFrame) -> dict[str, tuple[list[str], list[float | None], list[int | None]]]:
    grouped = finals.group_by("run_id", maintain_order=True).agg("metric", "value", "step")
    return {
        run_id: (metrics, values, steps)
        for run_id, metrics, values, steps in grouped.select("run_id", "metric", "value", "step").iter_rows()
    }


def compare(
    reader: Reader,
    project: str,
    runs: list[str] | None = None,
    metrics: list[str] | None = None,
    mode: str = "last",
    include_all: bool = False,
) -> dict[str, Any]:
    """Each run's `mode` value of each metric, from one query.

    `runs` (ids or unique names) are taken as given; without it, the candidate runs
    (finished ones unless `include_all`). `metrics` defaults to every numeric metric they logged.
    """
    check_choice("mode", mode, MODES)
    all_runs = reader.runs(project)
    chosen = select_runs(all_runs, project, runs) if runs is not None else candidate_runs(all_runs, include_all)
    ids = chosen["id"].to_list()
    finals = reader.final_values(project, ids, metrics, mode)
    present = set(finals["metric"].to_list())
    if metrics is not None:
        missing = [m for m in metrics if m not in present]
        if missing:
            raise MetricNotFound(f"no compared run of project {project!r} logged metric {missing[0]!r}")
        names = list(dict.fromkeys(metrics))
    else:
        names = sorted(present)
    by_run = _by_run(finals)
    out = []
    for row in chosen.iter_rows(named=True):
        got_metrics, values, steps = by_run.get(row["id"], ([], [], []))
        value_of = dict(zip(got_metrics, values, strict=True))
        step_of = dict(zip(got_metrics, steps, strict=True))
        out.append(
            {
                "id": row["id"],
                "run": row["name"],
                "status": row["status"],
                "config": config_dict(row["config"]),
                "metrics": {m: value_of.get(m) for m in names},
                "steps": {m: step_of.get(m) for m in names},
            }
        )
    return {
        "project": project,
        "mode": mode,
        "include_all": include_all or runs is not None,
        "selection": "given" if runs is not None else ("all" if include_all else "finished"),
        "metrics": names,
        "runs": out,
    }


def summary(reader: Reader, project: str, metric: str | None = None) -> dict[str, Any]:
    """Runs with status, alert counts and last metric values (only `metric` when given)."""
    runs = reader.runs(project)
    finals = reader.final_values(project, None, None if metric is None else [metric], "last")
    if metric is not None and finals.is_empty():
        raise MetricNotFound(f"project {project!r} has no metric {metric!r}")
    alerts = reader.alerts(project)
    per_run = dict(alerts.group_by("run_id").len().iter_rows())
    per_level = dict(alerts.group_by("level").len().iter_rows())
    per_status = dict(runs.group_by("status").len().iter_rows())
    names = sorted(set(finals["metric"].to_list()))
    by_run = _by_run(finals)
    out = []
    for row in runs.iter_rows(named=True):
        got_metrics, values, _ = by_run.get(row["id"], ([], [], []))
        out.append(
            {
                **run_fields(row),
                "num_alerts": per_run.get(row["id"], 0),
                "metrics": dict(zip(got_metrics, values, strict=True)),
            }
        )
    return {
        "project": project,
        "num_runs": runs.height,
        "status_counts": {s.value: per_status.get(s.value, 0) for s in RunStatus},
        "total_alerts": alerts.height,
        "alerts_by_level": {lv.value: per_level.get(lv.value, 0) for lv in AlertLevel},
        "metrics": names,
        "runs": out,
    }
