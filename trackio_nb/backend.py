"""The writer interface: what a run needs from wherever its data goes.

`LocalBackend` (local_backend.py) writes a project's SQLite file; the remote backend sends
the same calls to a tracking server. A Run talks only to this interface, so every write of
a run (logs, config, status, alerts, heartbeats, stop checks) takes the one route chosen at
`init()`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from .storage.records import AlertRecord, LogEntry, MediaRecord


@dataclass(slots=True)
class RunSpec:
    """What `init()` asks for."""

    project: str
    name: str | None
    group: str | None
    config: dict
    resume: str
    host: str
    pid: int
    created_at: float


@dataclass(slots=True)
class RunIdentity:
    """What the backend made of a RunSpec: a new or resumed run."""

    id: str
    name: str
    next_step: int = 0
    resumed: bool = False
    config: dict = field(default_factory=dict)


class Backend(Protocol):
    location: tuple[str, str] | None
    """("local", resolved data directory) or ("remote", server URL): what readers of the run open."""

    def open_run(self, spec: RunSpec) -> RunIdentity:
        """Create (or resume) the run; it is visible to readers when this returns."""

    def write(
        self,
        logs: Sequence[LogEntry],
        alerts: Sequence[AlertRecord],
        config: dict | None,
        media: Sequence[MediaRecord] = (),
    ) -> None:
        """Store one batch, media files included (called from the writer thread only)."""

    def set_status(self, status: str, finished_at: float | None, *, durable: bool = False) -> None:
        """Record a status change (called from the run's thread)."""

    def heartbeat(self, now: float) -> None:
        """Tell readers the run's process is alive (writer thread)."""

    def stop_requested(self) -> bool:
        """True once someone asked this run to stop (writer thread)."""

    def closing(self) -> None:
        """The run is ending (called before the writer's last flush): store what comes next quickly."""

    def keep_rejected(self, rows: list, error: str) -> str:
        """Keep rows storage refused for good ((kind, record, error) each); returns where they went."""

    def close(self, deadline: float | None = None) -> None:
        """Release connections, giving up on unsent data at `deadline` (time.monotonic()); no calls follow."""

    def describe_pending(self) -> str:
        """Where unsent data stays when the writer could not finish (for the exit message)."""
