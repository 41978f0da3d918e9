"""The read seam every surface uses: one object per data source, same methods, same frames.

`LocalReader` calls the storage query functions on the project files in the data directory;
the remote reader (trackio_nb.remote) calls a tracking server that runs the same functions.
Everything returns Polars DataFrames with fixed schemas (runs, final values, history,
alerts), so the Api, CLI, widgets and reports give the same answers from either source.
"""

from __future__ import annotations

import os
import sqlite3
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import polars as pl

from .errors import InvalidValue, RunNotFound
from .storage import data_dir, open_project, project_path, queries
from .storage.media_files import check_name, media_dir
from .storage.paths import project_names
from .storage.queries import READ_ALERTS_SCHEMA as ALERTS_SCHEMA
from .storage.queries import READ_FINAL_SCHEMA as FINAL_SCHEMA

if TYPE_CHECKING:
    from .storage.tail import Delta, Follower, Tail


class Reader(Protocol):
    def projects(self) -> list[str]: ...
    def runs(self, project: str) -> pl.DataFrame: ...
    def metrics(self, project: str, run_ids: list[str] | None = None) -> list[str]: ...
    def final_values(
        self, project: str, run_ids: list[str] | None = None, metrics: list[str] | None = None, mode: str = "last"
    ) -> pl.DataFrame: ...
    def history(self, project: str, run_id: str, metrics: list[str] | None = None) -> pl.DataFrame: ...
    def alerts(
        self,
        project: str,
        run_ids: list[str] | None = None,
        level: str | None = None,
        reason: str | None = None,
        since: datetime | None = None,
        after_id: int | None = None,
    ) -> pl.DataFrame: ...
    def stop(self, project: str, run_id: str) -> bool: ...
    def removal_counts(self, project: str, run_id: str | None = None) -> dict[str, int]: ...
    def delete_run(self, project: str, run_id: str) -> dict[str, int]: ...
    def delete_project(self, project: str) -> dict[str, int]: ...
    def rename_run(self, project: str, run_id: str, name: str) -> None: ...
    def move_run(self, project: str, run_id: str, to_project: str) -> dict[str, int]: ...
    def media(
        self, project: str, run_ids: list[str] | None = None, key: str | None = None, after_id: int | None = None
    ) -> pl.DataFrame: ...
    def media_file(self, project: str, name: str) -> bytes: ...
    def media_path(self, project: str, name: str) -> Path: ...
    def tail(
        self,
        project: str,
        *,
        chunk_after: int | None = 0,
        alert_after: int | None = 0,
        metrics: list[str] | None = None,
        exclude_run_ids: list[str] | tuple[str, ...] = (),
    ) -> Tail: ...


