"""The tracking server's storage interface: one Protocol, implemented for SQLite and PostgreSQL.

The server (trackio_nb.remote.app) checks every request first (remote.store.check_batch,
the one validation both backends pass through), then calls only these methods. Writes
apply a checked batch exactly once: the batch id is recorded in `applied_batches` in the
same transaction as its data, so a batch resent through any server process is skipped.
Reads return the frames of trackio_nb.readers.Reader (same schemas, same values) so the
Api, CLI and widgets answer alike whichever database sits under the server.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

import polars as pl

from ..errors import RunNotFound

if TYPE_CHECKING:
    from .tail import Tail


class ServerStore(Protocol):
    """What a tracking server needs from its database. Every method is safe from many threads."""

    errors: tuple[type[BaseException], ...]  # the database's own failures (the server answers 503)

    # -- writes: `batch` is a dict checked by remote.store.check_batch ---------------------------

    def apply(self, batch: dict) -> dict:
        """Apply one batch unless its id was applied before.

        kind "open": create the run (idempotent by run id) or resume the latest run of that
        name; returns {id, name, next_step, resumed, config, applied}. kind "write" (logs,
        alerts, config) and kind "status": returns {applied, stop}.
        """
        ...

    def heartbeat(self, project: str, run_id: str, now: float) -> bool:
        """Refresh a run's heartbeat to `now` (the server's clock); returns whether a stop was requested."""
        ...

    def stop_requested(self, project: str, run_id: str) -> bool: ...

    def request_stop(self, project: str, run_id: str, now: float) -> bool:
        """Ask a run to stop; False when the project has no such run."""
        ...

    # -- starting over (as trackio_nb.storage.start_over does on SQLite) -------------------------

    def removal_counts(self, project: str, run_id: str | None = None) -> dict[str, int]:
        """{runs, points, alerts} that deleting the run (the project when None) would remove."""
        ...

    def delete_run(self, project: str, run_id: str) -> dict[str, int]:
        """Delete an ended run and its rows (RunInProgress while it runs); returns its counts."""
        ...

    def delete_project(self, project: str) -> dict[str, int]:
        """Delete a project whose runs have all ended, with everything it holds; returns its counts."""
        ...

    def rename_run(self, project: str, run_id: str, name: str) -> None: ...

    def move_run(self, project: str, run_id: str, to_project: str) -> dict[str, int]:
        """Move an ended run (same id, every row) to `to_project`, created if missing; returns its counts."""
        ...

    # -- reads: the frames of trackio_nb.readers.Reader ------------------------------------------

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
    def tail(
        self,
        project: str,
        *,
        chunk_after: int | None = 0,
        alert_after: int | None = 0,
        metrics: list[str] | None = None,
        exclude_run_ids: Sequence[str] = (),
    ) -> Tail: ...

    def media(
        self, project: str, run_ids: list[str] | None = None, key: str | None = None, after_id: int | None = None
    ) -> pl.DataFrame:
        """Logged media rows (queries.MEDIA_SCHEMA), id order; a batch's `media` holds MediaRecords to store."""
        ...

    def media_file(self, project: str, name: str) -> bytes:
        """The bytes of one content-addressed media file (LookupError when absent)."""
        ...

    def close(self) -> None: ...


def identity(run_id: str, name: str, next_step: int, resumed: bool, config: dict, applied: bool) -> dict:
    """The reply to an "open" batch (both backends answer with this shape)."""
    return {
        "id": run_id,
        "name": name,
        "next_step": next_step,
        "resumed": resumed,
        "config": config,
        "applied": applied,
    }


def resume_refused(project: str, name: str | None) -> RunNotFound:
    return RunNotFound(f"resume='must' but project {project!r} has no run named {name!r}")
