"""The read side: Polars query functions every surface calls (Api, CLI, widgets, reports, server).

Each takes an open connection (see `connection.connect`) and returns a Polars DataFrame
with a fixed schema, empty or not. Aggregates come from the `summaries` table in one query;
histories decode the packed chunks of the asked series only.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

import polars as pl

from ..enums import LEVELS
from ..errors import InvalidValue
from .codec import text_value
from .status import effective_status

RUN_SCHEMA = {
    "key": pl.Int64,
    "id": pl.String,
    "name": pl.String,
    "group": pl.String,
    "status": pl.String,
    "config": pl.String,
    "created_at": pl.Float64,
    "finished_at": pl.Float64,
    "heartbeat_at": pl.Float64,
    "host": pl.String,
    "pid": pl.Int64,
    "stop_requested_at": pl.Float64,
}
FINAL_SCHEMA = {
    "run_key": pl.Int64,
    "metric": pl.String,
    "value": pl.Float64,
    "step": pl.Int64,
    "timestamp": pl.Float64,
}
ALERT_SCHEMA = {
    "id": pl.Int64,
    "run_key": pl.Int64,
    "run_id": pl.String,
    "run": pl.String,
    "timestamp": pl.Float64,
    "step": pl.Int64,
    "level": pl.String,
    "title": pl.String,
    "text": pl.String,
    "data": pl.String,
}
# The frames every Reader returns (trackio_nb.readers), whatever the backend.
READ_RUNS_SCHEMA = {
    "id": pl.String,
    "name": pl.String,
    "group": pl.String,
    "status": pl.String,
    "config": pl.String,
    "created_at": pl.Float64,
    "finished_at": pl.Float64,
    "heartbeat_at": pl.Float64,
}
READ_FINAL_SCHEMA = {"run_id": pl.String, "metric": pl.String, "value": pl.Float64, "step": pl.Int64}
READ_ALERTS_SCHEMA = {
    "id": pl.Int64,
    "run_id": pl.String,
    "run": pl.String,
    "timestamp": pl.Float64,
    "step": pl.Int64,
    "level": pl.String,
    "title": pl.String,
    "text": pl.String,
    "data": pl.String,
}


MODES = ("last", "min", "max")
# The summaries columns each mode reads: value, step, timestamp (SQL shared by both backends).
FINAL_COLUMNS = {
    "last": ("s.last_value", "s.last_step", "s.last_timestamp"),
    "min": ("s.min_value", "s.min_step", "NULL"),
    "max": ("s.max_value", "s.max_step", "NULL"),
}
RESERVED = ("step", "timestamp")  # history() columns, never metric names
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _frame(conn: sqlite3.Connection, sql: str, params: Sequence, schema: dict) -> pl.DataFrame:
    rows = conn.execute(sql, list(params)).fetchall()
    return pl.DataFrame(rows, schema=schema, orient="row")


def _in(column: str, values: Sequence) -> tuple[str, list]:
    return f"{column} IN ({','.join('?' * len(values))})", list(values)


def check_mode(mode: str) -> None:
    if mode not in MODES:
        raise InvalidValue(f"mode must be one of {', '.join(MODES)}, got {mode!r}")


def check_level(level: str | None) -> None:
    if level is not None and level not in LEVELS:
        raise InvalidValue(f"level must be one of {', '.join(LEVELS)}, got {level!r}")


def since_micros(since: datetime) -> int:
    """`since` as whole microseconds after the epoch (alerts compare at that precision)."""
    if since.tzinfo is None:
        raise InvalidValue("since must be a timezone-aware datetime")
    return (since - _EPOCH) // timedelta(microseconds=1)


def runs(conn: sqlite3.Connection, *, now: float | None = None) -> pl.DataFrame:
    """Every run of the project, oldest first, with the status readers report."""
    rows = conn.execute(
        "SELECT key, id, name, group_name, status, config, created_at, finished_at, heartbeat_at, host, pid,"
        " stop_requested_at FROM runs ORDER BY created_at, key"
    ).fetchall()
    return runs_frame(rows, now)


def runs_frame(rows: Sequence[tuple], now: float | None = None) -> pl.DataFrame:
    """RUN_SCHEMA rows (any backend) with the status readers report at `now`."""
    df = pl.DataFrame(rows, schema=RUN_SCHEMA, orient="row")
    if df.is_empty():
        return df
    now = time.time() if now is None else now
    status = [
        effective_status(s, hb, host, pid, now)
        for s, hb, host, pid in zip(df["status"], df["heartbeat_at"], df["host"], df["pid"], strict=True)
    ]
    return df.with_columns(pl.Series("status", status, dtype=pl.String))


def run_keys(conn: sqlite3.Connection) -> pl.DataFrame:
    """Every run's integer key and id: the id -> key map readers need, without computing statuses."""
    return _frame(conn, "SELECT key, id FROM runs", (), {"key": pl.Int64, "id": pl.String})


