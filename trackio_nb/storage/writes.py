"""Every write to a project database, as plain functions over a sqlite-utils Database.

Only the training process (or the tracking server) writes a run's rows; other processes
write only `runs.stop_requested_at`. Batches are written in one transaction each.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from ..errors import RunInProgress
from .connection import connect
from .media_files import write_blobs
from .packed import PackedLogs
from .records import AlertRecord, LogEntry, MediaRecord, RunRecord, SeriesState
from .schema import write_summary_from_chunks
from .status import RUNNING, effective_status
from .summary import series_chunk


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """One atomic unit: BEGIN IMMEDIATE (the write lock up front, waiting on the busy
    timeout instead of failing on upgrade), or a savepoint inside an open transaction (the
    server holds one around a whole batch and its id)."""
    if conn.in_transaction:
        conn.execute("SAVEPOINT tnb_write")
        try:
            yield
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK TO SAVEPOINT tnb_write")
                conn.execute("RELEASE SAVEPOINT tnb_write")
            raise
        conn.execute("RELEASE SAVEPOINT tnb_write")
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def open_db(path: Path, project: str) -> sqlite_utils.Database:
    """Open (creating if needed) the project database for writing."""
    return sqlite_utils.Database(connect(path, create=True, project=project))


def create_run(db: sqlite_utils.Database, run: RunRecord) -> int:
    """Insert a run with status `running`; returns its integer key."""
    with transaction(db.conn):
        table = db.table("runs")
        table.insert(
            {
                "id": run.id,
                "name": run.name,
                "group_name": run.group,
                "status": RUNNING,
                "config": json.dumps(run.config, allow_nan=True),
                "created_at": run.created_at,
                "heartbeat_at": run.created_at,
                "host": run.host,
                "pid": run.pid,
            }
        )
        return table.last_pk


def latest_run_named(db: sqlite_utils.Database, name: str) -> dict | None:
    """The most recent run called `name` (for resume), or None."""
    rows = list(db.query("SELECT * FROM runs WHERE name = ? ORDER BY created_at DESC, key DESC LIMIT 1", [name]))
    return rows[0] if rows else None


def check_takeover(row: tuple, host: str | None, pid: int | None, now: float, force: bool) -> None:
    """Refuse to resume a run another live process is writing (one run, one writer) unless `force`.

    `row` is (name, status, heartbeat_at, host, pid) of the stored run.
    """
    name, status, heartbeat_at, owner_host, owner_pid = row
    if force or (owner_host, owner_pid) == (host, pid):
        return
    if effective_status(status, heartbeat_at, owner_host, owner_pid, now) != RUNNING:
        return
    age = max(0.0, now - heartbeat_at)
    raise RunInProgress(
        f"run {name!r} is still running in process {owner_pid} on host {owner_host!r} (last heartbeat"
        f" {age:.1f} s ago); resuming it would interleave two writers: finish it first, or pass"
        " resume='force' to take it over (the other process then stores nothing more)"
    )


def resume_run(
    db: sqlite_utils.Database, key: int, *, host: str, pid: int, now: float, force: bool = False
) -> tuple[int, SeriesState]:
    """Mark run `key` running again in this process; returns its next step and series state.

    Refused (RunInProgress) while another live process writes it, unless `force`; the check
    and the takeover are one transaction, so two resumers never both win.
    """
    with transaction(db.conn):
        row = db.execute("SELECT name, status, heartbeat_at, host, pid FROM runs WHERE key = ?", [key]).fetchone()
        check_takeover(row, host, pid, now, force)
        db.table("runs").update(
            key,
            {
                "status": RUNNING,
                "finished_at": None,
                "heartbeat_at": now,
                "host": host,
                "pid": pid,
                "stop_requested_at": None,
            },
        )
    state = SeriesState()
    top = -1
    for metric_key, last_step in db.execute(
        "SELECT metric_key, last_step FROM summaries WHERE run_key = ?", [key]
    ).fetchall():
        state.last_steps[metric_key] = last_step
        top = max(top, last_step)
    for table in ("text_values", "media"):
        row = db.execute(f"SELECT max(step) FROM {table} WHERE run_key = ?", [key]).fetchone()
        if row[0] is not None:
            top = max(top, row[0])
    return top + 1, state


@contextmanager
def synced(conn: sqlite3.Connection, on: bool = True) -> Iterator[None]:
    """Commits inside are synced to disk before they return (PRAGMA synchronous = FULL)."""
    if on:
        conn.execute("PRAGMA synchronous = FULL")
    try:
        yield
    finally:
        if on:
            conn.execute("PRAGMA synchronous = NORMAL")


def set_status(
    db: sqlite_utils.Database,
    key: int,
    status: str,
    finished_at: float | None,
    *,
    durable: bool = False,
    owner: tuple[str, int] | None = None,
    busy_timeout_s: float | None = None,
) -> bool:
    """Set a run's status; with `durable`, the commit is synced to disk before returning.

    With `owner` (host, pid), only while that process owns the run (False otherwise); with
    `busy_timeout_s`, a database locked longer than that raises instead of waiting longer.
    """
    with bounded_wait(db.conn, busy_timeout_s), synced(db.conn, durable), transaction(db.conn):
        if owner is None:
            db.execute("UPDATE runs SET status = ?, finished_at = ? WHERE key = ?", [status, finished_at, key])
            return True
        cursor = db.execute(
            "UPDATE runs SET status = ?, finished_at = ? WHERE key = ? AND host IS ? AND pid IS ?",
            [status, finished_at, key, *owner],
        )
        return cursor.rowcount == 1


@contextmanager
def bounded_wait(conn: sqlite3.Connection, seconds: float | None) -> Iterator[None]:
    """Inside, wait at most `seconds` for another writer's lock (then "database is locked")."""
    if seconds is None:
        yield
        return
    previous = conn.execute("PRAGMA busy_timeout").fetchone()[0]
    conn.execute(f"PRAGMA busy_timeout = {int(seconds * 1000)}")
    try:
        yield
    finally:
        conn.execute(f"PRAGMA busy_timeout = {int(previous)}")


