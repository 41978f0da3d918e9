"""The backend that writes a run into its project's SQLite file under the data directory."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .backend import RunIdentity, RunSpec
from .names import new_run_id, new_run_name
from .storage import writes
from .storage.media_files import media_dir
from .storage.opening import open_run
from .storage.paths import project_path
from .storage.records import AlertRecord, LogEntry, MediaRecord, RunRecord, SeriesState


class LocalBackend:
    """Two connections: one for the writer thread, one for calls from the run's thread."""

    def __init__(self, project: str, root: str | Path | None = None) -> None:
        self.project = project
        self.path = project_path(project, root)
        self.location = ("local", str(self.path.parent.resolve()))
        self._sync = writes.open_db(self.path, project)
        self._writer = None
        self._key: int | None = None
        self._state = SeriesState()

    def open_run(self, spec: RunSpec) -> RunIdentity:
        record = RunRecord(new_run_id(), spec.name, spec.group, spec.config, spec.created_at, spec.host, spec.pid)
        opened = open_run(self._sync, self.project, record, spec.resume, new_run_name)
        self._key, self._state = opened.key, opened.state
        return RunIdentity(opened.id, opened.name, opened.next_step, resumed=opened.resumed, config=opened.config)

    def _writer_db(self):
        if self._writer is None:
            self._writer = writes.open_db(self.path, self.project)
        return self._writer

    def write(
        self,
        logs: Sequence[LogEntry],
        alerts: Sequence[AlertRecord],
        config: dict | None,
        media: Sequence[MediaRecord] = (),
    ) -> None:
        db = self._writer_db()
        if logs or alerts or media:
            writes.write_batch(db, self._key, self._state, logs, alerts, media, media_dir(self.path))
        if config is not None:
            writes.set_config(db, self._key, config)

    def set_status(self, status: str, finished_at: float | None, *, durable: bool = False) -> None:
        writes.set_status(self._sync, self._key, status, finished_at, durable=durable)

    def heartbeat(self, now: float) -> None:
        writes.heartbeat(self._writer_db(), self._key, now)

    def stop_requested(self) -> bool:
        return writes.stop_requested(self._writer_db(), self._key)

    def close(self) -> None:
        for db in (self._writer, self._sync):
            if db is not None:
                db.conn.close()
        self._writer = None

    def describe_pending(self) -> str:
        return f"they were not written to {self.path}"