def metric_names(conn: sqlite3.Connection, run_keys: Sequence[int] | None = None) -> list[str]:
    """Names of the metrics logged by the given runs (all runs if None), sorted."""
    where, params = ("", [])
    if run_keys is not None:
        if not run_keys:
            return []
        clause, params = _in("run_key", run_keys)
        where = "WHERE " + clause
    sql = (
        f"SELECT name FROM metric_names WHERE key IN (SELECT metric_key FROM summaries {where}"
        f" UNION SELECT metric_key FROM text_values {where}) ORDER BY name"
    )
    return [r[0] for r in conn.execute(sql, params + params).fetchall()]


def final_values(
    conn: sqlite3.Connection,
    *,
    run_keys: Sequence[int] | None = None,
    metrics: Sequence[str] | None = None,
    mode: str = "last",
) -> pl.DataFrame:
    """One row per (run, metric): the last, minimum or maximum value and the step it was at.

    A single query over the per-series aggregates, whatever the number of runs and metrics.
    A last value of NaN is NaN; min and max skip NaN (null when a series holds only NaN).
    """
    query = _final_query(run_keys, metrics, mode)
    if query is None:
        return pl.DataFrame(schema=FINAL_SCHEMA)
    return last_nan(_frame(conn, *query, FINAL_SCHEMA), mode)


def final_value_rows(
    conn: sqlite3.Connection, *, run_keys: Sequence[int] | None = None, mode: str = "last"
) -> list[tuple[int, str, float | None, int | None, float | None]]:
    """`final_values` as (run_key, metric, value, step, timestamp) tuples: a few rows, no frame to build."""
    query = _final_query(run_keys, None, mode)
    if query is None:
        return []
    rows = conn.execute(*query).fetchall()
    if mode == "last":
        nan = float("nan")
        return [(k, m, nan if v is None else v, s, t) for k, m, v, s, t in rows]
    return rows


def _final_query(run_keys: Sequence[int] | None, metrics: Sequence[str] | None, mode: str) -> tuple[str, list] | None:
    """The final-values SQL and its parameters (None: an empty selection, nothing to read)."""
    check_mode(mode)
    value, step, stamp = FINAL_COLUMNS[mode]
    clauses, params = [], []
    for column, wanted in (("s.run_key", run_keys), ("m.name", metrics)):
        if wanted is not None:
            if not wanted:
                return None
            clause, p = _in(column, wanted)
            clauses.append(clause)
            params += p
    where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
    sql = (
        f"SELECT s.run_key, m.name, {value}, {step}, {stamp} FROM summaries s"
        f" JOIN metric_names m ON m.key = s.metric_key {where} ORDER BY s.run_key, m.name"
    )
    return sql, params


def last_nan(df: pl.DataFrame, mode: str) -> pl.DataFrame:
    """A last value stored as NULL was NaN (SQLite keeps no NaN REAL): read it back as NaN."""
    return df.with_columns(pl.col("value").fill_null(float("nan"))) if mode == "last" else df