def set_config(db: sqlite_utils.Database, key: int, config: dict, owner: tuple[str, int] | None = None) -> None:
    with transaction(db.conn):
        check_owner(db.conn, key, owner)
        db.table("runs").update(key, {"config": json.dumps(config, allow_nan=True)})


def heartbeat(db: sqlite_utils.Database, key: int, now: float, owner: tuple[str, int] | None = None) -> bool:
    """Refresh the heartbeat; with `owner` (host, pid) only while that process still owns the run.

    Returns False when another process took the run over (resume='force').
    """
    with transaction(db.conn):
        if owner is None:
            db.execute("UPDATE runs SET heartbeat_at = ? WHERE key = ?", [now, key])
            return True
        cursor = db.execute(
            "UPDATE runs SET heartbeat_at = ? WHERE key = ? AND host IS ? AND pid IS ?", [now, key, *owner]
        )
        return cursor.rowcount == 1


def owns(conn: sqlite3.Connection, key: int, owner: tuple[str, int]) -> bool:
    """True while the process `owner` (host, pid) is the one the run's row names."""
    row = conn.execute("SELECT host, pid FROM runs WHERE key = ?", [key]).fetchone()
    return row is None or tuple(row) == tuple(owner)


def check_owner(conn: sqlite3.Connection, key: int, owner: tuple[str, int] | None) -> None:
    """Inside a write transaction: refuse the write if another process took the run over."""
    if owner is None:
        return
    row = conn.execute("SELECT host, pid FROM runs WHERE key = ?", [key]).fetchone()
    if row is not None and tuple(row) != tuple(owner):
        raise taken_over(*row)


def taken_over(host: str, pid: int) -> RunInProgress:
    """The error for a write from a process whose run another process took over."""
    return RunInProgress(
        f"the run was taken over by process {pid} on host {host!r} (resume='force'); this process"
        " (the previous writer) may store nothing more"
    )


def stop_requested(db: sqlite_utils.Database, key: int) -> bool:
    row = db.execute("SELECT stop_requested_at FROM runs WHERE key = ?", [key]).fetchone()
    return row is not None and row[0] is not None


def request_stop(conn: sqlite3.Connection, run_id: str, now: float) -> bool:
    """Ask run `run_id` to stop; returns False if no such run."""
    db = sqlite_utils.Database(conn)
    with transaction(db.conn):
        cursor = db.execute("UPDATE runs SET stop_requested_at = ? WHERE id = ?", [now, run_id])
        return cursor.rowcount == 1


