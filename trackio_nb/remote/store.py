"""The server's write side: applies client batches to project databases, each batch once.

A batch is stored and its id recorded in `applied_batches` in one transaction, so a
batch the client resends (after a timeout, a crash, or from the outbox) is recognised and
skipped. Writes go through trackio_nb.storage.writes, like local mode.
"""

from __future__ import annotations

import json
import math
import threading
import time
from pathlib import Path

import sqlite_utils

from ..enums import LEVELS, STATUSES
from ..names import new_run_name
from ..storage import connect, project_path, validate_project, writes
from ..storage.records import AlertRecord, RunRecord, SeriesState
from .wire import decode_logs

KINDS = ("open", "write", "status")
RESUME_MODES = ("never", "allow", "must")
MAX_ID_LENGTH = 128


class UnknownRun(LookupError):
    """A batch names a run the project does not hold."""


class ProjectStore:
    """One project's database on the server: one connection, one lock, cached run keys."""

    def __init__(self, root: Path, project: str) -> None:
        self.project = project
        self.conn = connect(project_path(project, root), create=True, project=project)
        self.db = sqlite_utils.Database(self.conn)
        self.lock = threading.Lock()
        self._keys: dict[str, int] = {}
        self._states: dict[int, SeriesState] = {}

    def apply(self, batch: dict) -> dict:
        """Apply one validated batch unless its id was applied before; returns the reply."""
        with self.lock:
            if batch["kind"] == "open":
                return self._in_transaction(lambda: self._open(batch), None)
            key = self._key(batch["run_id"])
            if self.conn.execute("SELECT 1 FROM applied_batches WHERE id = ?", (batch["id"],)).fetchone():
                return {"applied": False, "stop": writes.stop_requested(self.db, key)}
            if batch["kind"] == "write":
                self._in_transaction(lambda: self._write(key, batch), batch["id"])
            else:
                self.conn.execute("PRAGMA synchronous = FULL")  # a status change is durable when we answer
                try:
                    self._in_transaction(
                        lambda: writes.set_status(self.db, key, batch["status"], batch["finished_at"]), batch["id"]
                    )
                finally:
                    self.conn.execute("PRAGMA synchronous = NORMAL")
            return {"applied": True, "stop": writes.stop_requested(self.db, key)}

    def heartbeat(self, run_id: str, now: float) -> bool:
        """Refresh a run's heartbeat; returns whether a stop was requested."""
        with self.lock:
            key = self._key(run_id)
            writes.heartbeat(self.db, key, now)
            return writes.stop_requested(self.db, key)

    def stop_requested(self, run_id: str) -> bool:
        with self.lock:
            return writes.stop_requested(self.db, self._key(run_id))

    def close(self) -> None:
        with self.lock:
            self.conn.close()

    # -- inside the lock ---------------------------------------------------------------------

    def _in_transaction(self, fn, batch_id: str | None):
        """Run `fn` and record `batch_id` in one transaction: both land or neither."""
        try:
            with writes.transaction(self.conn):
                result = fn()
                if batch_id is not None:
                    self.conn.execute(
                        "INSERT INTO applied_batches (id, applied_at) VALUES (?, ?)", (batch_id, time.time())
                    )
            return result
        except BaseException:
            # Cached metric keys and last steps may name rows the rollback removed.
            self._states.clear()
            self._keys.clear()
            raise

    def _key(self, run_id: str) -> int:
        key = self._keys.get(run_id)
        if key is None:
            row = self.conn.execute("SELECT key FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None:
                raise UnknownRun(f"project {self.project!r} has no run with id {run_id!r}")
            key = self._keys[run_id] = row[0]
        return key

    def _state(self, key: int) -> SeriesState:
        state = self._states.get(key)
        if state is None:  # rebuilt from the summaries, as a resumed local run does
            state = self._states[key] = SeriesState()
            for metric_key, last_step in self.conn.execute(
                "SELECT metric_key, last_step FROM summaries WHERE run_key = ?", (key,)
            ):
                state.last_steps[metric_key] = last_step
        return state

    def _write(self, key: int, batch: dict) -> None:
        if batch["logs"] or batch["alerts"]:
            writes.write_batch(self.db, key, self._state(key), batch["logs"], batch["alerts"])
        if batch["config"] is not None:
            writes.set_config(self.db, key, batch["config"])

    def _open(self, batch: dict) -> dict:
        """Create the run (idempotent by run id) or resume the latest run of that name."""
        db = self.db
        row = db.execute("SELECT id, name, config FROM runs WHERE id = ?", (batch["run_id"],)).fetchone()
        if row is not None:  # the same open sent again
            return {**_identity(row[0], row[1], 0, False, json.loads(row[2])), "applied": False}
        name = batch["name"]
        existing = writes.latest_run_named(db, name) if name is not None else None
        if batch["resume"] == "must" and existing is None:
            raise ValueError(f"resume='must' but project {self.project!r} has no run named {name!r}")
        if existing is not None and batch["resume"] in ("allow", "must"):
            key = existing["key"]
            next_step, self._states[key] = writes.resume_run(
                db, key, host=batch["host"], pid=batch["pid"], now=batch["created_at"]
            )
            config = json.loads(existing["config"])
            if batch["config"]:
                config.update(batch["config"])
                writes.set_config(db, key, config)
            return {**_identity(existing["id"], existing["name"], next_step, True, config), "applied": True}
        if name is None:
            name = new_run_name(db.execute("SELECT count(*) FROM runs").fetchone()[0])
        record = RunRecord(
            batch["run_id"], name, batch["group"], batch["config"], batch["created_at"], batch["host"], batch["pid"]
        )
        writes.create_run(db, record)
        return {**_identity(batch["run_id"], name, 0, False, batch["config"]), "applied": True}


def _identity(run_id: str, name: str, next_step: int, resumed: bool, config: dict) -> dict:
    return {"id": run_id, "name": name, "next_step": next_step, "resumed": resumed, "config": config}


class Stores:
    """The ProjectStore of each project the server has written, opened on first use."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._stores: dict[str, ProjectStore] = {}
        self._lock = threading.Lock()

    def get(self, project: str) -> ProjectStore:
        store = self._stores.get(project)
        if store is None:
            with self._lock:
                store = self._stores.get(project)
                if store is None:
                    store = self._stores[project] = ProjectStore(self.root, project)
        return store

    def existing(self, project: str) -> ProjectStore:
        """The store of a project that already has a database (LookupError otherwise)."""
        if project not in self._stores and not project_path(project, self.root).exists():
            raise UnknownRun(f"no project named {project!r} on this server")
        return self.get(project)

    def close(self) -> None:
        for store in self._stores.values():
            store.close()
        self._stores.clear()


# -- validation: every field a batch may carry, with errors that name it ----------------------


def _need(cond: bool, message: str) -> None:
    if not cond:
        raise ValueError(message)


def _is_int(value: object) -> bool:
    return type(value) is int


def _is_number(value: object) -> bool:
    return type(value) in (int, float)


def _opt_str(batch: dict, field: str) -> None:
    _need(batch.get(field) is None or isinstance(batch[field], str), f"{field!r} must be a string or null")


def check_batch(batch: object) -> dict:
    """Check a batch's shape; ValueError names the first bad field."""
    _need(isinstance(batch, dict), "a batch must be a JSON object")
    kind = batch.get("kind")
    _need(kind in KINDS, f"'kind' must be one of {', '.join(KINDS)}, got {kind!r}")
    for field in ("id", "project", "run_id"):
        value = batch.get(field)
        _need(isinstance(value, str) and 0 < len(value) <= MAX_ID_LENGTH, f"{field!r} must be a non-empty string")
    validate_project(batch["project"])
    if kind == "open":
        _check_open(batch)
    elif kind == "write":
        _check_write(batch)
    else:
        _need(batch.get("status") in STATUSES, f"'status' must be one of {', '.join(STATUSES)}")
        finished = batch.get("finished_at")
        _need(finished is None or _is_number(finished), "'finished_at' must be a number or null")
    return batch


def _check_open(batch: dict) -> None:
    _opt_str(batch, "name")
    _opt_str(batch, "group")
    _opt_str(batch, "host")
    _need(batch.get("name") is None or bool(batch["name"].strip()), "'name' must not be empty")
    _need(batch.get("resume") in RESUME_MODES, f"'resume' must be one of {', '.join(RESUME_MODES)}")
    _need(batch["resume"] == "never" or batch.get("name") is not None, "resuming needs a run 'name'")
    _need(isinstance(batch.get("config"), dict), "'config' must be a JSON object")
    _need(batch.get("pid") is None or _is_int(batch["pid"]), "'pid' must be an integer or null")
    _need(_is_number(batch.get("created_at")), "'created_at' must be a number")
    batch.setdefault("group", None)
    batch.setdefault("host", None)
    batch.setdefault("pid", None)


def _check_write(batch: dict) -> None:
    alerts = batch.setdefault("alerts", [])
    config = batch.setdefault("config", None)
    batch["logs"] = decode_logs(batch.get("logs", []))
    _need(isinstance(alerts, list), "'alerts' must be a list")
    _need(config is None or isinstance(config, dict), "'config' must be a JSON object or null")
    batch["alerts"] = [_alert(i, a) for i, a in enumerate(alerts)]


def _alert(i: int, raw: object) -> AlertRecord:
    _need(isinstance(raw, dict), f"alerts[{i}] must be a JSON object")
    ts, step, level, title = raw.get("timestamp"), raw.get("step"), raw.get("level"), raw.get("title")
    text, data = raw.get("text"), raw.get("data")
    _need(_is_number(ts) and math.isfinite(ts), f"alerts[{i}].timestamp must be a number")
    _need(step is None or (_is_int(step) and step >= 0), f"alerts[{i}].step must be an integer >= 0 or null")
    _need(level in LEVELS, f"alerts[{i}].level must be one of {', '.join(LEVELS)}")
    _need(isinstance(title, str) and bool(title.strip()), f"alerts[{i}].title must be a non-empty string")
    _need(text is None or isinstance(text, str), f"alerts[{i}].text must be a string or null")
    if data is not None:
        _need(isinstance(data, str), f"alerts[{i}].data must be JSON text or null")
        try:
            json.loads(data)
        except ValueError:
            raise ValueError(f"alerts[{i}].data is not valid JSON text") from None
    return AlertRecord(float(ts), step, level, title, text, data)