class LocalReader:
    """Reads the project files under a data directory (TRACKIO_NB_DIR when not given)."""

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = data_dir(root)
        self._conns: dict[str, sqlite3.Connection] = {}
        self._files: dict[str, tuple[int, int] | None] = {}  # the file each cached connection opened

    def _conn(self, project: str) -> sqlite3.Connection:
        path = project_path(project, self.root)
        conn = self._conns.get(project)
        if conn is not None:
            if _file_identity(path) == self._files[project]:
                return conn
            self._forget(project)  # the project was deleted (and perhaps created again) since
        conn = open_project(project, self.root)  # a file that is not a trackio_nb database: ProjectNotFound naming it
        self._conns[project], self._files[project] = conn, _file_identity(path)
        return conn

    def _forget(self, project: str) -> None:
        conn = self._conns.pop(project, None)
        self._files.pop(project, None)
        if conn is not None:
            conn.close()

    def close(self) -> None:
        for project in list(self._conns):
            self._forget(project)

    def projects(self) -> list[str]:
        return project_names(self.root)

    def _runs_raw(self, project: str) -> pl.DataFrame:
        return queries.runs(self._conn(project), now=time.time())

    def runs(self, project: str) -> pl.DataFrame:
        return self._runs_raw(project).select(
            "id", pl.col("name"), "group", "status", "config", "created_at", "finished_at", "heartbeat_at"
        )

    def _keys(self, project: str, run_ids: list[str] | None) -> tuple[pl.DataFrame, list[int] | None]:
        raw = queries.run_keys(self._conn(project))
        if run_ids is None:
            return raw, None
        return raw, raw.filter(pl.col("id").is_in(run_ids))["key"].to_list()

    def metrics(self, project: str, run_ids: list[str] | None = None) -> list[str]:
        _, keys = self._keys(project, run_ids)
        return queries.metric_names(self._conn(project), keys)

    def final_values(
        self, project: str, run_ids: list[str] | None = None, metrics: list[str] | None = None, mode: str = "last"
    ) -> pl.DataFrame:
        raw, keys = self._keys(project, run_ids)
        df = queries.final_values(self._conn(project), run_keys=keys, metrics=metrics, mode=mode)
        return df.join(raw.select(pl.col("key").alias("run_key"), pl.col("id").alias("run_id")), on="run_key").select(
            list(FINAL_SCHEMA)
        )

    def history(self, project: str, run_id: str, metrics: list[str] | None = None) -> pl.DataFrame:
        _, keys = self._keys(project, [run_id])
        if not keys:
            raise RunNotFound(f"project {project!r} has no run with id {run_id!r}")
        return queries.history(self._conn(project), keys[0], metrics)

    def alerts(
        self,
        project: str,
        run_ids: list[str] | None = None,
        level: str | None = None,
        reason: str | None = None,
        since: datetime | None = None,
        after_id: int | None = None,
    ) -> pl.DataFrame:
        _, keys = self._keys(project, run_ids)
        df = queries.alerts(
            self._conn(project), run_keys=keys, level=level, reason=reason, since=since, after_id=after_id
        )
        return df.select(list(ALERTS_SCHEMA))

    def media(
        self, project: str, run_ids: list[str] | None = None, key: str | None = None, after_id: int | None = None
    ) -> pl.DataFrame:
        """Logged media rows (queries.MEDIA_SCHEMA) in id order; `after_id` is a cursor."""
        _, keys = self._keys(project, run_ids)
        return queries.media(self._conn(project), run_keys=keys, key=key, after_id=after_id)

    def media_path(self, project: str, name: str) -> Path:
        """Where media file `name` of `project` lies (content-addressed, in the project's media folder)."""
        return media_dir(project_path(project, self.root)) / check_name(name)

    def media_file(self, project: str, name: str) -> bytes:
        """The bytes of one media file; InvalidValue when the project does not hold it."""
        try:
            return self.media_path(project, name).read_bytes()
        except FileNotFoundError:
            raise InvalidValue(f"project {project!r} has no media file {name!r}") from None

    def stop(self, project: str, run_id: str) -> bool:
        from .storage.writes import request_stop

        return request_stop(self._conn(project), run_id, time.time())

    # -- starting over (trackio_nb.storage.start_over) --------------------------------------

    def removal_counts(self, project: str, run_id: str | None = None) -> dict[str, int]:
        """What deleting the run (the whole project when None) would remove: runs, points, alerts."""
        from .storage import start_over

        conn = self._conn(project)
        return start_over.counts(conn, None if run_id is None else [start_over.run_key(conn, project, run_id)])

    def delete_run(self, project: str, run_id: str) -> dict[str, int]:
        from .storage.start_over import delete_run

        return delete_run(self._conn(project), project_path(project, self.root), project, run_id, time.time())

    def delete_project(self, project: str) -> dict[str, int]:
        from .storage.start_over import delete_project

        conn = self._conn(project)
        self._conns.pop(project)  # delete_project closes it
        self._files.pop(project)
        return delete_project(conn, self.root, project, time.time())

    def rename_run(self, project: str, run_id: str, name: str) -> None:
        from .storage.start_over import rename_run

        rename_run(self._conn(project), project, run_id, name)

    def move_run(self, project: str, run_id: str, to_project: str) -> dict[str, int]:
        from .storage.start_over import move_run

        src_path, dest_path = project_path(project, self.root), project_path(to_project, self.root)
        return move_run(
            self._conn(project),
            src_path,
            dest_path,
            project=project,
            to_project=to_project,
            run_id=run_id,
            now=time.time(),
        )

    def tail(
        self,
        project: str,
        *,
        chunk_after: int | None = 0,
        alert_after: int | None = 0,
        metrics: list[str] | None = None,
        exclude_run_ids: list[str] | tuple[str, ...] = (),
    ) -> Tail:
        """Runs, last values, and the points and alerts stored after the cursors (live widgets)."""
        from .storage.tail import tail

        return tail(
            self._conn(project),
            chunk_after=chunk_after,
            alert_after=alert_after,
            metrics=metrics,
            exclude_run_ids=exclude_run_ids,
            now=time.time(),
        )

    def follow(
        self,
        project: str,
        follower: Follower,
        *,
        exclude_run_ids: list[str] | tuple[str, ...] = (),
        initial: bool = False,
    ) -> Delta | None:
        """What changed in `project` since `follower` last read (None: nothing); live widgets, once per tick."""
        return follower.read(self._conn(project), time.time(), exclude_run_ids=exclude_run_ids, initial=initial)

    def points(self, project: str, upto_chunk: int, metrics: list[str] | None = None) -> pl.DataFrame:
        """Numeric points stored up to chunk id `upto_chunk` (a chart's first load, then it follows)."""
        from .storage.tail import points_between

        return points_between(self._conn(project), 0, upto_chunk, metrics=metrics)


def _file_identity(path: Path) -> tuple[int, int] | None:
    """Which file is at `path`: inode and change time (a deleted file's inode number may be reused)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_ctime_ns


def reader_for(server_url: str | None = None, token: str | None = None, root: str | None = None) -> Reader:
    """The reader for a server URL (or TRACKIO_NB_SERVER), else the local data directory."""
    server_url = server_url or os.environ.get("TRACKIO_NB_SERVER") or None
    if server_url:
        from .remote.client_reader import RemoteReader

        return RemoteReader(server_url, token or os.environ.get("TRACKIO_NB_TOKEN"))
    return LocalReader(root)
