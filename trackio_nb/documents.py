"""The JSON documents agents read: one function per query, behind both `trackio-nb ... --json` and MCP.

Each function takes a Reader and typed arguments (the CLI's flags, parsed) and returns the
document as plain data; the CLI prints it with `presentation.dumps`, the MCP server returns
that same text. So the two surfaces cannot drift apart: there is one function per command.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from . import analysis
from .api import check_alert_filters
from .errors import InvalidValue, RunNotFound
from .presentation import alert_dicts, dumps, iso_utc, require_metric, resolve_run, run_fields
from .readers import Reader

DEFAULT_MAX_POINTS = 500


def _run_row(reader: Reader, project: str, name_or_id: str) -> dict[str, Any]:
    return resolve_run(reader.runs(project), project, name_or_id)


def list_projects(reader: Reader) -> dict[str, Any]:
    """Every project in the source."""
    return {"projects": reader.projects()}


def list_runs(reader: Reader, project: str) -> dict[str, Any]:
    """The runs of a project: id, name, group, status, creation and end times."""
    runs = reader.runs(project)
    return {
        "project": project,
        "runs": [run_fields(row) for row in runs.iter_rows(named=True)],
    }


def list_metrics(reader: Reader, project: str, run: str | None = None) -> dict[str, Any]:
    """The metric names of a project, or of one run."""
    row = _run_row(reader, project, run) if run is not None else None
    metrics = reader.metrics(project, None if row is None else [row["id"]])
    return {
        "project": project,
        "run": None if row is None else row["name"],
        "run_id": None if row is None else row["id"],
        "metrics": metrics,
    }


def alerts(
    reader: Reader,
    project: str,
    run: str | None = None,
    level: str | None = None,
    reason: str | None = None,
    since: datetime | None = None,
    after_id: int | None = None,
) -> dict[str, Any]:
    """Alerts oldest first, with `last_id`: the cursor to pass as the next `after_id`."""
    level, reason, after_id = check_alert_filters(level, reason, after_id)
    row = _run_row(reader, project, run) if run is not None else None
    frame = reader.alerts(project, None if row is None else [row["id"]], level, reason, since, after_id)
    found = alert_dicts(frame)
    return {
        "project": project,
        "run": None if row is None else row["name"],
        "run_id": None if row is None else row["id"],
        "level": level,
        "reason": reason,
        "since": iso_utc(since),
        "after_id": after_id,
        "last_id": found[-1]["id"] if found else (after_id or 0),
        "alerts": found,
    }


def get_run(reader: Reader, project: str, run: str) -> dict[str, Any]:
    """One run: status, config, metric names, last values, last step, alert count."""
    row = _run_row(reader, project, run)
    finals = reader.final_values(project, [row["id"]], None, "last")
    steps = [s for s in finals["step"].to_list() if s is not None]
    return {
        "project": project,
        "id": row["id"],
        "run": row["name"],
        "group": row["group"],
        "status": row["status"],
        "config": analysis.config_dict(row["config"]),
        "created_at": iso_utc(row["created_at"]),
        "finished_at": iso_utc(row["finished_at"]),
        "metrics": reader.metrics(project, [row["id"]]),
        "last_values": dict(zip(finals["metric"].to_list(), finals["value"].to_list(), strict=True)),
        "last_step": max(steps) if steps else None,
        "num_alerts": reader.alerts(project, [row["id"]]).height,
    }


def _points(frame, metric: str, keep=None) -> list[dict[str, Any]]:
    rows = frame.select("step", "timestamp", metric).iter_rows()
    if keep is not None:
        rows = (r for i, r in enumerate(rows) if i in keep)
    return [{"step": step, "timestamp": iso_utc(stamp), "value": value} for step, stamp, value in rows]


def _require_metric(known: list[str], project: str, row: dict[str, Any], metric: str) -> None:
    require_metric(known, metric, f"run {row['name']!r} (id {row['id']}) of project {project!r}")


def get_metric(reader: Reader, project: str, run: str, metric: str) -> dict[str, Any]:
    """Every logged value of one metric of one run."""
    row = _run_row(reader, project, run)
    _require_metric(reader.metrics(project, [row["id"]]), project, row, metric)
    frame = reader.history(project, row["id"], [metric])
    return {
        "project": project,
        "run": row["name"],
        "run_id": row["id"],
        "metric": metric,
        "values": _points(frame, metric),
    }


def history(
    reader: Reader, project: str, run: str, metric: str | None = None, max_points: int = DEFAULT_MAX_POINTS
) -> dict[str, Any]:
    """A run's metrics (or one), each cut to at most `max_points` points keeping first, last, min and max."""
    import numpy as np
    import polars as pl

    from .reports.downsample import downsample

    if isinstance(max_points, bool) or not isinstance(max_points, int):
        raise InvalidValue(f"max_points must be an integer, got {type(max_points).__name__}")
    downsample(np.zeros(0), np.zeros(0), max_points)  # its rule on max_points, checked before any read
    row = _run_row(reader, project, run)
    names = reader.metrics(project, [row["id"]])
    if metric is not None:
        _require_metric(names, project, row, metric)
        names = [metric]
    frame = reader.history(project, row["id"], names)
    series = []
    for name in names:
        points = frame.filter(pl.col(name).is_not_null())
        steps = points["step"].to_numpy()
        if points[name].dtype.is_float():
            keep = downsample(steps, points[name].to_numpy(), max_points)
        else:  # text values: evenly spaced, both ends kept
            keep = np.unique(np.linspace(0, points.height - 1, min(points.height, max_points)).round().astype(int))
        chosen = set(keep.tolist()) if len(keep) < points.height else None
        series.append({"metric": name, "num_values": points.height, "values": _points(points, name, chosen)})
    return {"project": project, "run": row["name"], "run_id": row["id"], "max_points": max_points, "metrics": series}


