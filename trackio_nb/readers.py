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

from .storage import ProjectNotFound, connect, data_dir, project_path, queries
from .storage.media_files import check_name, media_dir
from .storage.paths import DB_SUFFIX

if TYPE_CHECKING:
    from .storage.tail import Delta, Follower, Tail

RUNS_SCHEMA = {
    "id": pl.String,
    "name": pl.String,
    "group": pl.String,
    "status": pl.String,
    "config": pl.String,
    "created_at": pl.Float64,
    "finished_at": pl.Float64,
    "heartbeat_at": pl.Float64,
}
FINAL_SCHEMA = {"run_id": pl.String, "metric": pl.String, "value": pl.Float64, "step": pl.Int64}
ALERTS_SCHEMA = {
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

    def _conn(self, project: str) -> sqlite3.Connection:
        conn = self._conns.get(project)
        if conn is None:
            try:
                conn = connect(project_path(project, self.root))
            except ProjectNotFound:
                raise ProjectNotFound(f"no project named {project!r} in {self.root}") from None
            self._conns[project] = conn
        return conn

    def close(self) -> None:
        for conn in self._conns.values():
            conn.close()
        self._conns.clear()

    def projects(self) -> list[str]:
        if not self.root.is_dir():
            return []
        names = []
        for path in sorted(self.root.glob("*" + DB_SUFFIX)):
            if "~" not in path.name:
                names.append(path.stem)
                continue
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
                row = conn.execute("SELECT value FROM meta WHERE key = 'project'").fetchone()
            if row is not None:
                names.append(row[0])
        return sorted(names)

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
            raise LookupError(f"project {project!r} has no run with id {run_id!r}")
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
        """The bytes of one media file; LookupError when the project does not hold it."""
        try:
            return self.media_path(project, name).read_bytes()
        except FileNotFoundError:
            raise LookupError(f"project {project!r} has no media file {name!r}") from None

    def stop(self, project: str, run_id: str) -> bool:
        from .storage.writes import request_stop

        return request_stop(self._conn(project), run_id, time.time())

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


def reader_for(server_url: str | None = None, token: str | None = None, root: str | None = None) -> Reader:
    """The reader for a server URL (or TRACKIO_NB_SERVER), else the local data directory."""
    server_url = server_url or os.environ.get("TRACKIO_NB_SERVER") or None
    if server_url:
        from .remote.client_reader import RemoteReader

        return RemoteReader(server_url, token or os.environ.get("TRACKIO_NB_TOKEN"))
    return LocalReader(root)
