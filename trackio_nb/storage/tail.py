"""Incremental reads for live surfaces: what was stored after a cursor.

Chunk and alert ids only grow (writes are serialized by SQLite and rows are never
deleted), so `id > cursor` is exactly "stored since the last look". A tail reads the
current maximum first and stops there, so rows committed meanwhile wait for the next tail.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from . import queries

POINTS_SCHEMA = {
    "run_id": pl.String,
    "metric": pl.String,
    "step": pl.Int64,
    "timestamp": pl.Float64,
    "value": pl.Float64,
}
RUN_STATE_SCHEMA = {
    "id": pl.String,
    "name": pl.String,
    "group": pl.String,
    "status": pl.String,
    "created_at": pl.Float64,
    "finished_at": pl.Float64,
    "stop_requested": pl.Boolean,
    "last_step": pl.Int64,
}


@dataclass(frozen=True)
class Tail:
    """What a tail read returns: every run's current state, its last values, and what is new."""

    runs: pl.DataFrame  # RUN_STATE_SCHEMA, all runs (small)
    last_values: pl.DataFrame  # run_id, metric, value, step, timestamp: last value of each series
    points: pl.DataFrame  # POINTS_SCHEMA: numeric points stored after the chunk cursor (empty if not asked)
    alerts: pl.DataFrame  # queries.ALERT_SCHEMA: alerts stored after the alert cursor (empty if not asked)
    chunk_cursor: int | None
    alert_cursor: int | None


def _in(column: str, values: Sequence) -> tuple[str, list]:
    return f"{column} IN ({','.join('?' * len(values))})", list(values)


def max_ids(conn: sqlite3.Connection) -> tuple[int, int]:
    """The largest chunk id and alert id stored so far (0 when none)."""
    chunk = conn.execute("SELECT coalesce(max(id), 0) FROM chunks").fetchone()[0]
    alert = conn.execute("SELECT coalesce(max(id), 0) FROM alerts").fetchone()[0]
    return chunk, alert


def points_between(
    conn: sqlite3.Connection,
    after_id: int,
    upto_id: int,
    *,
    metrics: Sequence[str] | None = None,
    exclude_run_ids: Sequence[str] = (),
) -> pl.DataFrame:
    """Numeric points of the chunks with after_id < id <= upto_id, in storage order."""
    if metrics is not None and not metrics:
        return pl.DataFrame(schema=POINTS_SCHEMA)
    clauses, params = ["c.id > ?", "c.id <= ?"], [after_id, upto_id]
    if metrics is not None:
        clause, p = _in("m.name", metrics)
        clauses.append(clause)
        params += p
    if exclude_run_ids:
        clause, p = _in("r.id", exclude_run_ids)
        clauses.append("NOT " + clause)
        params += p
    rows = conn.execute(
        'SELECT r.id, m.name, c.steps, c.timestamps, c."values" FROM chunks c'
        " JOIN runs r ON r.key = c.run_key JOIN metric_names m ON m.key = c.metric_key"
        f" WHERE {' AND '.join(clauses)} ORDER BY c.id",
        params,
    ).fetchall()
    return points_frame(rows)


def points_frame(rows: Sequence[tuple]) -> pl.DataFrame:
    """POINTS_SCHEMA from (run_id, metric, steps, timestamps, values) packed chunk rows (any backend)."""
    if not rows:
        return pl.DataFrame(schema=POINTS_SCHEMA)
    counts = [len(steps) // 8 for _, _, steps, _, _ in rows]
    return pl.DataFrame(
        {
            "run_id": np.repeat(np.array([r[0] for r in rows], dtype=object), counts),
            "metric": np.repeat(np.array([r[1] for r in rows], dtype=object), counts),
            "step": np.concatenate([np.frombuffer(r[2], dtype="<i8") for r in rows]),
            "timestamp": np.concatenate([np.frombuffer(r[3], dtype="<f8") for r in rows]),
            "value": np.concatenate([np.frombuffer(r[4], dtype="<f8") for r in rows]),
        },
        schema=POINTS_SCHEMA,
    )


def run_states(conn: sqlite3.Connection, *, now: float | None = None) -> pl.DataFrame:
    """Every run (oldest first) with its reported status, stop flag and last logged step."""
    return _states(conn, queries.runs(conn, now=now))


def _states(conn: sqlite3.Connection, runs: pl.DataFrame) -> pl.DataFrame:
    last = dict(conn.execute("SELECT run_key, max(last_step) FROM summaries GROUP BY run_key").fetchall())
    return states_frame(runs, last)


def states_frame(runs: pl.DataFrame, last: dict[int, int]) -> pl.DataFrame:
    """RUN_STATE_SCHEMA from a queries.runs frame and each run key's last logged step."""
    return pl.DataFrame(
        {
            "id": runs["id"],
            "name": runs["name"],
            "group": runs["group"],
            "status": runs["status"],
            "created_at": runs["created_at"],
            "finished_at": runs["finished_at"],
            "stop_requested": runs["stop_requested_at"].is_not_null(),
            "last_step": pl.Series([last.get(k) for k in runs["key"]], dtype=pl.Int64),
        },
        schema=RUN_STATE_SCHEMA,
    )


def tail(
    conn: sqlite3.Connection,
    *,
    chunk_after: int | None = 0,
    alert_after: int | None = 0,
    metrics: Sequence[str] | None = None,
    exclude_run_ids: Sequence[str] = (),
    now: float | None = None,
) -> Tail:
    """Runs, last values, and the points and alerts stored after the two cursors.

    A cursor of None skips that part (its frame comes back empty and its cursor stays None).
    `metrics` and `exclude_run_ids` narrow the points only.
    """
    chunk_max, alert_max = max_ids(conn)
    now = time.time() if now is None else now
    raw = queries.runs(conn, now=now)
    runs = _states(conn, raw)
    keys = raw.select(pl.col("key").alias("run_key"), pl.col("id").alias("run_id"))
    last_values = (
        queries.final_values(conn, mode="last")
        .join(keys, on="run_key")
        .select("run_id", "metric", "value", "step", "timestamp")
    )
    if chunk_after is None:
        points, chunk_cursor = pl.DataFrame(schema=POINTS_SCHEMA), None
    else:
        points = points_between(conn, chunk_after, chunk_max, metrics=metrics, exclude_run_ids=exclude_run_ids)
        chunk_cursor = max(chunk_max, chunk_after)
    if alert_after is None:
        alerts, alert_cursor = pl.DataFrame(schema=queries.ALERT_SCHEMA), None
    else:
        alerts = queries.alerts(conn, after_id=alert_after).filter(pl.col("id") <= alert_max)
        alert_cursor = max(alert_max, alert_after)
    return Tail(runs, last_values, points, alerts, chunk_cursor, alert_cursor)
