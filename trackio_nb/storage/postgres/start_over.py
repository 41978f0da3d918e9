"""Starting over on PostgreSQL: delete a run or a project, rename a run, move a run between projects.

The same rules as storage.start_over (SQLite): a run still running in a live process is
never deleted or moved (checked under the run's row lock, so no heartbeat lands in
between), a move keeps the run's id and every row, and the counts returned are the same.
Here a move is one transaction in one database: the rows change project and take the
destination's next chunk, alert and media ids (in their order), so a live tail of either
project never sees a row twice or skips one. Media files no row of a project uses any more
are deleted with the rows.
"""

from __future__ import annotations

import json

import psycopg

from ...errors import InvalidValue, RunNotFound
from ..start_over import refuse_live_rows
from .writes import project_key

_LIVE_COLUMNS = "id, name, status, heartbeat_at, host, pid"


def _run_key(conn: psycopg.Connection, project: str, pkey: int, run_id: str) -> int:
    row = conn.execute("SELECT key FROM runs WHERE project_key = %s AND id = %s FOR UPDATE", (pkey, run_id)).fetchone()
    if row is None:
        raise RunNotFound(f"project {project!r} has no run with id {run_id!r}")
    return row[0]


def counts(conn: psycopg.Connection, pkey: int, run_key: int | None = None) -> dict[str, int]:
    """How many runs, stored metric points (numbers and other values) and alerts the run (or project) holds."""
    scope = (
        "run_key = %(run)s" if run_key is not None else "run_key IN (SELECT key FROM runs WHERE project_key = %(p)s)"
    )
    runs, points, texts, alerts = conn.execute(
        f"SELECT (SELECT count(*) FROM runs WHERE project_key = %(p)s AND (%(run)s::bigint IS NULL OR key = %(run)s)),"
        f" (SELECT coalesce(sum(n), 0) FROM chunks WHERE {scope}),"
        f" (SELECT count(*) FROM text_values WHERE {scope}),"
        f" (SELECT count(*) FROM alerts WHERE {scope})",
        {"p": pkey, "run": run_key},
    ).fetchone()
    return {"runs": runs, "points": points + texts, "alerts": alerts}


def removal_counts(conn: psycopg.Connection, project: str, pkey: int, run_id: str | None) -> dict[str, int]:
    if run_id is None:
        return counts(conn, pkey)
    with conn.transaction():
        return counts(conn, pkey, _run_key(conn, project, pkey, run_id))


def _files(conn: psycopg.Connection, where: str, params: tuple) -> set[str]:
    rows = conn.execute(f"SELECT files FROM media WHERE files IS NOT NULL AND {where}", params).fetchall()
    return {name for (files,) in rows for name in json.loads(files)}


def _drop_unused_files(conn: psycopg.Connection, pkey: int, candidates: set[str]) -> None:
    """Delete the media files among `candidates` that no media row of the project names any more."""
    if candidates:
        unused = sorted(candidates - _files(conn, "project_key = %s", (pkey,)))
        conn.execute("DELETE FROM media_files WHERE project_key = %s AND name = ANY(%s)", (pkey, unused))


def delete_run(conn: psycopg.Connection, project: str, pkey: int, run_id: str, now: float) -> dict[str, int]:
    with conn.transaction():
        key = _run_key(conn, project, pkey, run_id)
        rows = conn.execute(f"SELECT {_LIVE_COLUMNS} FROM runs WHERE key = %s", (key,)).fetchall()
        refuse_live_rows(rows, project, "delete run {run}", now)
        held = counts(conn, pkey, key)
        files = _files(conn, "run_key = %s", (key,))
        conn.execute("DELETE FROM runs WHERE key = %s", (key,))  # its rows go with it (ON DELETE CASCADE)
        _drop_unused_files(conn, pkey, files)
    return held


def delete_project(conn: psycopg.Connection, project: str, pkey: int, now: float) -> dict[str, int]:
    with conn.transaction():
        conn.execute("SELECT 1 FROM projects WHERE key = %s FOR UPDATE", (pkey,))
        rows = conn.execute(
            f"SELECT {_LIVE_COLUMNS} FROM runs WHERE project_key = %s ORDER BY created_at, key FOR UPDATE", (pkey,)
        ).fetchall()
        refuse_live_rows(rows, project, f"delete project {project!r}", now)
        held = counts(conn, pkey)
        conn.execute("DELETE FROM projects WHERE key = %s", (pkey,))  # everything of it cascades
    return held


def rename_run(conn: psycopg.Connection, project: str, pkey: int, run_id: str, name: str) -> None:
    cursor = conn.execute("UPDATE runs SET name = %s WHERE project_key = %s AND id = %s", (name, pkey, run_id))
    if cursor.rowcount != 1:
        raise RunNotFound(f"project {project!r} has no run with id {run_id!r}")


def _renumber(conn: psycopg.Connection, table: str, key: int, dest: int, seq: str) -> None:
    """Give the run's rows of `table` the destination project and its next ids, in their order."""
    n = conn.execute(f"SELECT count(*) FROM {table} WHERE run_key = %s", (key,)).fetchone()[0]
    if not n:
        return
    top = conn.execute(f"UPDATE projects SET {seq} = {seq} + %s WHERE key = %s RETURNING {seq}", (n, dest)).fetchone()[
        0
    ]
    conn.execute(
        f"UPDATE {table} t SET project_key = %s, id = %s + o.rank FROM (SELECT project_key, id,"
        f" row_number() OVER (ORDER BY id) AS rank FROM {table} WHERE run_key = %s) o"
        " WHERE t.project_key = o.project_key AND t.id = o.id",
        (dest, top - n, key),
    )


def move_run(
    conn: psycopg.Connection, project: str, pkey: int, to_project: str, run_id: str, now: float
) -> dict[str, int]:
    """Move an ended run to `to_project` (created, once the move is allowed, if missing), keeping its id."""
    if to_project == project:
        raise InvalidValue(f"run {run_id!r} is already in project {to_project!r}")
    with conn.transaction():
        key = _run_key(conn, project, pkey, run_id)
        rows = conn.execute(f"SELECT {_LIVE_COLUMNS} FROM runs WHERE key = %s", (key,)).fetchall()
        refuse_live_rows(rows, project, "move run {run} to project " + repr(to_project), now)
        dest = project_key(conn, to_project, now, create=True)
        if conn.execute("SELECT 1 FROM runs WHERE project_key = %s AND id = %s", (dest, run_id)).fetchone():
            raise InvalidValue(f"project {to_project!r} already holds a run with id {run_id!r}")
        moved = counts(conn, pkey, key)
        files = _files(conn, "run_key = %s", (key,))
        if files:  # content-addressed: a file the destination already has is the same bytes
            conn.execute(
                "INSERT INTO media_files (project_key, name, data) SELECT %s, name, data FROM media_files"
                " WHERE project_key = %s AND name = ANY(%s) ON CONFLICT (project_key, name) DO NOTHING",
                (dest, pkey, sorted(files)),
            )
        conn.execute("UPDATE runs SET project_key = %s WHERE key = %s", (dest, key))
        for table, seq in (("chunks", "chunk_seq"), ("alerts", "alert_seq"), ("media", "media_seq")):
            _renumber(conn, table, key, dest, seq)
        _drop_unused_files(conn, pkey, files)
    return moved
