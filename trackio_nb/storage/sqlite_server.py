"""The tracking server's store on SQLite: one database file per project under a data directory.

Writes: one connection and one lock per project; a batch is stored and its id recorded in
`applied_batches` in one transaction (writes.transaction), so a resent batch is skipped.
Reads: the caller's reader over the same directory (LocalReader), one per thread.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

import polars as pl
import sqlite_utils

from ..errors import ProjectNotFound, RunNotFound
from . import start_over, writes
from .connection import connect
from .media_files import media_dir
from .opening import open_run
from .paths import project_path
from .records import RunRecord, SeriesState
from .server_store import identity


class SqliteProjectStore:
    """One project's database on the server: one connection, one lock, cached run keys."""

    def __init__(self, root: Path, project: str, name_run: Callable[[int], str]) -> None:
        self.project, self._name_run = project, name_run
        path = project_path(project, root)
        self.conn = connect(path, create=True, project=project)
        self.media_folder = media_dir(path)
        self.db = sqlite_utils.Database(self.conn)
        self.lock = threading.Lock()
        self._keys: dict[str, int] = {}
        self._states: dict[int, SeriesState] = {}

    def apply(self, batch: dict) -> dict:
        """Apply one checked batch unless its id was applied before; returns the reply."""
        with self.lock:
            if batch["kind"] == "open":
                return self._in_transaction(lambda: self._open(batch), None)
            key = self._key(batch["run_id"])
            if writes.batch_applied(self.conn, batch["id"]):
                return {"applied": False, "stop": writes.stop_requested(self.db, key)}
            if batch["kind"] == "write":
                self._in_transaction(lambda: self._write(key, batch), batch["id"])
            else:
                with writes.synced(self.conn):  # a status change is durable when we answer
                    self._in_transaction(
                        lambda: writes.set_status(
                            self.db, key, batch["status"], batch["finished_at"], owner=batch.get("owner")
                        ),
                        batch["id"],
                    )
            return {"applied": True, "stop": writes.stop_requested(self.db, key)}

    def heartbeat(self, run_id: str, now: float) -> bool:
        """Refresh a run's heartbeat; returns whether a stop was requested."""
        with self.lock:
            key = self._key(run_id)
            writes.heartbeat(self.db, key, now)
            return writes.stop_requested(self.db, key)

    def stop_requested(self, run_id: str) -> bool:
        with self.lock:
            return writes.stop_requested(self.db, self._key(run_id))

    def close(self) -> None:
        with self.lock:
            self.conn.close()

    def forget(self, run_id: str) -> None:
        """Drop what is cached of a run that was deleted or moved away (call under the lock)."""
        key = self._keys.pop(run_id, None)
        if key is not None:
            self._states.pop(key, None)

    # -- inside the lock ---------------------------------------------------------------------

    def _in_transaction(self, fn, batch_id: str | None):
        """Run `fn` and record `batch_id` in one transaction: both land or neither."""
        try:
            with writes.transaction(self.conn):
                result = fn()
                if batch_id is not None:
                    writes.record_batch(self.conn, batch_id, time.time())
            return result
        except BaseException:
            # Cached metric keys and last steps may name rows the rollback removed.
            self._states.clear()
            self._keys.clear()
            raise

    def _key(self, run_id: str) -> int:
        key = self._keys.get(run_id)
        if key is None:
            key = writes.run_key(self.conn, run_id)
            if key is None:
                raise RunNotFound(f"project {self.project!r} has no run with id {run_id!r}")
            self._keys[run_id] = key
        return key

    def _state(self, key: int) -> SeriesState:
        state = self._states.get(key)
        if state is None:  # rebuilt from the summaries, as a resumed local run does
            state = self._states[key] = writes.series_state(self.conn, key)
        return state

    def _write(self, key: int, batch: dict) -> None:
        media = batch.get("media", ())
        if batch["logs"] or batch["alerts"] or media:
            state = self._state(key)
            writes.write_batch(
                self.db, key, state, batch["logs"], batch["alerts"], media, self.media_folder, batch.get("owner")
            )
        if batch["config"] is not None:
            writes.set_config(self.db, key, batch["config"], batch.get("owner"))

    def _open(self, batch: dict) -> dict:
        """Create the run (idempotent by run id) or resume the latest run of that name."""
        db = self.db
        known = writes.run_identity(self.conn, batch["run_id"])
        if known is not None:  # the same open sent again
            return identity(*known[:2], 0, False, known[2], applied=False)
        record = RunRecord(
            batch["run_id"],
            batch["name"],
            batch["group"],
            batch["config"],
            batch["created_at"],
            batch["host"],
            batch["pid"],
        )
        opened = open_run(db, self.project, record, batch["resume"], self._name_run)
        self._states[opened.key] = opened.state
        return identity(opened.id, opened.name, opened.next_step, opened.resumed, opened.config, applied=True)


