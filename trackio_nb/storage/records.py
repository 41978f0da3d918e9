"""The plain records that travel from a run to storage (no database code here)."""

from __future__ import annotations

from dataclasses import dataclass, field

# How `init(resume=...)` treats an existing run of the same name (docs/python-api.md): "never" starts a
# new run, "allow" continues it if there is one, "must" continues it or fails, "force" is
# "allow" that also takes over a run still running elsewhere.
RESUME_MODES = ("never", "allow", "must", "force")

# One logged step: (step, timestamp, {metric: float}, {metric: json text} or None).
LogEntry = tuple[int, float, dict[str, float], "dict[str, str] | None"]


@dataclass(slots=True)
class AlertRecord:
    """An alert as the writer stores it; `data` is already JSON text (or None)."""

    timestamp: float
    step: int | None
    level: str
    title: str
    text: str | None
    data: str | None


@dataclass(slots=True)
class RunRecord:
    """A new run's row."""

    id: str
    name: str
    group: str | None
    config: dict
    created_at: float
    host: str
    pid: int


@dataclass(slots=True)
class SeriesState:
    """What a writer knows of the series it wrote, so it can merge aggregates cheaply."""

    metric_keys: dict[str, int] = field(default_factory=dict)
    last_steps: dict[int, int] = field(default_factory=dict)


@dataclass(slots=True)
class MediaRecord:
    """One logged media object, encoded in the caller's thread; the writer stores its files and row.

    `value` is JSON text (or None), `file` the name of the row's own file (or None), `blobs`
    every file the row needs as {content-addressed name: bytes}, `meta` JSON text (or None).
    """

    step: int
    timestamp: float
    key: str
    kind: str
    caption: str | None
    value: str | None
    file: str | None
    blobs: dict[str, bytes]
    meta: str | None
