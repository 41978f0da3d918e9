"""Starting over: delete a run or a project, rename a run, move a run to another project.

A run that is still running in a live process (its effective status is `running`) is never
deleted or moved: its writer would go on writing rows that no run owns. The check runs
inside the write transaction, so no heartbeat lands between the check and the delete.
A move copies the run into the destination database (same id, config, points, text values,
alerts, summaries, media; alert ids are the destination's own) and commits there before it
deletes the run from the source: a crash in between leaves the run in both, never in neither.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from ..errors import InvalidValue, RunInProgress, RunNotFound
from .connection import connect
from .media_files import media_dir, read_blob, remove_blobs, write_blobs
from .paths import remove_project_files
from .schema import RUNS_CHANGED
from .status import RUNNING, effective_status
from .writes import delete_media_rows, transaction

# Every table whose rows belong to one run through a `run_key` column. A table added to the
# schema with a run_key goes here: delete_run_rows deletes its rows, move_run copies them.
RUN_TABLES = ("chunks", "text_values", "summaries", "alerts", "media")
_DELETED_APART = {"media": delete_media_rows}  # tables whose rows also own files: (conn, keys) -> doomed files


def _marks(keys: Sequence[int]) -> str:
    return ",".join("?" * len(keys))


def run_key(conn: sqlite3.Connection, project: str, run_id: str) -> int:
    """The integer key of run `run_id`; RunNotFound if the project has no such run."""
    row = conn.execute("SELECT key FROM runs WHERE id = ?", (run_id,)).fetchone()
    if row is None:
        raise RunNotFound(f"project {project!r} has no run with id {run_id!r}")
    return row[0]


def refuse_live(conn: sqlite3.Connection, project: str, keys: Sequence[int] | None, doing: str, now: float) -> None:
    """RunInProgress if one of these runs (every run when None) is still running in a live process.

    `doing` says what was refused, with `{run}` where the run's label goes ("delete run {run}").
    """
    sql = "SELECT id, name, status, heartbeat_at, host, pid FROM runs"
    rows = conn.execute(sql if keys is None else f"{sql} WHERE key IN ({_marks(keys)})", list(keys or ()))
    refuse_live_rows(rows, project, doing, now)


def refuse_live_rows(rows, project: str, doing: str, now: float) -> None:
    """refuse_live over (id, name, status, heartbeat_at, host, pid) rows read by any backend."""
    for run_id, name, status, heartbeat_at, host, pid in rows:
        if effective_status(status, heartbeat_at, host, pid, now) == RUNNING:
            label = f"{name!r} (id {run_id})"
            raise RunInProgress(
                f"cannot {doing.replace('{run}', label)}: run {label} of project {project!r} is still running;"
                " finish it (or stop it with `trackio-nb stop`) and try again once it has ended"
            )


def counts(conn: sqlite3.Connection, keys: Sequence[int] | None = None) -> dict[str, int]:
    """How many runs, stored metric points (numbers and other values) and alerts these runs hold."""
    where, params = ("", []) if keys is None else (f" WHERE run_key IN ({_marks(keys)})", list(keys))
    runs = len(keys) if keys is not None else conn.execute("SELECT count(*) FROM runs").fetchone()[0]
    points = conn.execute(f"SELECT coalesce(sum(n), 0) FROM chunks{where}", params).fetchone()[0]
    points += conn.execute(f"SELECT count(*) FROM text_values{where}", params).fetchone()[0]
    alerts = conn.execute(f"SELECT count(*) FROM alerts{where}", params).fetchone()[0]
    return {"runs": runs, "points": points, "alerts": alerts}


def delete_run_rows(conn: sqlite3.Connection, keys: Sequence[int]) -> list[str]:
    """Delete these runs and every row they own (inside a transaction); returns media files no row uses now."""
    doomed: list[str] = []
    for table in RUN_TABLES:
        apart = _DELETED_APART.get(table)
        if apart is not None:
            doomed += apart(conn, keys)
        else:
            conn.execute(f"DELETE FROM {table} WHERE run_key IN ({_marks(keys)})", list(keys))
    conn.execute(f"DELETE FROM runs WHERE key IN ({_marks(keys)})", list(keys))
    mark_runs_changed(conn)
    return doomed


def mark_runs_changed(conn: sqlite3.Connection) -> None:
    """Count a rename or deletion (in the caller's transaction): live followers then re-read run names."""
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, '1')"
        " ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
        (RUNS_CHANGED,),
    )


def delete_run(conn: sqlite3.Connection, db_path: Path, project: str, run_id: str, now: float) -> dict[str, int]:
    """Delete one ended run with all its rows and the media files only it used; returns what it held."""
    with transaction(conn):
        key = run_key(conn, project, run_id)
        refuse_live(conn, project, [key], "delete run {run}", now)
        held = counts(conn, [key])
        doomed = delete_run_rows(conn, [key])
    remove_blobs(media_dir(db_path), doomed)  # after the commit: a rollback loses no file
    return held


