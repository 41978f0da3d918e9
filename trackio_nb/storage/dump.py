"""A project database's stored rows in storage order, as they were written (for `trackio-nb push`).

Chunks come back packed (the codec's bytes, untouched), so values travel bit for bit;
every row carries its own id, which the uploader uses to make its batch ids.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class StoredRun:
    key: int
    id: str
    name: str
    group: str | None
    status: str
    config: dict
    created_at: float
    finished_at: float | None
    host: str | None
    pid: int | None


def stored_runs(conn: sqlite3.Connection) -> list[StoredRun]:
    rows = conn.execute(
        "SELECT key, id, name, group_name, status, config, created_at, finished_at, host, pid FROM runs"
        " ORDER BY created_at, key"
    ).fetchall()
    return [StoredRun(*r[:5], json.loads(r[5]), *r[6:]) for r in rows]


def stored_chunks(conn: sqlite3.Connection, run_key: int) -> Iterator[tuple[int, str, bytes, bytes, bytes]]:
    """(chunk id, metric, steps, timestamps, values) of one run, in the order they were stored."""
    yield from conn.execute(
        'SELECT c.id, m.name, c.steps, c.timestamps, c."values" FROM chunks c'
        " JOIN metric_names m ON m.key = c.metric_key WHERE c.run_key = ? ORDER BY c.id",
        (run_key,),
    )


def stored_texts(conn: sqlite3.Connection, run_key: int) -> Iterator[tuple[int, str, int, float, str]]:
    """(row id, metric, step, timestamp, JSON text) of one run's non-numeric values, in order."""
    yield from conn.execute(
        "SELECT t.id, m.name, t.step, t.timestamp, t.value FROM text_values t"
        " JOIN metric_names m ON m.key = t.metric_key WHERE t.run_key = ? ORDER BY t.id",
        (run_key,),
    )


def stored_alerts(conn: sqlite3.Connection) -> Iterator[tuple]:
    """(alert id, run id, timestamp, step, level, title, text, data) of every alert, in id order."""
    yield from conn.execute(
        "SELECT a.id, r.id, a.timestamp, a.step, a.level, a.title, a.text, a.data FROM alerts a"
        " JOIN runs r ON r.key = a.run_key ORDER BY a.id"
    )


def stored_media(conn: sqlite3.Connection, run_key: int) -> Iterator[tuple]:
    """(row id, step, timestamp, key, kind, caption, value, file, files (list), meta) of one run's media, in order."""
    for row in conn.execute(
        "SELECT id, step, timestamp, key, kind, caption, value, file, files, meta FROM media WHERE run_key = ?"
        " ORDER BY id",
        (run_key,),
    ):
        yield (*row[:8], json.loads(row[8]) if row[8] else [], row[9])
