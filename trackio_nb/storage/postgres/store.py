"""The ServerStore on PostgreSQL: all projects in one database, any number of server processes.

Nothing a request needs is kept only in this process: run keys, series state and batch ids
are read from the database inside each write transaction, so replicas behind a load
balancer are interchangeable. This process caches only what never changes once written
(metric name keys). One connection per server thread (autocommit; writes open
explicit transactions); a broken connection is replaced on the next call.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime

import polars as pl
import psycopg

from ...errors import InvalidValue, ProjectNotFound, RunNotFound, SchemaTooNew
from ..media_files import check_name
from . import reads, start_over, writes
from .schema import SCHEMA_VERSION, migrate, version


def _reconnecting(method: Callable) -> Callable:
    """Run `method` once more on a new connection when its connection broke (PostgreSQL restarted,
    a failover, a dropped socket). Only for calls that are safe to repeat: reads, and batches
    (a batch that did commit is then found by its id and not applied twice)."""

    @functools.wraps(method)
    def call(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except psycopg.OperationalError:
            conn = getattr(self._local, "conn", None)
            if conn is None or not (conn.broken or conn.closed):
                raise
            return method(self, *args, **kwargs)

    return call


class PgServerStore:
    """Implements storage.server_store.ServerStore on the database at `url`."""

    errors = (psycopg.Error,)

    def __init__(self, url: str, name_run: Callable[[int], str], *, auto_migrate: bool = True) -> None:
        self.url, self._name_run = url, name_run
        self._local = threading.local()
        self._conns: list[psycopg.Connection] = []
        self._conns_lock = threading.Lock()
        self._metrics: dict[str, int] = {}
        conn = self._conn()
        if auto_migrate:
            migrate(conn)
        else:
            found = version(conn)
            if found != SCHEMA_VERSION:
                raise (SchemaTooNew if found > SCHEMA_VERSION else InvalidValue)(
                    f"the database is at schema version {found}, this server needs {SCHEMA_VERSION}:"
                    " run trackio-nb migrate --db URL"
                )

    def _conn(self) -> psycopg.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed or conn.broken:
            old, conn = conn, psycopg.connect(self.url, autocommit=True)
            self._local.conn = conn
            with self._conns_lock:
                if old is not None:
                    self._conns.remove(old)
                    old.close()
                self._conns.append(conn)
        return conn

    def _key(self, project: str, *, create: bool = False) -> int:
        # Not cached: another replica may delete the project (and a new one take its name).
        key = writes.project_key(self._conn(), project, time.time(), create=create)
        if key is None:
            raise ProjectNotFound(f"no project named {project!r} on this server")
        return key

    def _existing(self, project: str) -> int:
        try:
            return self._key(project)
        except ProjectNotFound:
            raise ProjectNotFound(f"no project named {project!r} on this server") from None

    # -- writes ------------------------------------------------------------------------------

    @_reconnecting
    def apply(self, batch: dict) -> dict:
        project, conn = batch["project"], self._conn()
        if batch["kind"] == "open":
            return writes.apply_open(conn, project, self._key(project, create=True), batch, self._name_run)
        pkey = self._existing(project)
        if batch["kind"] == "write":
            return writes.apply_write(conn, project, pkey, batch, self._metrics, time.time())
        return writes.apply_status(conn, project, pkey, batch, time.time())

    @_reconnecting
    def heartbeat(self, project: str, run_id: str, now: float) -> bool:
        return writes.heartbeat(self._conn(), project, self._existing(project), run_id, now)

    @_reconnecting
    def stop_requested(self, project: str, run_id: str) -> bool:
        return writes.stop_requested(self._conn(), project, self._existing(project), run_id)

    @_reconnecting
    def request_stop(self, project: str, run_id: str, now: float) -> bool:
        return writes.request_stop(self._conn(), self._key(project), run_id, now)

    # -- starting over ----------------------------------------------------------------------

    @_reconnecting
    def removal_counts(self, project: str, run_id: str | None = None) -> dict[str, int]:
        return start_over.removal_counts(self._conn(), project, self._key(project), run_id)

    def delete_run(self, project: str, run_id: str) -> dict[str, int]:
        return start_over.delete_run(self._conn(), project, self._key(project), run_id, time.time())

    def delete_project(self, project: str) -> dict[str, int]:
        return start_over.delete_project(self._conn(), project, self._key(project), time.time())

    def rename_run(self, project: str, run_id: str, name: str) -> None:
        start_over.rename_run(self._conn(), project, self._key(project), run_id, name)

    def move_run(self, project: str, run_id: str, to_project: str) -> dict[str, int]:
        return start_over.move_run(self._conn(), project, self._key(project), to_project, run_id, time.time())

    # -- reads -------------------------------------------------------------------------------

    @_reconnecting
    def projects(self) -> list[str]:
        return reads.projects(self._conn())

    @_reconnecting
    def runs(self, project: str) -> pl.DataFrame:
        return reads.runs(self._conn(), self._key(project))

    @_reconnecting
    def metrics(self, project: str, run_ids: list[str] | None = None) -> list[str]:
        return reads.metrics(self._conn(), self._key(project), run_ids)

    @_reconnecting
    def final_values(
        self, project: str, run_ids: list[str] | None = None, metrics: list[str] | None = None, mode: str = "last"
    ) -> pl.DataFrame:
        return reads.final_values(self._conn(), self._key(project), run_ids, metrics, mode)

    @_reconnecting
    def history(self, project: str, run_id: str, metrics: list[str] | None = None) -> pl.DataFrame:
        conn, pkey = self._conn(), self._key(project)
        run_key = reads.run_key(conn, pkey, run_id)
        if run_key is None:
            raise RunNotFound(f"project {project!r} has no run with id {run_id!r}")
        return reads.history(conn, pkey, run_key, metrics)

    @_reconnecting
    def alerts(
        self,
        project: str,
        run_ids: list[str] | None = None,
        level: str | None = None,
        reason: str | None = None,
        since: datetime | None = None,
        after_id: int | None = None,
    ) -> pl.DataFrame:
        return reads.reader_alerts(
            self._conn(),
            self._key(project),
            run_ids=run_ids,
            level=level,
            reason=reason,
            since=since,
            after_id=after_id,
        )

    @_reconnecting
    def tail(
        self,
        project: str,
        *,
        chunk_after: int | None = 0,
        alert_after: int | None = 0,
        metrics: list[str] | None = None,
        exclude_run_ids: Sequence[str] = (),
    ):
        return reads.tail(
            self._conn(),
            self._key(project),
            chunk_after=chunk_after,
            alert_after=alert_after,
            metrics=metrics,
            exclude_run_ids=exclude_run_ids,
            now=time.time(),
        )

    @_reconnecting
    def media(
        self, project: str, run_ids: list[str] | None = None, key: str | None = None, after_id: int | None = None
    ) -> pl.DataFrame:
        return reads.media(self._conn(), self._key(project), run_ids, key, after_id)

    @_reconnecting
    def media_file(self, project: str, name: str) -> bytes:
        data = reads.media_file(self._conn(), self._key(project), check_name(name))
        if data is None:
            raise InvalidValue(f"project {project!r} has no media file {name!r}")
        return data

    def close(self) -> None:
        with self._conns_lock:
            for conn in self._conns:
                conn.close()
            self._conns.clear()