def history(conn: sqlite3.Connection, run_key: int, metrics: Sequence[str] | None = None) -> pl.DataFrame:
    """A run's logged values: `step`, `timestamp` (UTC) and one column per metric.

    With `metrics`, only those columns. When a step was logged twice, the later value wins.
    Metrics that only ever held non-numeric values come back as text columns: a logged string
    as itself, other values (lists, dicts, booleans) as their JSON text. Metrics named `step` or
    `timestamp` (refused by log() today, possible in older files) are left out.
    """
    names = [n for n in (metrics if metrics is not None else metric_names(conn, [run_key])) if n not in RESERVED]
    keys = dict(conn.execute("SELECT name, key FROM metric_names").fetchall())
    wanted = {keys[n]: n for n in names if n in keys}
    chunks: list = []
    if wanted:
        clause, params = _in("metric_key", list(wanted))
        chunks = conn.execute(
            f'SELECT metric_key, steps, timestamps, "values" FROM chunks WHERE run_key = ? AND {clause} ORDER BY id',
            [run_key, *params],
        ).fetchall()

    def texts(numeric: set[str]) -> list:
        text_keys = [k for k, n in wanted.items() if n not in numeric]
        if not text_keys:
            return []
        clause, params = _in("metric_key", text_keys)
        return conn.execute(
            f"SELECT metric_key, step, timestamp, value FROM text_values WHERE run_key = ? AND {clause} ORDER BY id",
            [run_key, *params],
        ).fetchall()

    return history_frame(names, wanted, chunks, texts)


def history_frame(names: list[str], wanted: dict, chunks: Sequence[tuple], texts) -> pl.DataFrame:
    """The history frame from stored rows (any backend).

    `wanted` maps metric keys to names; `chunks` are (metric_key, steps, timestamps, values)
    packed rows in storage order; `texts(numeric names)` returns the (metric_key, step,
    timestamp, value) text rows of the other wanted metrics, in storage order.
    """
    import numpy as np  # here, not at module level: aggregate queries (CLI start-up) never pay for NumPy

    arrays: dict[str, tuple[list, list, list]] = {}
    for metric_key, steps, stamps, values in chunks:
        a = arrays.setdefault(wanted[metric_key], ([], [], []))
        a[0].append(np.frombuffer(steps, dtype="<i8"))
        a[1].append(np.frombuffer(stamps, dtype="<f8"))
        a[2].append(np.frombuffer(values, dtype="<f8"))
    numeric = set(arrays)
    frame = _numeric_frame({name: tuple(np.concatenate(a) for a in parts) for name, parts in arrays.items()})
    rows = texts(numeric) if len(numeric) < len(wanted) else []
    if rows:
        text_rows = pl.DataFrame(
            [(wanted[k], s, t, text_value(v)) for k, s, t, v in rows],
            schema={"metric": pl.String, "step": pl.Int64, "timestamp": pl.Float64, "value": pl.String},
            orient="row",
        )
        frame = _merge_on_step(frame, _wide([text_rows], "value", pl.String))
    for n in names:
        if n not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=pl.Float64).alias(n))
    frame = frame.select("step", "timestamp", *names).sort("step")
    return frame.with_columns(
        pl.from_epoch(pl.col("timestamp") * 1_000_000, time_unit="us").dt.replace_time_zone("UTC")
    )


def _numeric_frame(series: dict) -> pl.DataFrame:
    """Wide frame from per-metric (steps, timestamps, values) arrays.

    The usual case (every metric logged at the same strictly increasing steps) is assembled
    column by column; anything else goes through a long frame, deduplicated and pivoted.
    """
    import numpy as np

    if not series:
        return pl.DataFrame(schema={"step": pl.Int64, "timestamp": pl.Float64})
    columns = list(series.values())
    steps = columns[0][0]
    aligned = all(np.array_equal(c[0], steps) for c in columns[1:]) and bool(np.all(steps[1:] > steps[:-1]))
    if aligned:
        stamps = np.minimum.reduce([c[1] for c in columns]) if len(columns) > 1 else columns[0][1]
        return pl.DataFrame({"step": steps, "timestamp": stamps, **{n: c[2] for n, c in series.items()}})
    parts = [
        pl.DataFrame({"metric": pl.repeat(n, len(c[0]), eager=True), "step": c[0], "timestamp": c[1], "value": c[2]})
        for n, c in series.items()
    ]
    return _wide(parts, "value", pl.Float64)


