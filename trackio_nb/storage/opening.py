"""Opening a run in a project database: the one rule for new runs, resumes, config merges and default names.

The local backend and the tracking server's SQLite store both call `open_run`, so a run
opened in a notebook and one opened through a server get the same name, step and config.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import sqlite_utils

from . import writes
from .records import RunRecord, SeriesState
from .server_store import resume_refused


@dataclass
class OpenedRun:
    """What `open_run` made: the run's identity, its integer key and its series state."""

    id: str
    name: str
    next_step: int
    resumed: bool
    config: dict
    key: int
    state: SeriesState = field(default_factory=SeriesState)


def open_run(
    db: sqlite_utils.Database,
    project: str,
    record: RunRecord,
    resume: str,
    name_run: Callable[[int], str],
) -> OpenedRun:
    """Resume the latest run named `record.name` (resume "allow"/"must"/"force") or create `record`.

    A resumed run keeps its id and stored config, updated with `record.config`; it continues
    after its highest logged step. A new run without a name is called `name_run(number of runs)`.
    """
    existing = writes.latest_run_named(db, record.name) if record.name is not None else None
    if resume == "must" and existing is None:
        raise resume_refused(project, record.name)
    if existing is not None and resume in ("allow", "must", "force"):
        key = existing["key"]
        # "force" takes over a run another live process still writes; the others refuse to (this
        # machine's clock judges the stored heartbeat: the server's own, on a tracking server).
        next_step, state = writes.resume_run(
            db, key, host=record.host, pid=record.pid, now=time.time(), force=resume == "force"
        )
        config = json.loads(existing["config"])
        if record.config:
            config.update(record.config)
            writes.set_config(db, key, config)
        return OpenedRun(existing["id"], existing["name"], next_step, True, config, key, state)
    if record.name is None:
        record = replace(record, name=name_run(writes.run_count(db.conn)))
    key = writes.create_run(db, record)
    return OpenedRun(record.id, record.name, 0, False, dict(record.config), key)
