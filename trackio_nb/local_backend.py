"""The backend that writes a run into its project's SQLite file under the data directory."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from . import rejected
from .backend import RunIdentity, RunSpec
from .errors import RunInProgress
from .names import new_run_id, new_run_name
from .storage import writes
from .storage.media_files import media_dir
from .storage.opening import open_run
from .storage.paths import project_path
from .storage.records import AlertRecord, LogEntry, MediaRecord, RunRecord, SeriesState

STATUS_BUSY_S = 1.0


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
        self._owner: tuple[str, int] | None = None  # (host, pid) written on the run row by open_run
        self._run_id: str | None = None
        self._run_name: str | None = None
        self._taken_over = False

    def open_run(self, spec: RunSpec) -> RunIdentity:
        record = RunRecord(new_run_id(), spec.name, spec.group, spec.config, spec.created_at, spec.host, spec.pid)
        opened = open_run(self._sync, self.project, record, spec.resume, new_run_name)
        self._key, self._state = opened.key, opened.state
        self._claim(spec, opened.id, opened.name)
        return RunIdentity(opened.id, opened.name, opened.next_step, resumed=opened.resumed, config=opened.config)

    def _claim(self, spec: RunSpec, run_id: str, name: str) -> None:
        self._owner, self._run_id, self._run_name = (spec.host, spec.pid), run_id, name

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
        try:
            if logs or alerts or media:
                writes.write_batch(db, self._key, self._state, logs, alerts, media, media_dir(self.path), self._owner)
            if config is not None:
                writes.set_config(db, self._key, config, self._owner)
        except BaseException:
            # The rollback may have removed metric names and steps the cached state now names.
            self._state = writes.series_state(db.conn, self._key)
            if self._owner is not None and not writes.owns(db.conn, self._key, self._owner):
                self._taken_over = True  # should_stop() turns True at the writer's next poll
            raise

    def closing(self) -> None:
        """Nothing to hurry: a local write is as quick as it gets."""

    def keep_rejected(self, rows: list, error: str) -> str:
        """Append refused rows to `<project>.rejected.jsonl` beside the database; returns its path."""
        return rejected.append(rejected.rejected_path(self.path), self.project, self._run_id, self._run_name, rows)

    def set_status(self, status: str, finished_at: float | None, *, durable: bool = False) -> None:
        # Bounded: a database another process keeps locked must not hold finish() past its deadline.
        owned = writes.set_status(
            self._sync, self._key, status, finished_at, durable=durable, owner=self._owner, busy_timeout_s=STATUS_BUSY_S
        )
        if not owned:
            self._taken_over = True
            raise RunInProgress(
                f"run {self._run_name!r} was taken over by another process (resume='force'); its status is theirs"
            )

    def heartbeat(self, now: float) -> None:
        if not writes.heartbeat(self._writer_db(), self._key, now, self._owner):
            self._taken_over = True

    def stop_requested(self) -> bool:
        # A run another process took over (resume="force") stops here: its writes are refused.
        return self._taken_over or writes.stop_requested(self._writer_db(), self._key)

    def close(self, deadline: float | None = None) -> None:
        for db in (self._writer, self._sync):
            if db is not None:
                db.conn.close()
        self._writer = None

    def describe_pending(self) -> str:
        return f"they were not written to {self.path}"