def _metric_keys(db: sqlite_utils.Database, state: SeriesState, names: Iterable[str]) -> None:
    missing = [n for n in names if n not in state.metric_keys]
    if not missing:
        return
    db.table("metric_names").insert_all(({"name": n} for n in missing), ignore=True)
    marks = ",".join("?" * len(missing))
    for key, name in db.execute(f"SELECT key, name FROM metric_names WHERE name IN ({marks})", missing).fetchall():
        state.metric_keys[name] = key


def _group(logs: Sequence[LogEntry]) -> tuple[dict[str, tuple[list[int], list[float], list[float]]], list]:
    """Turn logged steps into one (steps, timestamps, values) series per metric.

    Consecutive steps that log the same metrics in the same order (the usual training loop)
    are transposed with zip() in C; only irregular steps pay a Python loop per value.
    """
    if isinstance(logs, PackedLogs):  # a server batch: arrays per metric, no Python object per value
        return logs.series()
    series: dict[str, tuple[list[int], list[float], list[float]]] = {}
    texts: list[tuple[str, int, float, str]] = []
    i, n = 0, len(logs)
    while i < n:
        names = tuple(logs[i][2])
        j = i + 1
        while j < n and tuple(logs[j][2]) == names:
            j += 1
        segment = logs[i:j]
        steps = [e[0] for e in segment]
        stamps = [e[1] for e in segment]
        columns = zip(*(e[2].values() for e in segment), strict=True) if names else ()
        for name, column in zip(names, columns, strict=True):
            s = series.get(name)
            if s is None:
                s = series[name] = ([], [], [])
            s[0].extend(steps)
            s[1].extend(stamps)
            s[2].extend(column)
        for step, ts, _, others in segment:
            if others:
                texts.extend((name, step, ts, value) for name, value in others.items())
        i = j
    return series, texts


group_logs = _group  # the same grouping for the PostgreSQL store

_MERGE_SUMMARY = """
INSERT INTO summaries (run_key, metric_key, count, last_step, last_timestamp, last_value,
                       min_value, min_step, max_value, max_step)
VALUES (:run_key, :metric_key, :count, :last_step, :last_timestamp, :last_value,
        :min_value, :min_step, :max_value, :max_step)
ON CONFLICT (run_key, metric_key) DO UPDATE SET
    count = count + excluded.count,
    last_value = CASE WHEN excluded.last_step >= last_step THEN excluded.last_value ELSE last_value END,
    last_timestamp = CASE WHEN excluded.last_step >= last_step THEN excluded.last_timestamp ELSE last_timestamp END,
    min_step = CASE WHEN min_value IS NULL OR excluded.min_value < min_value THEN excluded.min_step ELSE min_step END,
    min_value = CASE WHEN min_value IS NULL OR excluded.min_value < min_value THEN excluded.min_value ELSE min_value END,
    max_step = CASE WHEN max_value IS NULL OR excluded.max_value > max_value THEN excluded.max_step ELSE max_step END,
    max_value = CASE WHEN max_value IS NULL OR excluded.max_value > max_value THEN excluded.max_value ELSE max_value END,
    last_step = max(last_step, excluded.last_step)
"""


def write_batch(
    db: sqlite_utils.Database,
    run_key: int,
    state: SeriesState,
    logs: Sequence[LogEntry],
    alerts: Sequence[AlertRecord] = (),
    media: Sequence[MediaRecord] = (),
    media_folder: Path | None = None,
    owner: tuple[str, int] | None = None,
) -> None:
    """Store a batch of logged steps, alerts and media rows in one transaction.

    Media files are written to `media_folder` first (content-addressed, so a retried batch
    rewrites nothing), then every row in one transaction: a batch lands whole or not at all.

    Numeric values become one packed chunk per metric plus a merged summary row; a series
    that saw a step again (a replaced value) has its summary recomputed from its chunks.
    """
    series, texts = _group(logs)
    if media:
        for record in media:
            write_blobs(media_folder, record.blobs)
    with transaction(db.conn):
        check_owner(db.conn, run_key, owner)
        _metric_keys(db, state, [*series, *(t[0] for t in texts)])
        chunks = []
        merges = []
        recompute = []
        for name, (steps, stamps, values) in series.items():
            metric_key = state.metric_keys[name]
            previous = state.last_steps.get(metric_key, -1)
            c = series_chunk(steps, stamps, values, previous)
            chunks.append(
                {
                    "run_key": run_key,
                    "metric_key": metric_key,
                    "n": c.n,
                    "first_step": c.first_step,
                    "last_step": c.last_step,
                    "steps": c.steps,
                    "timestamps": c.timestamps,
                    "values": c.values,
                }
            )
            if c.summary is None:
                recompute.append(metric_key)
            else:
                merges.append(c.summary.as_row(run_key, metric_key))
            state.last_steps[metric_key] = max(c.last_step, previous)
        if chunks:
            db.table("chunks").insert_all(chunks)
        if merges:
            db.conn.executemany(_MERGE_SUMMARY, merges)
        for metric_key in recompute:
            write_summary_from_chunks(db.conn, run_key, metric_key)
        if texts:
            db.table("text_values").insert_all(
                {"run_key": run_key, "metric_key": state.metric_keys[n], "step": s, "timestamp": t, "value": v}
                for n, s, t, v in texts
            )
        if alerts:
            db.table("alerts").insert_all(
                {
                    "run_key": run_key,
                    "timestamp": a.timestamp,
                    "step": a.step,
                    "level": a.level,
                    "title": a.title,
                    "text": a.text,
                    "data": a.data,
                }
                for a in alerts
            )
        if media:
            _insert_media(db.conn, run_key, media)


