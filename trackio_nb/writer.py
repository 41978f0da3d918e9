"""The background writer: drains what `log()` queued and stores it in batches.

`log()` appends a tuple to a deque (thread-safe, no lock) and returns; this thread wakes
every FLUSH_INTERVAL_S, writes everything queued in one batch, refreshes the heartbeat and
polls for stop requests. A batch that fails to store is kept and retried, and the failure
is reported once on stderr: nothing is dropped silently.
"""

from __future__ import annotations

import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable

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


class Writer:
    def __init__(self, backend: Backend, on_stop_request: Callable[[], None], *, label: str) -> None:
        self.backend = backend
        self.queue: deque = deque()
        self._on_stop_request = on_stop_request
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._logs: list[LogEntry] = []
        self._alerts: list[AlertRecord] = []
        self._media: list[MediaRecord] = []
        self._config: dict | None = None
        self._barriers: list[_Barrier] = []
        self._reported_error = False
        self._thread = threading.Thread(target=self._loop, name=f"trackio_nb-writer-{label}", daemon=True)
        self._thread.start()

    def put(self, item: object) -> None:
        self.queue.append(item)

    def flush(self, timeout: float | None = None) -> bool:
        """Block until everything queued so far is stored; False on timeout."""
        barrier = _Barrier()
        self.queue.append(barrier)
        self._wake.set()
        return barrier.done.wait(timeout)

    def close(self, timeout: float | None) -> int:
        """Store what is queued, stop the thread; returns how many items could not be stored."""
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
                if stored:
                    return
                time.sleep(FLUSH_INTERVAL_S)  # storing failed: retry until close()'s deadline

    def _store(self) -> bool:
        """Move the queue into the pending batch and store it; True when nothing is left."""
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
            ok = self._guard(self.backend.write, self._logs, self._alerts, self._config, self._media, ok=True)
            if not ok:
                return False
            self._logs, self._alerts, self._media, self._config = [], [], [], None
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

    def _guard(self, fn: Callable, *args, ok: object = None) -> object:
        # The writer must outlive any storage or network error: keep the data, report once.
        try:
            result = fn(*args)
        except Exception as exc:  # noqa: BLE001  (reported below, data kept for retry)
            if not self._reported_error:
                self._reported_error = True
                print(
                    f"trackio_nb: the background writer could not store data ({type(exc).__name__}: {exc}); "
                    "it keeps the data and retries",
                    file=sys.stderr,
                )
                traceback.print_exc(file=sys.stderr)
            return False if ok is not None else None
        return ok if ok is not None else result