def _wide(parts: list[pl.DataFrame], values: str, dtype: pl.DataType) -> pl.DataFrame:
    if not parts or all(p.is_empty() for p in parts):
        return pl.DataFrame(schema={"step": pl.Int64, "timestamp": pl.Float64})
    long = pl.concat(parts).unique(subset=["metric", "step"], keep="last", maintain_order=True)
    stamps = long.group_by("step").agg(pl.col("timestamp").min())
    wide = long.pivot(on="metric", index="step", values=values)
    return stamps.join(wide, on="step", how="left")


def _merge_on_step(a: pl.DataFrame, b: pl.DataFrame) -> pl.DataFrame:
    if a.is_empty():
        return b
    merged = a.join(b, on="step", how="full", coalesce=True, suffix="_b")
    return merged.with_columns(pl.min_horizontal("timestamp", "timestamp_b").alias("timestamp")).drop("timestamp_b")


def alerts(
    conn: sqlite3.Connection,
    *,
    run_keys: Sequence[int] | None = None,
    level: str | None = None,
    reason: str | None = None,
    since: datetime | None = None,
    after_id: int | None = None,
    limit: int | None = None,
) -> pl.DataFrame:
    """Alerts in id order (ids only grow: `after_id` is a cursor), filtered in SQL."""
    clauses, params = [], []
    if run_keys is not None:
        if not run_keys:
            return pl.DataFrame(schema=ALERT_SCHEMA)
        clause, p = _in("a.run_key", run_keys)
        clauses.append(clause)
        params += p
    check_level(level)
    if level is not None:
        clauses.append("a.level = ?")
        params.append(level)
    if reason is not None:
        clauses.append("json_extract(a.data, '$.reason') = ?")
        params.append(reason)
    if since is not None:
        # Whole microseconds on both sides: an ISO string read back from an alert matches it.
        clauses.append("CAST(round(a.timestamp * 1000000) AS INTEGER) >= ?")
        params.append(since_micros(since))
    if after_id is not None:
        clauses.append("a.id > ?")
        params.append(after_id)
    where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
    tail = f" LIMIT {int(limit)}" if limit is not None else ""
    return _frame(
        conn,
        "SELECT a.id, a.run_key, r.id, r.name, a.timestamp, a.step, a.level, a.title, a.text, a.data"
        f" FROM alerts a JOIN runs r ON r.key = a.run_key {where} ORDER BY a.id{tail}",
        params,
        ALERT_SCHEMA,
    )


MEDIA_SCHEMA = {
    "id": pl.Int64,
    "run_id": pl.String,
    "run": pl.String,
    "step": pl.Int64,
    "timestamp": pl.Float64,
    "key": pl.String,
    "kind": pl.String,
    "caption": pl.String,
    "value": pl.String,
    "file": pl.String,
    "meta": pl.String,
}


def media(
    conn: sqlite3.Connection,
    *,
    run_keys: Sequence[int] | None = None,
    key: str | None = None,
    after_id: int | None = None,
) -> pl.DataFrame:
    """Logged media rows in id order (`after_id` is a cursor for live readers); `value` and `meta` are JSON text."""
    clauses, params = [], []
    if run_keys is not None:
        if not run_keys:
            return pl.DataFrame(schema=MEDIA_SCHEMA)
        clause, p = _in("m.run_key", run_keys)
        clauses.append(clause)
        params += p
    if key is not None:
        clauses.append("m.key = ?")
        params.append(key)
    if after_id is not None:
        clauses.append("m.id > ?")
        params.append(after_id)
    where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
    return _frame(
        conn,
        "SELECT m.id, r.id, r.name, m.step, m.timestamp, m.key, m.kind, m.caption, m.value, m.file, m.meta"
        f" FROM media m JOIN runs r ON r.key = m.run_key {where} ORDER BY m.id",
        params,
        MEDIA_SCHEMA,
    )
