"""Every write of the PostgreSQL store: one transaction per batch, safe across server processes.

A batch's id goes into `applied_batches` first, in the transaction that stores its data:
a duplicate arriving through another process blocks on the primary key until the first
commits, then finds the id and applies nothing (ON CONFLICT DO NOTHING). Chunk and alert
ids come from the project's counters, taken last (the row lock is held only for the final
inserts and the commit), so ids become visible in the order they were handed out.
"""

from __future__ import annotations

import json
import time

import numpy as np
import psycopg

from ...errors import RunNotFound
from ..records import AlertRecord, LogEntry, MediaRecord
from ..server_store import identity, resume_refused
from ..summary import SeriesChunk, series_chunk
from ..writes import check_takeover, group_logs, taken_over
from .schema import write_summary

# One statement per batch: every series' summary as parallel arrays (one row per metric, so
# no row is updated twice by the statement).
MERGE_SUMMARY = """
INSERT INTO summaries AS s (run_key, metric_key, count, last_step, last_timestamp, last_value,
                            min_value, min_step, max_value, max_step)
SELECT %(run_key)s, * FROM unnest(%(metric_key)s::integer[], %(count)s::bigint[], %(last_step)s::bigint[],
    %(last_timestamp)s::float8[], %(last_value)s::float8[], %(min_value)s::float8[], %(min_step)s::bigint[],
    %(max_value)s::float8[], %(max_step)s::bigint[])
ON CONFLICT (run_key, metric_key) DO UPDATE SET
    count = s.count + excluded.count,
    last_value = CASE WHEN excluded.last_step >= s.last_step THEN excluded.last_value ELSE s.last_value END,
    last_timestamp = CASE WHEN excluded.last_step >= s.last_step THEN excluded.last_timestamp ELSE s.last_timestamp END,
    min_step = CASE WHEN s.min_value IS NULL OR excluded.min_value < s.min_value THEN excluded.min_step ELSE s.min_step END,
    min_value = CASE WHEN s.min_value IS NULL OR excluded.min_value < s.min_value THEN excluded.min_value ELSE s.min_value END,
    max_step = CASE WHEN s.max_value IS NULL OR excluded.max_value > s.max_value THEN excluded.max_step ELSE s.max_step END,
    max_value = CASE WHEN s.max_value IS NULL OR excluded.max_value > s.max_value THEN excluded.max_value ELSE s.max_value END,
    last_step = greatest(s.last_step, excluded.last_step)
"""
# Row ids: the project's counter (just raised by _take_ids in this transaction) minus `back` plus one.
# Chunks: one statement per batch, the packed arrays sent as binary bytea[] parameters.
INSERT_CHUNKS = (
    'INSERT INTO chunks (project_key, id, run_key, metric_key, n, first_step, last_step, steps, timestamps, "values")'
    " SELECT %(p)s, (SELECT chunk_seq FROM projects WHERE key = %(p)s) - u.back + 1, %(run_key)s, u.metric_key,"
    " u.n, u.first_step, u.last_step, u.steps, u.timestamps, u.vals"
    " FROM unnest(%(back)s::bigint[], %(metric_key)s::integer[], %(n)s::integer[], %(first_step)s::bigint[],"
    " %(last_step)s::bigint[], %(steps)b::bytea[], %(timestamps)b::bytea[], %(values)b::bytea[])"
    " AS u(back, metric_key, n, first_step, last_step, steps, timestamps, vals)"
)
_SUMMARY_FIELDS = (
    "metric_key",
    "count",
    "last_step",
    "last_timestamp",
    "last_value",
    "min_value",
    "min_step",
    "max_value",
    "max_step",
)
INSERT_MEDIA = (
    "INSERT INTO media (project_key, id, run_key, step, timestamp, key, kind, caption, value, file, files, meta)"
    " VALUES (%s, (SELECT media_seq FROM projects WHERE key = %s) - %s + 1, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
INSERT_ALERT = (
    "INSERT INTO alerts (project_key, id, run_key, timestamp, step, level, title, text, data, reason)"
    " VALUES (%s, (SELECT alert_seq FROM projects WHERE key = %s) - %s + 1, %s, %s, %s, %s, %s, %s, %s, %s)"
)


def project_key(conn: psycopg.Connection, name: str, now: float, *, create: bool) -> int | None:
    """The key of project `name`, created (autocommit) when `create` and missing."""
    if create:
        conn.execute(
            "INSERT INTO projects (name, created_at) VALUES (%s, %s) ON CONFLICT (name) DO NOTHING", (name, now)
        )
    row = conn.execute("SELECT key FROM projects WHERE name = %s", (name,)).fetchone()
    return None if row is None else row[0]


def metric_keys(conn: psycopg.Connection, names: list[str], cache: dict[str, int]) -> dict[str, int]:
    """Keys of metric names (global, never removed), creating missing ones in their own commit."""
    missing = [n for n in names if n not in cache]
    if missing:
        conn.execute(
            "INSERT INTO metric_names (name) SELECT unnest(%s::text[]) ON CONFLICT (name) DO NOTHING", (missing,)
        )
        for key, name in conn.execute("SELECT key, name FROM metric_names WHERE name = ANY(%s)", (missing,)):
            cache[name] = key
    return cache


def _run(conn: psycopg.Connection, project: str, pkey: int, run_id: str) -> tuple[int, bool]:
    row = conn.execute(
        "SELECT key, stop_requested_at IS NOT NULL FROM runs WHERE project_key = %s AND id = %s", (pkey, run_id)
    ).fetchone()
    if row is None:
        raise RunNotFound(f"project {project!r} has no run with id {run_id!r}")
    return row[0], row[1]


_CLAIM = """
WITH run AS (SELECT key, stop_requested_at IS NOT NULL AS stop FROM runs WHERE project_key = %(p)s AND id = %(run)s),
claim AS (
    INSERT INTO applied_batches (project_key, id, applied_at) SELECT %(p)s, %(batch)s, %(now)s FROM run
    ON CONFLICT (project_key, id) DO NOTHING RETURNING 1
)
SELECT key, stop, EXISTS (SELECT 1 FROM claim) FROM run
"""


def _claim(conn: psycopg.Connection, project: str, pkey: int, run_id: str, batch_id: str, now: float):
    """(run key, stop requested, claimed): the batch id is recorded unless some process applied it already.

    A duplicate racing in through another process waits here on the primary key until the
    first transaction ends, then finds the id (claimed False) and stores nothing.
    """
    row = conn.execute(_CLAIM, {"p": pkey, "run": run_id, "batch": batch_id, "now": now}).fetchone()
    if row is None:
        raise RunNotFound(f"project {project!r} has no run with id {run_id!r}")
    return row


def _take_ids(conn: psycopg.Connection, pkey: int, chunks: int, alerts: int, media: int) -> None:
    """Reserve ids for this batch's rows; the inserts read them back (`_next_id`) in the same transaction.

    Taken last: the project row stays locked only for the final inserts and the commit.
    """
    conn.execute(
        "UPDATE projects SET chunk_seq = chunk_seq + %s, alert_seq = alert_seq + %s, media_seq = media_seq + %s"
        " WHERE key = %s",
        (chunks, alerts, media, pkey),
    )


def apply_write(
    conn: psycopg.Connection, project: str, pkey: int, batch: dict, names: dict[str, int], now: float
) -> dict:
    """Store a write batch (logs, alerts, config) exactly once; returns {applied, stop}."""
    logs: list[LogEntry] = batch["logs"]
    alerts: list[AlertRecord] = batch["alerts"]
    media: list[MediaRecord] = batch.get("media") or []
    series, texts = group_logs(logs)
    if series or texts:
        metric_keys(conn, [*series, *(t[0] for t in texts)], names)
    # Pipelined: statements whose answers are not needed go out without waiting for them.
    with conn.pipeline(), conn.transaction():
        run_key, stop, claimed = _claim(conn, project, pkey, batch["run_id"], batch["id"], now)
        if not claimed:
            return {"applied": False, "stop": stop}
        _check_owner(conn, run_key, batch.get("owner"))
        last_steps: dict[int, int] = {}
        if series:
            keys = [names[n] for n in series]
            last_steps = dict(
                conn.execute(
                    "SELECT metric_key, last_step FROM summaries WHERE run_key = %s AND metric_key = ANY(%s)"
                    " FOR UPDATE",
                    (run_key, keys),
                ).fetchall()
            )
        chunks, merges = [], []
        for name, (steps, stamps, values) in series.items():
            metric_key = names[name]
            c = series_chunk(steps, stamps, values, last_steps.get(metric_key, -1))
            chunks.append((metric_key, c))
            if c.summary is None:
                extra = tuple(np.asarray(x).tolist() for x in (steps, stamps, values))
                write_summary(conn, run_key, metric_key, extra=extra)
            else:
                merges.append(c.summary.as_row(run_key, metric_key))
        with conn.cursor() as cur:
            if merges:
                cur.execute(MERGE_SUMMARY, {"run_key": run_key} | {f: [m[f] for m in merges] for f in _SUMMARY_FIELDS})
            if texts:
                cur.executemany(
                    "INSERT INTO text_values (run_key, metric_key, step, timestamp, value) VALUES (%s, %s, %s, %s, %s)",
                    [(run_key, names[n], s, t, v) for n, s, t, v in texts],
                )
            if batch["config"] is not None:
                cur.execute(
                    "UPDATE runs SET config = %s WHERE key = %s", (json.dumps(batch["config"], allow_nan=True), run_key)
                )
            blobs = {name: data for m in media for name, data in m.blobs.items()}
            if blobs:  # files before the rows that name them; the same bytes are one row
                cur.executemany(
                    "INSERT INTO media_files (project_key, name, data) VALUES (%s, %s, %s)"
                    " ON CONFLICT (project_key, name) DO NOTHING",
                    [(pkey, name, data) for name, data in sorted(blobs.items())],
                )
            if chunks or alerts or media:
                _take_ids(conn, pkey, len(chunks), len(alerts), len(media))
                if media:
                    cur.executemany(
                        INSERT_MEDIA, [_media_row(pkey, len(media) - i, run_key, m) for i, m in enumerate(media)]
                    )
                if chunks:
                    cur.execute(INSERT_CHUNKS, _chunk_columns(pkey, run_key, chunks))
                if alerts:
                    cur.executemany(
                        INSERT_ALERT, [_alert_row(pkey, len(alerts) - i, run_key, a) for i, a in enumerate(alerts)]
                    )
    return {"applied": True, "stop": stop}


def _chunk_columns(pkey: int, run_key: int, chunks: list[tuple[int, SeriesChunk]]) -> dict:
    """INSERT_CHUNKS' parameters: chunk i of n gets the id n - i below the reserved top, plus one."""
    return {
        "p": pkey,
        "run_key": run_key,
        "back": list(range(len(chunks), 0, -1)),
        "metric_key": [k for k, _ in chunks],
        "n": [c.n for _, c in chunks],
        "first_step": [c.first_step for _, c in chunks],
        "last_step": [c.last_step for _, c in chunks],
        "steps": [c.steps for _, c in chunks],
        "timestamps": [c.timestamps for _, c in chunks],
        "values": [c.values for _, c in chunks],
    }


def _media_row(pkey: int, back: int, run_key: int, m: MediaRecord) -> tuple:
    """`back`: how far below the project's reserved top id this row's id is (+1)."""
    files = json.dumps(sorted(m.blobs)) if m.blobs else None
    return (pkey, pkey, back, run_key, m.step, m.timestamp, m.key, m.kind, m.caption, m.value, m.file, files, m.meta)


def _alert_row(pkey: int, back: int, run_key: int, a: AlertRecord) -> tuple:
    return (pkey, pkey, back, run_key, a.timestamp, a.step, a.level, a.title, a.text, a.data, _reason(a.data))


def _reason(data: str | None) -> str | None:
    """The alert's `data.reason` when it is a string (what SQLite's json_extract filter matches)."""
    if data is None:
        return None
    parsed = json.loads(data)
    reason = parsed.get("reason") if isinstance(parsed, dict) else None
    return reason if isinstance(reason, str) else None


def apply_status(conn: psycopg.Connection, project: str, pkey: int, batch: dict, now: float) -> dict:
    """Set a run's status exactly once (committed, hence durable, before the answer)."""
    with conn.transaction():
        run_key, stop, claimed = _claim(conn, project, pkey, batch["run_id"], batch["id"], now)
        if not claimed:
            return {"applied": False, "stop": stop}
        owner = batch.get("owner")
        conn.execute(
            "UPDATE runs SET status = %s, finished_at = %s WHERE key = %s"
            + ("" if owner is None else " AND host IS NOT DISTINCT FROM %s AND pid IS NOT DISTINCT FROM %s"),
            (batch["status"], batch["finished_at"], run_key, *(owner or ())),
        )
    return {"applied": True, "stop": stop}


def _check_owner(conn: psycopg.Connection, run_key: int, owner: tuple[str, int] | None) -> None:
    """Refuse a write from a process whose run another process took over (resume="force")."""
    if owner is None:
        return
    row = conn.execute("SELECT host, pid FROM runs WHERE key = %s", (run_key,)).fetchone()
    if row is not None and tuple(row) != tuple(owner):
        raise taken_over(*row)


def apply_open(conn: psycopg.Connection, project: str, pkey: int, batch: dict, name_run) -> dict:
    """Create the run (idempotent by run id, also between processes) or resume the latest of that name."""
    with conn.transaction():
        known = _identity(conn, pkey, batch["run_id"])
        if known is not None:
            return identity(known[0], known[1], 0, False, known[2], applied=False)
        name = batch["name"]
        existing = None
        if name is not None:
            existing = conn.execute(
                "SELECT key, id, name, config, status, heartbeat_at, host, pid FROM runs"
                " WHERE project_key = %s AND name = %s"
                " ORDER BY created_at DESC, key DESC LIMIT 1 FOR UPDATE",
                (pkey, name),
            ).fetchone()
        if batch["resume"] == "must" and existing is None:
            raise resume_refused(project, name)
        if existing is not None and batch["resume"] in ("allow", "must", "force"):
            key, run_id, run_name, config_text, status, heartbeat_at, host, pid = existing
            now = time.time()  # the server's clock: it wrote the stored heartbeat
            check_takeover(
                (run_name, status, heartbeat_at, host, pid),
                batch["host"],
                batch["pid"],
                now,
                batch["resume"] == "force",
            )
            conn.execute(
                "UPDATE runs SET status = 'running', finished_at = NULL, heartbeat_at = %s, host = %s, pid = %s,"
                " stop_requested_at = NULL WHERE key = %s",
                (now, batch["host"], batch["pid"], key),
            )
            config = json.loads(config_text)
            if batch["config"]:
                config.update(batch["config"])
                conn.execute("UPDATE runs SET config = %s WHERE key = %s", (json.dumps(config, allow_nan=True), key))
            top = conn.execute(
                "SELECT greatest((SELECT max(last_step) FROM summaries WHERE run_key = %s),"
                " (SELECT max(step) FROM text_values WHERE run_key = %s))",
                (key, key),
            ).fetchone()[0]
            return identity(run_id, run_name, 0 if top is None else top + 1, True, config, applied=True)
        if name is None:
            count = conn.execute("SELECT count(*) FROM runs WHERE project_key = %s", (pkey,)).fetchone()[0]
            name = name_run(count)
        created = conn.execute(
            "INSERT INTO runs (project_key, id, name, group_name, status, config, created_at, heartbeat_at, host, pid)"
            " VALUES (%s, %s, %s, %s, 'running', %s, %s, %s, %s, %s) ON CONFLICT (project_key, id) DO NOTHING"
            " RETURNING key",
            (
                pkey,
                batch["run_id"],
                name,
                batch["group"],
                json.dumps(batch["config"], allow_nan=True),
                batch["created_at"],
                batch["created_at"],
                batch["host"],
                batch["pid"],
            ),
        ).fetchone()
    if created is None:  # the same open, committed meanwhile by another server process
        run_id, run_name, config = _identity(conn, pkey, batch["run_id"])
        return identity(run_id, run_name, 0, False, config, applied=False)
    return identity(batch["run_id"], name, 0, False, batch["config"], applied=True)


def _identity(conn: psycopg.Connection, pkey: int, run_id: str) -> tuple[str, str, dict] | None:
    row = conn.execute(
        "SELECT id, name, config FROM runs WHERE project_key = %s AND id = %s", (pkey, run_id)
    ).fetchone()
    return None if row is None else (row[0], row[1], json.loads(row[2]))


def heartbeat(conn: psycopg.Connection, project: str, pkey: int, run_id: str, now: float) -> bool:
    row = conn.execute(
        "UPDATE runs SET heartbeat_at = %s WHERE project_key = %s AND id = %s RETURNING stop_requested_at IS NOT NULL",
        (now, pkey, run_id),
    ).fetchone()
    if row is None:
        raise RunNotFound(f"project {project!r} has no run with id {run_id!r}")
    return row[0]


def stop_requested(conn: psycopg.Connection, project: str, pkey: int, run_id: str) -> bool:
    return _run(conn, project, pkey, run_id)[1]


def request_stop(conn: psycopg.Connection, pkey: int, run_id: str, now: float) -> bool:
    cur = conn.execute("UPDATE runs SET stop_requested_at = %s WHERE project_key = %s AND id = %s", (now, pkey, run_id))
    return cur.rowcount == 1