def rename_run(conn: sqlite3.Connection, project: str, run_id: str, name: str) -> None:
    """Give run `run_id` a new name, checked by the caller (a running run may be renamed: rows are tied to its id)."""
    with transaction(conn):
        cursor = conn.execute("UPDATE runs SET name = ? WHERE id = ?", (name, run_id))
        if cursor.rowcount != 1:
            raise RunNotFound(f"project {project!r} has no run with id {run_id!r}")
        mark_runs_changed(conn)


def project_counts(conn: sqlite3.Connection) -> dict[str, int]:
    """What deleting the whole project would remove."""
    return counts(conn)


def delete_project(conn: sqlite3.Connection, root: Path, project: str, now: float) -> dict[str, int]:
    """Delete a project whose runs have all ended: its database and every file beside it.

    `conn` is closed here (before the files go); returns what the project held.
    """
    try:
        with transaction(conn):
            refuse_live(conn, project, None, f"delete project {project!r}", now)
            held = counts(conn)
    finally:
        conn.close()
    remove_project_files(project, root)
    return held


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f"PRAGMA main.table_info({table})")]


def _copy_table(conn: sqlite3.Connection, table: str, old_key: int, new_key: int) -> None:
    """Copy one run's rows of `table` from the attached `src` database, remapping run and metric keys."""
    columns = _columns(conn, table)
    copied = [c for c in columns if c != "id"]  # an id is the destination's own (alert ids keep their order)
    select = []
    for column in copied:
        if column == "run_key":
            select.append("?")
        elif column == "metric_key":
            select.append(
                "(SELECT d.key FROM main.metric_names d JOIN src.metric_names s ON s.name = d.name"
                " WHERE s.key = t.metric_key)"
            )
        else:
            select.append(f't."{column}"')
    order = " ORDER BY t.id" if "id" in columns else ""
    names = ", ".join(f'"{c}"' for c in copied)
    conn.execute(
        f"INSERT INTO main.{table} ({names}) SELECT {', '.join(select)} FROM src.{table} AS t"
        f" WHERE t.run_key = ?{order}",
        (new_key, old_key),
    )


def _media_files(conn: sqlite3.Connection, key: int) -> set[str]:
    rows = conn.execute("SELECT files FROM media WHERE run_key = ? AND files IS NOT NULL", (key,))
    return {name for (files,) in rows for name in json.loads(files)}


def move_run(
    src: sqlite3.Connection,
    src_path: Path,
    dest_path: Path,
    *,
    project: str,
    to_project: str,
    run_id: str,
    now: float,
) -> dict[str, int]:
    """Move an ended run from `project` (`src`) to `to_project`, keeping its id; returns what moved.

    The destination database is created if missing, only once the move is allowed.
    """
    if src_path == dest_path:
        raise InvalidValue(f"run {run_id!r} is already in project {to_project!r}")
    with transaction(src):  # the source's write lock: nothing is written to it while the run is copied
        key = run_key(src, project, run_id)
        refuse_live(src, project, [key], "move run {run} to project " + repr(to_project), now)
        moved = counts(src, [key])
        files = _media_files(src, key)
        if files:  # content-addressed: copying a file the destination already has changes nothing
            write_blobs(media_dir(dest_path), {n: read_blob(media_dir(src_path), n) for n in files})
        dest = connect(dest_path, create=True, project=to_project)
        try:
            _copy_into(dest, src_path, key, run_id, to_project)
        finally:
            dest.close()
        doomed = delete_run_rows(src, [key])
    remove_blobs(media_dir(src_path), doomed)
    return moved


def _copy_into(dest: sqlite3.Connection, src_path: Path, key: int, run_id: str, to_project: str) -> None:
    if dest.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone():
        raise InvalidValue(f"project {to_project!r} already holds a run with id {run_id!r}")
    keyed = [t for t in RUN_TABLES if "metric_key" in _columns(dest, t)]
    used = " UNION ".join(f"SELECT metric_key FROM src.{t} WHERE run_key = ?" for t in keyed)
    columns = ", ".join(f'"{c}"' for c in _columns(dest, "runs") if c != "key")
    dest.execute("ATTACH DATABASE ? AS src", (str(src_path),))
    try:
        # A deferred BEGIN: IMMEDIATE would also ask for the source's write lock, which the caller holds.
        # The first statement writes `main`, so the busy timeout applies to taking its lock.
        dest.execute("BEGIN")
        try:
            cursor = dest.execute(
                f"INSERT INTO main.runs ({columns}) SELECT {columns} FROM src.runs WHERE key = ?", (key,)
            )
            new_key = cursor.lastrowid
            dest.execute(
                f"INSERT OR IGNORE INTO main.metric_names (name) SELECT name FROM src.metric_names WHERE key IN ({used})",
                (key,) * len(keyed),
            )
            for table in RUN_TABLES:
                _copy_table(dest, table, key, new_key)
        except BaseException:
            dest.execute("ROLLBACK")
            raise
        dest.execute("COMMIT")
    finally:
        dest.execute("DETACH DATABASE src")
