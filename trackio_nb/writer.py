"""The background writer: drains what `log()` queued and stores it in batches.

`log()` appends a tuple to a deque (thread-safe, no lock) and returns; this thread wakes
every FLUSH_INTERVAL_S, writes everything queued in one batch, refreshes the heartbeat and
polls for stop requests.

A batch that fails never blocks the ones after it. A transient failure (the database is
locked or busy) keeps the batch for the next tick. Any other failure splits the batch in
halves, again and again, so every row the database accepts is stored; the rows it still
refuses one by one are handed to the backend to keep (`rejected.jsonl`) and to the run
(`on_loss`: a DATA_LOSS alert, status `failed` at the end). Each failure episode is
reported on stderr once; a failure after a recovery is a new episode, reported again.
"""

from __future__ import annotations

import sqlite3
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from .backend import Backend
from .storage.records import AlertRecord, LogEntry, MediaRecord
from .storage.status import HEARTBEAT_INTERVAL_S

FLUSH_INTERVAL_S = 0.1
STOP_POLL_INTERVAL_S = 0.5


class ConfigUpdate:
    """A queued replacement of the run's whole config."""

    __slots__ = ("config",)

    def __init__(self, config: dict) -> None:
        self.config = config


class _Barrier:
    """Queued by `flush()`; set once everything queued before it is stored."""

    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = threading.Event()


@dataclass
class Loss:
    """Rows the database refused in one failure episode (what the DATA_LOSS alert reports)."""

    logs: int = 0
    alerts: int = 0
    media: int = 0
    config: int = 0
    first_error: str = ""
    kept_in: str = ""
    only_loss_alerts: bool = True  # every refused row was itself a DATA_LOSS alert
    rows: list = field(default_factory=list, repr=False)

    @property
    def total(self) -> int:
        return self.logs + self.alerts + self.media + self.config


def is_transient(exc: BaseException) -> bool:
    """A failure that waiting cures (another process holds the database lock)."""
    if isinstance(exc, sqlite3.OperationalError):
        text = str(exc).lower()
        return "locked" in text or "busy" in text
    return False


def _describe(exc: BaseException) -> str:
    # Storable as alert text whatever the error holds (a refused key may hold a lone surrogate).
    return f"{type(exc).__name__}: {exc}".encode("utf-8", "backslashreplace").decode("utf-8")