# best run, comparison and summary: the analysis functions the report and the server use
best = analysis.best
compare = analysis.compare
summary = analysis.summary


def stop_run(reader: Reader, project: str, run: str) -> dict[str, Any]:
    """Ask a run to stop: its `should_stop()` turns True."""
    row = _run_row(reader, project, run)
    if not reader.stop(project, row["id"]):
        raise RunNotFound(f"project {project!r} has no run with id {row['id']!r}")
    return {
        "project": project,
        "run": row["name"],
        "run_id": row["id"],
        "status": row["status"],
        "stop_requested": True,
    }


def list_media(reader: Reader, project: str, run: str | None = None, key: str | None = None) -> dict[str, Any]:
    """Logged media rows, oldest first: run, step, key, kind, caption, file (content-addressed name) or value."""
    row = _run_row(reader, project, run) if run is not None else None
    frame = reader.media(project, None if row is None else [row["id"]], key)
    media = [
        {
            "run": m["run"],
            "run_id": m["run_id"],
            "step": m["step"],
            "timestamp": iso_utc(m["timestamp"]),
            "key": m["key"],
            "kind": m["kind"],
            "caption": m["caption"],
            "file": m["file"],
            "value": None if m["value"] is None else json.loads(m["value"]),
        }
        for m in frame.iter_rows(named=True)
    ]
    return {
        "project": project,
        "run": None if row is None else row["name"],
        "run_id": None if row is None else row["id"],
        "key": key,
        "media": media,
    }


def get_media(reader: Reader, project: str, run: str, key: str, step: int | None, output: str) -> dict[str, Any]:
    """Write one logged media object (the latest of `key`, or the one at `step`) to `output`.

    Files are written as stored (PNG, WAV, ...); inline objects as their text (Markdown, Html)
    or JSON (tables, histograms, traces).
    """
    row = _run_row(reader, project, run)
    frame = reader.media(project, [row["id"]], key)
    if step is not None:
        frame = frame.filter(frame["step"] == step)
    if frame.is_empty():
        at = "" if step is None else f" at step {step}"
        raise InvalidValue(f"run {row['name']!r} (id {row['id']}) has no media {key!r}{at}")
    found = frame.row(frame.height - 1, named=True)
    if found["file"] is not None:
        data = reader.media_file(project, found["file"])
    elif found["kind"] in ("markdown", "html"):
        data = json.loads(found["value"]).encode("utf-8")
    else:
        data = dumps(json.loads(found["value"])).encode("utf-8")
    with open(output, "wb") as out:
        out.write(data)
    return {
        "project": project,
        "run": row["name"],
        "run_id": row["id"],
        "key": key,
        "step": found["step"],
        "kind": found["kind"],
        "caption": found["caption"],
        "file": found["file"],
        "output": output,
        "bytes": len(data),
    }


# -- starting over ----------------------------------------------------------------------------


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def describe_counts(held: dict[str, int], *, runs: bool = True) -> str:
    """'2 runs, 120 points, 1 alert': what a deletion removes (or would remove); runs=False leaves the runs out."""
    return ", ".join(_plural(held[k], k[:-1]) for k in ("runs", "points", "alerts")[0 if runs else 1 :])


def delete_run(reader: Reader, project: str, run: str, *, confirmed: bool = True) -> dict[str, Any]:
    """Delete one ended run (by id or unique name) with everything it logged; unconfirmed: only count it."""
    row = _run_row(reader, project, run)
    held = reader.delete_run(project, row["id"]) if confirmed else reader.removal_counts(project, row["id"])
    return {"project": project, "run": row["name"], "run_id": row["id"], "deleted": confirmed, **held}


def delete_project(reader: Reader, project: str, *, confirmed: bool = True) -> dict[str, Any]:
    """Delete a project whose runs have all ended (its database and media); unconfirmed: only count it."""
    held = reader.delete_project(project) if confirmed else reader.removal_counts(project)
    return {"project": project, "deleted": confirmed, **held}


def rename_run(reader: Reader, project: str, run: str, to: str) -> dict[str, Any]:
    """Give a run a new name (its id stays); the name follows init()'s rule for run names."""
    from .validation import check_label

    check_label(to, "run name")
    row = _run_row(reader, project, run)
    reader.rename_run(project, row["id"], to)
    return {"project": project, "run_id": row["id"], "run": to, "previous_name": row["name"]}


def move_run(reader: Reader, project: str, run: str, to_project: str) -> dict[str, Any]:
    """Move an ended run to another project (created if missing), keeping its id and everything it logged."""
    from .storage import validate_project

    row = _run_row(reader, project, run)
    moved = reader.move_run(project, row["id"], validate_project(to_project))
    return {"project": to_project, "from_project": project, "run": row["name"], "run_id": row["id"], **moved}