def _insert_media(conn: sqlite3.Connection, run_key: int, media: Sequence[MediaRecord]) -> None:
    conn.executemany(
        "INSERT INTO media (run_key, step, timestamp, key, kind, caption, value, file, files, meta)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                run_key,
                m.step,
                m.timestamp,
                m.key,
                m.kind,
                m.caption,
                m.value,
                m.file,
                json.dumps(sorted(m.blobs)) if m.blobs else None,
                m.meta,
            )
            for m in media
        ],
    )


def delete_media_rows(conn: sqlite3.Connection, run_keys: Sequence[int] | None) -> list[str]:
    """Delete the media rows of these runs (all when None); returns the files no row uses any more.

    Call inside the transaction that deletes the runs, and remove the returned files with
    `media_files.remove_blobs` after it commits (a rollback then loses no file).
    """
    if run_keys is None:
        doomed = conn.execute("SELECT files FROM media WHERE files IS NOT NULL").fetchall()
        conn.execute("DELETE FROM media")
    else:
        marks = ",".join("?" * len(run_keys))
        doomed = conn.execute(
            f"SELECT files FROM media WHERE files IS NOT NULL AND run_key IN ({marks})", list(run_keys)
        ).fetchall()
        conn.execute(f"DELETE FROM media WHERE run_key IN ({marks})", list(run_keys))
    names = {name for (files,) in doomed for name in json.loads(files)}
    if not names:
        return []
    kept = {
        name
        for (files,) in conn.execute("SELECT files FROM media WHERE files IS NOT NULL")
        for name in json.loads(files)
    }
    return sorted(names - kept)


# -- what the tracking server's SQLite store asks of a project database -------------------------


def batch_applied(conn: sqlite3.Connection, batch_id: str) -> bool:
    """True when a server already applied the batch with this id."""
    return conn.execute("SELECT 1 FROM applied_batches WHERE id = ?", (batch_id,)).fetchone() is not None


def record_batch(conn: sqlite3.Connection, batch_id: str, now: float) -> None:
    """Record a batch id as applied (inside the transaction that stores the batch)."""
    conn.execute("INSERT INTO applied_batches (id, applied_at) VALUES (?, ?)", (batch_id, now))


def run_key(conn: sqlite3.Connection, run_id: str) -> int | None:
    row = conn.execute("SELECT key FROM runs WHERE id = ?", (run_id,)).fetchone()
    return None if row is None else row[0]


def run_identity(conn: sqlite3.Connection, run_id: str) -> tuple[str, str, dict] | None:
    """(id, name, config) of the run with this id, or None."""
    row = conn.execute("SELECT id, name, config FROM runs WHERE id = ?", (run_id,)).fetchone()
    return None if row is None else (row[0], row[1], json.loads(row[2]))


def run_count(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT count(*) FROM runs").fetchone()[0]


def series_state(conn: sqlite3.Connection, key: int) -> SeriesState:
    """A run's series state rebuilt from its summaries (a restarted server, a resumed run)."""
    state = SeriesState()
    for metric_key, last_step in conn.execute("SELECT metric_key, last_step FROM summaries WHERE run_key = ?", (key,)):
        state.last_steps[metric_key] = last_step
    return state