class Writer:
    def __init__(
        self,
        backend: Backend,
        on_stop_request: Callable[[], None],
        *,
        label: str,
        on_loss: Callable[[Loss], None] | None = None,
        is_loss_alert: Callable[[AlertRecord], bool] = lambda alert: False,
        on_stored: Callable[[list[LogEntry]], None] | None = None,
    ) -> None:
        self.backend = backend
        self._on_stored = on_stored
        self.queue: deque = deque()
        self._on_stop_request = on_stop_request
        self._on_loss = on_loss
        self._is_loss_alert = is_loss_alert
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._logs: list[LogEntry] = []
        self._alerts: list[AlertRecord] = []
        self._media: list[MediaRecord] = []
        self._config: dict | None = None
        self._barriers: list[_Barrier] = []
        self._failing = False  # inside a failure episode (reported once until a batch stores again)
        self._losing = False  # a DATA_LOSS alert was raised for the current episode
        self.lost_rows = 0  # rows refused by storage over the run's life
        self._thread = threading.Thread(target=self._loop, name=f"trackio_nb-writer-{label}", daemon=True)
        self._thread.start()

    def put(self, item: object) -> None:
        self.queue.append(item)

    def flush(self, timeout: float | None = None) -> bool:
        """Block until everything queued so far is stored (or refused and kept aside); False on timeout."""
        barrier = _Barrier()
        self.queue.append(barrier)
        self._wake.set()
        return barrier.done.wait(timeout)

    def close(self, timeout: float | None) -> int:
        """Store what is queued, stop the thread; returns how many items could not be stored in time."""
        self._closing.set()
        self._wake.set()
        self._thread.join(timeout)
        return self.pending()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def pending(self) -> int:
        return len(self.queue) + len(self._logs) + len(self._alerts) + len(self._media) + (self._config is not None)

    def _loop(self) -> None:
        next_heartbeat = 0.0
        next_poll = 0.0
        while True:
            closing = self._closing.is_set()
            if not closing:
                self._wake.wait(FLUSH_INTERVAL_S)
                self._wake.clear()
            stored = self._store()
            now = time.monotonic()
            if not closing and now >= next_heartbeat:
                next_heartbeat = now + HEARTBEAT_INTERVAL_S
                self._guard(self.backend.heartbeat, time.time())
            if not closing and now >= next_poll:
                next_poll = now + STOP_POLL_INTERVAL_S
                if self._guard(self.backend.stop_requested):
                    self._on_stop_request()
            if closing:
                if stored and not self.queue:
                    return
                if not stored:
                    time.sleep(FLUSH_INTERVAL_S)  # the database is locked: retry until close()'s deadline

    def _store(self) -> bool:
        """Move the queue into the pending batch and store it; False when a transient failure keeps it."""
        queue = self.queue
        while queue:
            item = queue.popleft()
            if type(item) is tuple:
                if item[3] is not None:
                    item = self._take_media(item)
                self._logs.append(item)
            elif type(item) is AlertRecord:
                self._alerts.append(item)
            elif type(item) is MediaRecord:
                self._media.append(item)
            elif type(item) is ConfigUpdate:
                self._config = item.config
            else:
                self._barriers.append(item)
        if self._logs or self._alerts or self._media or self._config is not None:
            stored = self._logs
            try:
                self.backend.write(self._logs, self._alerts, self._config, self._media)
            except Exception as exc:  # noqa: BLE001  (transient: kept; otherwise split, refused rows kept aside)
                if is_transient(exc):
                    self._report(exc, "it keeps the data and retries")
                    return False
                self._report(exc, "it stores every row it can and keeps the rest aside")
                refused = self._isolate(exc)
                stored = [e for e in self._logs if id(e) not in refused]
            else:
                self._failing = self._losing = False
            self._logs, self._alerts, self._media, self._config = [], [], [], None
            if stored and self._on_stored is not None:
                self._on_stored(stored)  # before the barriers: a flush() returns with the listeners told
        for barrier in self._barriers:
            barrier.done.set()
        self._barriers.clear()
        return True

    def _take_media(self, entry: tuple) -> tuple:
        """Move the media of a logged step (record makers among its texts) into the batch's media."""
        step, timestamp, numbers, texts = entry
        if all(type(v) is str for v in texts.values()):
            return entry
        plain = {}
        for key, value in texts.items():
            if type(value) is str:
                plain[key] = value
            else:
                self._media.append(value(step, timestamp))
        return (step, timestamp, numbers, plain or None)

    # -- a batch that failed: store what can be stored, keep the rest --------------------------

    def _isolate(self, first: Exception) -> set[int]:
        """Store the batch in parts; returns the id() of each log entry refused."""
        loss = Loss(first_error=_describe(first))
        if self._config is not None:
            try:
                self.backend.write([], [], self._config, [])
            except Exception as exc:  # noqa: BLE001  (kept aside below)
                self._refuse(loss, ("config", self._config), exc)
        rows = [("log", e) for e in self._logs] + [("alert", a) for a in self._alerts]
        rows += [("media", m) for m in self._media]
        self._bisect(rows, loss)
        refused = {id(record) for kind, record, _ in loss.rows if kind == "log"}
        if not loss.total:
            return refused  # the batch went through in parts (e.g. a transient failure cleared)
        self.lost_rows += loss.total
        try:
            loss.kept_in = self.backend.keep_rejected(loss.rows, loss.first_error)
        except Exception as exc:  # noqa: BLE001  (said on stderr: the rows are lost, the run is failed)
            loss.kept_in = f"nowhere ({_describe(exc)})"
        _say(f"trackio_nb: {loss.total} row(s) could not be stored ({loss.first_error}); kept in {loss.kept_in}")
        if self._on_loss is not None and not self._losing:
            self._losing = True
            self._on_loss(loss)
        return refused

    def report_loss(self, loss: Loss) -> None:
        """Rows refused elsewhere (a server's 4xx for a batch, already kept aside by the backend)."""
        self.lost_rows += loss.total
        if self._on_loss is not None and not self._losing:
            self._losing = True
            self._on_loss(loss)

    def _bisect(self, rows: list, loss: Loss) -> None:
        if not rows:
            return
        try:
            self.backend.write(
                [r for k, r in rows if k == "log"],
                [r for k, r in rows if k == "alert"],
                None,
                [r for k, r in rows if k == "media"],
            )
            return
        except Exception as exc:  # noqa: BLE001  (split further; a single refused row is kept aside)
            if len(rows) == 1:
                self._refuse(loss, rows[0], exc)
                return
        half = len(rows) // 2
        self._bisect(rows[:half], loss)
        self._bisect(rows[half:], loss)

    def _refuse(self, loss: Loss, row: tuple, exc: Exception) -> None:
        kind, record = row
        if not loss.rows:
            loss.first_error = _describe(exc)
        loss.rows.append((kind, record, _describe(exc)))
        setattr(loss, _field(kind), getattr(loss, _field(kind)) + 1)
        if not (kind == "alert" and self._is_loss_alert(record)):
            loss.only_loss_alerts = False

    def _report(self, exc: Exception, consequence: str) -> None:
        if self._failing:
            return
        self._failing = True
        _say(f"trackio_nb: the background writer could not store a batch ({_describe(exc)}); {consequence}")

    def _guard(self, fn: Callable, *args) -> object:
        # Heartbeats and stop polls: a failure only waits for the next tick.
        try:
            return fn(*args)
        except Exception as exc:  # noqa: BLE001  (reported once per episode)
            self._report(exc, "it keeps running")
            return None


def _field(kind: str) -> str:
    return {"log": "logs", "alert": "alerts", "media": "media", "config": "config"}[kind]


def _say(message: str) -> None:
    stream = sys.stderr
    if stream is not None:
        print(message, file=stream, flush=True)