class SqliteServerStore:
    """The ServerStore over the project files under `root`.

    Reads go through `make_reader(root)` (the caller's LocalReader, one per thread); a run
    opened without a name is called `name_run(number of runs in its project)`.
    """

    errors = (sqlite3.Error,)

    def __init__(self, root: Path, make_reader: Callable[[Path], object], name_run: Callable[[int], str]) -> None:
        self.root = root
        self._make_reader, self._name_run = make_reader, name_run
        self._stores: dict[str, SqliteProjectStore] = {}
        self._lock = threading.Lock()
        self._local = threading.local()

    def project(self, project: str) -> SqliteProjectStore:
        """The write store of `project`, its database created on first use."""
        store = self._stores.get(project)
        if store is None:
            with self._lock:
                store = self._stores.get(project)
                if store is None:
                    store = self._stores[project] = SqliteProjectStore(self.root, project, self._name_run)
        return store

    def _existing(self, project: str, missing: type[LookupError] = ProjectNotFound) -> SqliteProjectStore:
        if project not in self._stores and not project_path(project, self.root).exists():
            raise missing(f"no project named {project!r} on this server")
        return self.project(project)

    def _reader(self):
        reader = getattr(self._local, "reader", None)
        if reader is None:
            reader = self._local.reader = self._make_reader(self.root)
        return reader

    # -- writes ------------------------------------------------------------------------------

    def apply(self, batch: dict) -> dict:
        return self.project(batch["project"]).apply(batch)

    def heartbeat(self, project: str, run_id: str, now: float) -> bool:
        return self._existing(project).heartbeat(run_id, now)

    def stop_requested(self, project: str, run_id: str) -> bool:
        return self._existing(project).stop_requested(run_id)

    def request_stop(self, project: str, run_id: str, now: float) -> bool:
        return self._reader().stop(project, run_id)

    # -- starting over ----------------------------------------------------------------------

    def removal_counts(self, project: str, run_id: str | None = None) -> dict[str, int]:
        return self._reader().removal_counts(project, run_id)

    def delete_run(self, project: str, run_id: str) -> dict[str, int]:
        store = self._existing(project, ProjectNotFound)
        with store.lock:
            held = start_over.delete_run(store.conn, project_path(project, self.root), project, run_id, time.time())
            store.forget(run_id)
        return held

    def delete_project(self, project: str) -> dict[str, int]:
        store = self._existing(project, ProjectNotFound)
        with self._lock:
            self._stores.pop(project, None)
            store.close()  # the next batch for this project opens it afresh
            conn = connect(project_path(project, self.root))
            return start_over.delete_project(conn, self.root, project, time.time())

    def rename_run(self, project: str, run_id: str, name: str) -> None:
        store = self._existing(project, ProjectNotFound)
        with store.lock:
            start_over.rename_run(store.conn, project, run_id, name)

    def move_run(self, project: str, run_id: str, to_project: str) -> dict[str, int]:
        store = self._existing(project, ProjectNotFound)
        src_path, dest_path = project_path(project, self.root), project_path(to_project, self.root)
        with store.lock:
            moved = start_over.move_run(
                store.conn, src_path, dest_path, project=project, to_project=to_project, run_id=run_id, now=time.time()
            )
            store.forget(run_id)
        return moved

    # -- reads -------------------------------------------------------------------------------

    def projects(self) -> list[str]:
        return self._reader().projects()

    def runs(self, project: str) -> pl.DataFrame:
        return self._reader().runs(project)

    def metrics(self, project: str, run_ids: list[str] | None = None) -> list[str]:
        return self._reader().metrics(project, run_ids)

    def final_values(
        self, project: str, run_ids: list[str] | None = None, metrics: list[str] | None = None, mode: str = "last"
    ) -> pl.DataFrame:
        return self._reader().final_values(project, run_ids, metrics, mode)

    def history(self, project: str, run_id: str, metrics: list[str] | None = None) -> pl.DataFrame:
        return self._reader().history(project, run_id, metrics)

    def alerts(
        self,
        project: str,
        run_ids: list[str] | None = None,
        level: str | None = None,
        reason: str | None = None,
        since: datetime | None = None,
        after_id: int | None = None,
    ) -> pl.DataFrame:
        return self._reader().alerts(project, run_ids, level, reason, since, after_id)

    def tail(
        self,
        project: str,
        *,
        chunk_after: int | None = 0,
        alert_after: int | None = 0,
        metrics: list[str] | None = None,
        exclude_run_ids: Sequence[str] = (),
    ):
        return self._reader().tail(
            project, chunk_after=chunk_after, alert_after=alert_after, metrics=metrics, exclude_run_ids=exclude_run_ids
        )

    def media(
        self, project: str, run_ids: list[str] | None = None, key: str | None = None, after_id: int | None = None
    ) -> pl.DataFrame:
        return self._reader().media(project, run_ids, key, after_id)

    def media_file(self, project: str, name: str) -> bytes:
        return self._reader().media_file(project, name)

    def close(self) -> None:
        for store in self._stores.values():
            store.close()
        self._stores.clear()
