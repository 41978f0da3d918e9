"""The backend that writes a run into its project's SQLite file under the data directory."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from .backend import RunIdentity, RunSpec
from .names import new_run_id, new_run_name
from .storage import writes
from .storage.media_files import media_dir
from .storage.paths import project_path
from .storage.records import AlertRecord, LogEntry, MediaRecord, SeriesState


class LocalBackend:
    """Two connections: one for the writer thread, one for calls from the run's thread."""

    def __init__(self, project: str, root: str | Path | None = None) -> None:
        self.project = project
        self.path = project_path(project, root)
        self._sync = writes.open_db(self.path, project)
        self._writer = None
        self._key: int | None = None
        self._state = SeriesState()

    def open_run(self, spec: RunSpec) -> RunIdentity:
        db = self._sync
        existing = writes.latest_run_named(db, spec.name) if spec.name is not None else None
        if spec.resume == "must" and existing is None:
            raise ValueError(f"resume='must' but project {self.project!r} has no run named {spec.name!r}")
        if existing is not None and spec.resume in ("allow", "must"):
            self._key = existing["key"]
            next_step, self._state = writes.resume_run(db, self._key, host=spec.host, pid=spec.pid, now=spec.created_at)
            config = json.loads(existing["config"])
            if spec.config:
                config.update(spec.config)
                writes.set_config(db, self._key, config)
            return RunIdentity(existing["id"], existing["name"], next_step, resumed=True, config=config)
        name = spec.name
        if name is None:
            count = db.execute("SELECT count(*) FROM runs").fetchone()[0]
            name = new_run_name(count)
        run_id = new_run_id()
        self._key = writes.create_run(
            db,
            writes.RunRecord(run_id, name, spec.group, spec.config, spec.created_at, spec.host, spec.pid),
        )
        return RunIdentity(run_id, name, 0, resumed=False, config=dict(spec.config))

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
