"""The read commands (list, get, best, compare, summary) and stop: each returns its JSON document.

All go through `trackio_nb.readers.reader_for` and, for best/compare/summary, the Polars
functions in `trackio_nb.analysis`, the ones the report and the server use.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from .. import analysis
from ..enums import LEVELS, REASONS
from ..presentation import alert_dicts, iso_utc, require_metric, resolve_run
from ..readers import Reader, reader_for
from . import flags
from .features import require


def open_reader(args: argparse.Namespace) -> Reader:
    """The local data directory, or the tracking server of --server / TRACKIO_NB_SERVER."""
    server = args.server or os.environ.get("TRACKIO_NB_SERVER") or None
    if server:
        require("trackio_nb.remote.client_reader", "RemoteReader", "--server (reading from a tracking server)")
    return reader_for(server, args.token or os.environ.get("TRACKIO_NB_TOKEN") or None)


def _run_row(reader: Reader, project: str, name_or_id: str) -> dict[str, Any]:
    return resolve_run(reader.runs(project), project, name_or_id)


def list_projects(reader: Reader, args: argparse.Namespace) -> dict[str, Any]:
    return {"projects": reader.projects()}


def list_runs(reader: Reader, args: argparse.Namespace) -> dict[str, Any]:
    runs = reader.runs(args.project)
    return {
        "project": args.project,
        "runs": [
            {
                "id": row["id"],
                "run": row["name"],
                "group": row["group"],
                "status": row["status"],
                "created_at": iso_utc(row["created_at"]),
                "finished_at": iso_utc(row["finished_at"]),
            }
            for row in runs.iter_rows(named=True)
        ],
    }


def list_metrics(reader: Reader, args: argparse.Namespace) -> dict[str, Any]:
    row = _run_row(reader, args.project, args.run) if args.run is not None else None
    metrics = reader.metrics(args.project, None if row is None else [row["id"]])
    return {
        "project": args.project,
        "run": None if row is None else row["name"],
        "run_id": None if row is None else row["id"],
        "metrics": metrics,
    }


def list_alerts(reader: Reader, args: argparse.Namespace) -> dict[str, Any]:
    level = flags.choice("--level", args.level, LEVELS)
    reason = flags.choice("--reason", args.reason, REASONS)
    since = flags.since(args.since)
    after_id = flags.non_negative_int("--after-id", args.after_id)
    row = _run_row(reader, args.project, args.run) if args.run is not None else None
    frame = reader.alerts(args.project, None if row is None else [row["id"]], level, reason, since, after_id)
    alerts = alert_dicts(frame)
    return {
        "project": args.project,
        "run": None if row is None else row["name"],
        "run_id": None if row is None else row["id"],
        "level": level,
        "reason": reason,
        "since": iso_utc(since),
        "after_id": after_id,
        "last_id": alerts[-1]["id"] if alerts else (after_id or 0),
        "alerts": alerts,
    }


get_alerts = list_alerts


def get_run(reader: Reader, args: argparse.Namespace) -> dict[str, Any]:
    row = _run_row(reader, args.project, args.run)
    finals = reader.final_values(args.project, [row["id"]], None, "last")
    steps = [s for s in finals["step"].to_list() if s is not None]
    return {
        "project": args.project,
        "id": row["id"],
        "run": row["name"],
        "group": row["group"],
        "status": row["status"],
        "config": analysis.config_dict(row["config"]),
        "created_at": iso_utc(row["created_at"]),
        "finished_at": iso_utc(row["finished_at"]),
        "metrics": reader.metrics(args.project, [row["id"]]),
        "last_values": dict(zip(finals["metric"].to_list(), finals["value"].to_list(), strict=True)),
        "last_step": max(steps) if steps else None,
        "num_alerts": reader.alerts(args.project, [row["id"]]).height,
    }


def get_metric(reader: Reader, args: argparse.Namespace) -> dict[str, Any]:
    row = _run_row(reader, args.project, args.run)
    where = f"run {row['name']!r} (id {row['id']}) of project {args.project!r}"
    require_metric(reader.metrics(args.project, [row["id"]]), args.metric, where)
    frame = reader.history(args.project, row["id"], [args.metric])
    values = [
        {"step": step, "timestamp": iso_utc(stamp), "value": value}
        for step, stamp, value in frame.select("step", "timestamp", args.metric).iter_rows()
    ]
    return {"project": args.project, "run": row["name"], "run_id": row["id"], "metric": args.metric, "values": values}


def best(reader: Reader, args: argparse.Namespace) -> dict[str, Any]:
    direction = flags.choice("--direction", args.direction, analysis.DIRECTIONS)
    mode = flags.choice("--mode", args.mode, analysis.MODES)
    return analysis.best(reader, args.project, args.metric, direction, mode, args.include_all)


def compare(reader: Reader, args: argparse.Namespace) -> dict[str, Any]:
    mode = flags.choice("--mode", args.mode, analysis.MODES)
    runs = flags.names("--runs", args.runs)
    metrics = flags.names("--metrics", args.metrics)
    return analysis.compare(reader, args.project, runs, metrics, mode, args.include_all)


def summary(reader: Reader, args: argparse.Namespace) -> dict[str, Any]:
    return analysis.summary(reader, args.project, args.metric)


def stop(reader: Reader, args: argparse.Namespace) -> dict[str, Any]:
    row = _run_row(reader, args.project, args.run)
    if not reader.stop(args.project, row["id"]):
        raise LookupError(f"project {args.project!r} has no run with id {row['id']!r}")
    return {
        "project": args.project,
        "run": row["name"],
        "run_id": row["id"],
        "status": row["status"],
        "stop_requested": True,
    }
