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
from .schema import RUNS_CHANGED
from .status import effective_status

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
    last_values: pl.DataFrame  # run_id, metric, value, step, timestamp: last value of each series that grew
    # after chunk_after (of every series when chunk_after is 0 or None)
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
    Last values: of the series that got chunks after `chunk_after` (every series when it is 0 or
    None), so a live view polling a big project reads only what moved.
    `metrics` and `exclude_run_ids` narrow the points only.
    """
    chunk_max, alert_max = max_ids(conn)
    now = time.time() if now is None else now
    raw = queries.runs(conn, now=now)
    runs = _states(conn, raw)
    keys = raw.select(pl.col("key").alias("run_key"), pl.col("id").alias("run_id"))
    grown = None  # a cursor: only the series that grew after it; a tail from the start: every series
    if chunk_after:
        sql = "SELECT DISTINCT run_key FROM chunks WHERE id > ? AND id <= ?"
        grown = [k for (k,) in conn.execute(sql, (chunk_after, chunk_max))]
    last_values = (
        queries.final_values(conn, run_keys=grown, mode="last")
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


FOLLOW_RUN_FIELDS = (*RUN_STATE_SCHEMA, "config")  # the keys of each run dict a Delta holds
STATUS_RECHECK_S = 2.0  # a running run's reported status can change with no write (its writer died)
NO_POINTS = pl.DataFrame(schema=POINTS_SCHEMA)
NO_ALERTS = pl.DataFrame(schema=queries.ALERT_SCHEMA)


@dataclass(frozen=True)
class Delta:
    """What a `Follower` read: runs new or changed, last values of the series that grew, new points and alerts.

    Runs and last values are a few rows each tick: plain Python rows, no frame built for them.
    """

    runs: list[dict]  # FOLLOW_RUN_FIELDS
    last_values: list[tuple]  # (run_id, metric, value, step, timestamp)
    points: pl.DataFrame  # POINTS_SCHEMA
    alerts: pl.DataFrame  # queries.ALERT_SCHEMA
    chunk_cursor: int
    alert_cursor: int
    removed: frozenset[str] = frozenset()  # ids of runs deleted since the last read


class Follower:
    """Reads one project database incrementally: each `read` returns only what changed since the last.

    Nothing changed (no other connection committed: `PRAGMA data_version`, a few microseconds)
    means nothing is read, except that runs stored as running have their reported status
    re-derived every STATUS_RECHECK_S (a dead writer changes no row). When something was
    committed: points and alerts after the cursors, last values of the series whose runs got
    new chunks, the full rows of runs that are new, stored as running, renamed, or got new
    chunks or alerts; and every run's (key, id, name), to see renames and deletions, only when
    the project's `runs_changed` mark moved (storage/start_over.py counts both there).
    Runs in `exclude_run_ids` (followed from memory by the caller) get no points and no last
    values while excluded; their last values are read once they are no longer excluded.
    """

    def __init__(self) -> None:
        self.version: int | None = None
        self.chunk_cursor = 0
        self.alert_cursor = 0
        self.max_run_key = 0
        self._running: dict[int, tuple] = {}  # key -> the raw row of a run stored as running
        self._reported: dict[int, str] = {}  # key -> status last reported for those
        self._recheck_at = 0.0
        self._names: dict[int, tuple[str, str]] = {}  # key -> (id, name): renames and deletions
        self._keys: dict[str, int] = {}  # run id -> key, for the runs in _names
        self._runs_mark: object = None  # the meta RUNS_CHANGED value the names were last read at
        self._excluded: set[int] = set()  # keys excluded at the last read

    def invalidate(self) -> None:
        """Read again on the next call (after this connection itself wrote, e.g. a stop request)."""
        self.version = None

    def read(
        self, conn: sqlite3.Connection, now: float, *, exclude_run_ids: Sequence[str] = (), initial: bool = False
    ) -> Delta | None:
        """What changed since the last read (None: nothing). `initial`: every run and last value, no points."""
        version = conn.execute("PRAGMA data_version").fetchone()[0]
        if version == self.version and not initial and not self._status_moved(now):
            return None
        self.version = version
        chunk_max, alert_max = max_ids(conn)
        points, alerts = NO_POINTS, NO_ALERTS
        touched: set[int] | None = None
        if not initial:
            if chunk_max < self.chunk_cursor:  # the newest chunks were deleted (with their run): ids come again
                self.chunk_cursor = chunk_max
            touched = set()
            if chunk_max > self.chunk_cursor:
                points, touched = self._points(conn, chunk_max, exclude_run_ids)
            if alert_max > self.alert_cursor:
                alerts = queries.alerts(conn, after_id=self.alert_cursor).filter(pl.col("id") <= alert_max)
                touched |= set(alerts["run_key"].to_list())
        self.chunk_cursor = max(chunk_max, self.chunk_cursor)
        self.alert_cursor = max(alert_max, self.alert_cursor)
        removed = self._read_names(conn, touched)
        runs = self._runs(conn, touched, now)
        excluded = {self._keys[rid] for rid in exclude_run_ids if rid in self._keys}
        # (runs that stopped being excluded get their last values read now)
        keys = None if touched is None else sorted((touched | (self._excluded - excluded)) - excluded)
        self._excluded = excluded
        last = []
        if keys is None or keys:
            names = self._names
            last = [
                (names[k][0], m, v, s, t)
                for k, m, v, s, t in queries.final_value_rows(conn, run_keys=keys, mode="last")
                if k in names
            ]
        return Delta(runs, last, points, alerts, self.chunk_cursor, self.alert_cursor, removed)

    def _read_names(self, conn: sqlite3.Connection, touched: set[int] | None) -> frozenset[str]:
        """Every run's (id, name) when the project's runs_changed mark moved: ids of runs deleted; renamed ones
        join `touched`."""
        mark = conn.execute("SELECT value FROM meta WHERE key = ?", (RUNS_CHANGED,)).fetchone()
        if touched is not None and mark == self._runs_mark:
            return frozenset()
        self._runs_mark = mark
        names = {key: (rid, name) for key, rid, name in conn.execute("SELECT key, id, name FROM runs")}
        removed = frozenset(v[0] for k, v in self._names.items() if k not in names)
        if touched is not None:  # renamed runs are read again
            touched |= {k for k, v in names.items() if k in self._names and self._names[k] != v}
        self._names = names
        self._keys = {rid: key for key, (rid, _) in names.items()}
        for key in [k for k in self._running if k not in names]:
            del self._running[key]
        return removed

    def _points(
        self, conn: sqlite3.Connection, chunk_max: int, exclude_run_ids: Sequence[str]
    ) -> tuple[pl.DataFrame, set[int]]:
        touched = {
            k
            for (k,) in conn.execute(
                "SELECT DISTINCT run_key FROM chunks WHERE id > ? AND id <= ?", (self.chunk_cursor, chunk_max)
            )
        }
        excluded = {self._keys.get(rid) for rid in exclude_run_ids}
        if touched <= excluded:  # only runs followed from memory wrote: no points to read
            return NO_POINTS, touched
        points = points_between(conn, self.chunk_cursor, chunk_max, exclude_run_ids=exclude_run_ids)
        return points, touched

    def _runs(self, conn: sqlite3.Connection, touched: set[int] | None, now: float) -> list[dict]:
        sql = (
            "SELECT key, id, name, group_name, status, config, created_at, finished_at, heartbeat_at, host, pid,"
            " stop_requested_at FROM runs"
        )
        params: list = []
        if touched is not None:
            sql += " WHERE key > ? OR status = 'running'"
            params.append(self.max_run_key)
            wanted = touched | set(self._running)  # a run that was running may have ended
            if wanted:
                clause, p = _in("key", sorted(wanted))
                sql += " OR " + clause
                params += p
        rows = conn.execute(sql + " ORDER BY created_at, key", params).fetchall()
        for row in rows:
            self.max_run_key = max(self.max_run_key, row[0])
            self._names[row[0]] = (row[1], row[2])
            self._keys[row[1]] = row[0]
            if row[4] == "running":
                self._running[row[0]] = row
            else:
                self._running.pop(row[0], None)
                self._reported.pop(row[0], None)
        self._recheck_at = now + STATUS_RECHECK_S
        return self._dicts(conn, rows, now)

    def _dicts(self, conn: sqlite3.Connection, rows: list[tuple], now: float) -> list[dict]:
        if not rows:
            return []
        keys = [r[0] for r in rows]
        clause, params = _in("run_key", keys)
        last = dict(
            conn.execute(f"SELECT run_key, max(last_step) FROM summaries WHERE {clause} GROUP BY run_key", params)
        )
        out = []
        for key, rid, name, group, stored, config, created, finished, heartbeat, host, pid, stop_at in rows:
            reported = effective_status(stored, heartbeat, host, pid, now)
            if stored == "running":
                self._reported[key] = reported
            out.append(
                {
                    "id": rid,
                    "name": name,
                    "group": group,
                    "status": reported,
                    "created_at": created,
                    "finished_at": finished,
                    "stop_requested": stop_at is not None,
                    "last_step": last.get(key),
                    "config": config,
                }
            )
        return out

    def _status_moved(self, now: float) -> bool:
        """True when a run stored as running now reports another status (time alone: its writer died)."""
        if not self._running or now < self._recheck_at:
            return False
        self._recheck_at = now + STATUS_RECHECK_S
        return any(
            effective_status(row[4], row[8], row[9], row[10], now) != self._reported.get(key)
            for key, row in self._running.items()
        )
