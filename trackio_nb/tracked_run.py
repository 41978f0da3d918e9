"""A run: `log`, `alert`, `watch`, `should_stop`, `finish`, and its status lifecycle.

`log()` validates and queues; the Writer stores. Status is `running` from the moment the
Run exists, `finished` after `finish()`, `failed` after `finish("failed")` or a failure
path (`fail_fast`), which writes the status first and durably, then flushes the queue
under a short deadline, printing only to stderr.
"""

from __future__ import annotations

import math
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping

from . import validation as _validation
from .alerts import announce, make_alert
from .backend import Backend, RunIdentity
from .enums import END_STATUSES, LEVEL_ORDER, AlertLevel, AlertReason, RunStatus
from .errors import InvalidValue
from .run_config import Config
from .writer import ConfigUpdate, Writer

_MAX_STEP = _validation.MAX_STEP
# finish() returns within FINISH_BUDGET_S whatever the writer's state: the writer gets
# FINISH_TIMEOUT_S to store what is queued, the status write and the backend's close share the rest.
FINISH_BUDGET_S = 4.5
FINISH_TIMEOUT_S = 3.0
FAIL_FLUSH_DEADLINE_S = 2.0
_RUNNING = RunStatus.RUNNING.value  # a plain str: log() compares it on every call (an enum member costs ~0.2 us)


class Run:
    """One tracked run. Made by `trackio_nb.init()`; also a context manager."""

    def __init__(self, project: str, backend: Backend, identity: RunIdentity, *, group: str | None) -> None:
        self.project = project
        self.id = identity.id
        self.name = identity.name
        self.group = group
        self.resumed = identity.resumed
        self.status = RunStatus.RUNNING.value
        self.pid = os.getpid()
        self.config = Config(identity.config, self._config_changed)
        self._backend = backend
        self._next_step = identity.next_step
        self._last_step: int | None = identity.next_step - 1 if identity.next_step else None
        self._known_keys: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._watchers = None
        self._webhook: tuple[str, int] | None = None  # (url, lowest level rank sent), set by init()
        # See subscribe(). log() calls the due listeners when its time leaves [_due_from, _due_to).
        self._row_listeners: list[Callable[[list[tuple]], None]] = []
        self._due_listeners: dict[Callable[[float], tuple[float, float]], tuple[float, float]] = {}
        self._due_from, self._due_to = -math.inf, math.inf
        self._end_listeners: list[Callable[[Run], None]] = []
        self._end_lock = threading.Lock()
        self.stop_requested = False  # True once a stop request from outside arrived
        # Set by compat and the framework integrations: a clean interpreter exit finishes this run
        # (`finished`, as trackio does) instead of failing it. Exceptions and SIGTERM still fail it.
        self.finish_at_exit = False
        self._writer = Writer(
            backend,
            self._on_stop_request,
            label=self.id,
            on_loss=self._on_loss,
            is_loss_alert=_is_loss_alert,
            on_stored=self._rows_stored,
        )
        if hasattr(backend, "on_loss"):  # a remote backend reports batches the server refused (HTTP 4xx)
            backend.on_loss = self._writer.report_loss

    # -- writing ---------------------------------------------------------------------------

    def log(self, metrics: Mapping[str, object], step: int | None = None) -> None:
        """Queue one step of metrics (floats, ints, NumPy/0-d tensor scalars, or JSON-able values)."""
        if self.status != _RUNNING:
            raise RuntimeError(f"run {self.name!r} is {self.status}; call trackio_nb.init() to start a new run")
        numbers, texts = _validation.split(metrics, self._known_keys)
        if step is not None and (type(step) is not int or step < 0 or step > _MAX_STEP):
            step = _validation.check_step(step)
        lock = self._lock  # acquire/release: a third of `with lock:` on CPython 3.11
        lock.acquire()
        if step is None:
            step = self._next_step
            if step > _MAX_STEP:
                lock.release()
                raise _validation.automatic_step_overflow(step)
        if step >= self._next_step:
            self._next_step = step + 1
        self._last_step = step
        lock.release()
        now = time.time()
        self._writer.queue.append((step, now, numbers, texts))
        watchers = self._watchers
        if watchers is not None and numbers:
            try:
                fired_alerts = watchers.check(numbers, step)
            except watchers.CustomRuleError as exc:  # fn failed: keep the built-in rules' alerts, raise its error
                self._raise_watcher_alerts(exc.fired, step)
                raise exc.error from None
            if fired_alerts:
                self._raise_watcher_alerts(fired_alerts, step)
        if not self._due_from <= now < self._due_to:
            self._call_due(now)

    def subscribe(
        self,
        on_rows: Callable[[list[tuple]], None] | None = None,
        on_end: Callable[[Run], None] | None = None,
        on_due: Callable[[float], tuple[float, float]] | None = None,
    ) -> Callable[[], None]:
        """Follow the run; returns a function that unsubscribes.

        - `on_rows(entries)`: on the writer thread, after each batch is stored, with its
          `(step, timestamp, numbers, texts)` log entries (refused rows left out).
        - `on_due(now) -> (from, to)`: inside log(), on the caller's thread, at the first call and
          whenever log()'s timestamp falls outside the window it returned last (one comparison per
          log(): how a live view throttles its updates without a clock or a thread of its own).
        - `on_end(run)`: after finish().
        """
        if on_rows is not None:
            self._row_listeners.append(on_rows)
        if on_end is not None:
            self._end_listeners.append(on_end)
        if on_due is not None:
            self._due_listeners[on_due] = (0.0, 0.0)  # due at the next log()
            self._due_window()

        def unsubscribe() -> None:
            if on_rows is not None and on_rows in self._row_listeners:
                self._row_listeners.remove(on_rows)
            if on_end is not None and on_end in self._end_listeners:
                self._end_listeners.remove(on_end)
            if on_due is not None and self._due_listeners.pop(on_due, None) is not None:
                self._due_window()

        return unsubscribe

    def due_soon(self, on_due: Callable[[float], tuple[float, float]]) -> None:
        """Have the next log() call `on_due` whatever its window (any thread: e.g. a row listener's)."""
        if on_due in self._due_listeners:
            self._due_listeners[on_due] = (0.0, 0.0)
            self._due_from = self._due_to = 0.0

    def _call_due(self, now: float) -> None:
        for listener, (start, end) in list(self._due_listeners.items()):
            if not start <= now < end and listener in self._due_listeners:
                self._due_listeners[listener] = listener(now)
        self._due_window()

    def _due_window(self) -> None:
        windows = list(self._due_listeners.values())
        self._due_from = max((w[0] for w in windows), default=-math.inf)
        self._due_to = min((w[1] for w in windows), default=math.inf)

    def _rows_stored(self, entries: list[tuple]) -> None:
        """The writer stored these log entries: tell the row listeners (a failing one is dropped, said once)."""
        for listener in list(self._row_listeners):
            try:
                listener(entries)
            except Exception as exc:  # noqa: BLE001 - a live view's failure never stops the writer; it is said
                if listener in self._row_listeners:
                    self._row_listeners.remove(listener)
                _say(f"trackio_nb: run {self.name!r}: a live view stopped following it ({type(exc).__name__}: {exc})")

    @property
    def location(self) -> tuple[str, str] | None:
        """Where the run's data goes: ("local", data directory) or ("remote", server URL)."""
        return self._backend.location

    def _raise_watcher_alerts(self, fired_alerts, step: int) -> None:
        for fired in fired_alerts:
            self._raise_alert(
                fired.get("title"), fired.get("text"), fired.get("level", AlertLevel.WARN), fired.get("data"), step
            )
            if fired.get("stop"):
                self._stop.set()

    def alert(
        self,
        title: str,
        text: str | None = None,
        level: AlertLevel | str = AlertLevel.WARN,
        data: dict | None = None,
        *,
        webhook_url: str | None = None,
    ) -> None:
        """Store an alert (with its JSON `data`) at the current step and print it on stderr.

        `webhook_url` sends this alert there (whatever its level) instead of the run's webhook.
        """
        if self.status != RunStatus.RUNNING:
            raise RuntimeError(f"run {self.name!r} is {self.status}; its alerts can no longer be stored")
        if webhook_url is not None:
            from .webhooks import check_url

            check_url(webhook_url)
        self._raise_alert(title, text, level, data, self._last_step, webhook_url)

    def _raise_alert(self, title, text, level, data, step, webhook_url: str | None = None) -> None:
        record = make_alert(title, text, level, data, step)
        self._writer.put(record)
        announce(self.name, record)
        if webhook_url is None and self._webhook is not None and LEVEL_ORDER[record.level] >= self._webhook[1]:
            webhook_url = self._webhook[0]
        if webhook_url is not None:
            from .webhooks import notify

            notify(webhook_url, record, self.project, self.name)

    def watch(self, metric: str, **rules: object) -> None:
        """Register a watcher on `metric` (see `trackio_nb.watch`); rules are validated first."""
        from .watchers import WatcherSet

        if self.status != RunStatus.RUNNING:
            raise RuntimeError(f"run {self.name!r} is {self.status}; call trackio_nb.init() to start a new run")
        with self._lock:
            if self._watchers is None:
                candidate = WatcherSet()
                candidate.add(metric, **rules)
                self._watchers = candidate
            else:
                self._watchers.add(metric, **rules)

    def _on_stop_request(self) -> None:
        self.stop_requested = True
        self._stop.set()

    def should_stop(self) -> bool:
        """True once a stopping watcher fired or a stop request arrived."""
        return self._stop.is_set()

    def _config_changed(self, config: dict) -> None:
        # Called by Config before a change takes effect: an ended run refuses it, so nothing is lost silently.
        if self.status != "running":
            raise RuntimeError(f"run {self.name!r} is {self.status}; its config can no longer be changed")
        self._writer.put(ConfigUpdate(config))

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything logged so far is stored (readers then see it)."""
        return self._writer.flush(timeout)

    # -- ending ----------------------------------------------------------------------------

    def finish(self, status: str = "finished") -> None:
        """Store everything queued, then mark the run `finished` (or `failed`).

        Returns within FINISH_BUDGET_S whatever the writer's state. A run that lost anything
        (rows refused by storage, or still queued at the deadline) is recorded `failed`.
        """
        if status not in END_STATUSES:
            raise InvalidValue(f"status must be 'finished' or 'failed', got {status!r}")
        with self._end_lock:
            if self.status != RunStatus.RUNNING:
                return
            start = time.monotonic()
            if status == RunStatus.FAILED:
                self._fail_locked(FINISH_TIMEOUT_S, start)
            else:
                self.status = status
                self._backend.closing()
                left = self._writer.close(FINISH_TIMEOUT_S)
                self._report_left(left)
                if left or self._writer.lost_rows:
                    self.status = "failed"
                    _say(
                        f"trackio_nb: run {self.name!r} is recorded as failed, not finished:"
                        f" {self._writer.lost_rows + left} row(s) were not stored (see above)"
                    )
                self._record_status(self.status)
                self._release(start)
        for listener in self._end_listeners:
            listener(self)

    def fail_fast(self) -> None:
        """The failure path (exception, SIGTERM, exit without finish): status first, 2 s flush."""
        with self._end_lock:
            if self.status == RunStatus.RUNNING:
                self._fail_locked(FAIL_FLUSH_DEADLINE_S, time.monotonic())

    def _fail_locked(self, deadline: float, start: float) -> None:
        self.status = RunStatus.FAILED.value
        self._record_status("failed")  # before the flush: durable even if the flush never ends
        self._backend.closing()
        left = self._writer.close(deadline)
        self._report_left(left)
        self._release(start)

    def _record_status(self, status: str) -> None:
        try:
            self._backend.set_status(status, time.time(), durable=True)
        except Exception as exc:  # noqa: BLE001  (the run is ending: say it, never hang or raise here)
            _say(f"trackio_nb: run {self.name!r}: could not record status {status!r} ({type(exc).__name__}: {exc})")

    def _on_loss(self, loss) -> None:
        """Rows were refused for good (writer thread): an ERROR alert, unless only such alerts were refused."""
        if loss.only_loss_alerts:
            return  # the DATA_LOSS alert itself could not be stored: the writer said so on stderr
        data = {
            "reason": AlertReason.DATA_LOSS.value,
            "rows": loss.total,
            "logs": loss.logs,
            "alerts": loss.alerts,
            "media": loss.media,
            "config": loss.config,
            "first_error": loss.first_error,
            "kept_in": loss.kept_in,
        }
        title = f"data loss: {loss.total} row(s) could not be stored"
        self._raise_alert(title, f"{loss.first_error}; kept in {loss.kept_in}", AlertLevel.ERROR, data, self._last_step)

    def _report_left(self, left: int) -> None:
        if left:
            print(
                f"trackio_nb: run {self.name!r}: {left} queued item(s) could not be stored in time; "
                + self._backend.describe_pending(),
                file=sys.stderr,
            )

    def _release(self, start: float) -> None:
        if not self._writer.alive:
            self._backend.close(deadline=start + FINISH_BUDGET_S)

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.finish()
        else:
            self.fail_fast()

    def __repr__(self) -> str:
        return f"<trackio_nb.Run project={self.project!r} name={self.name!r} id={self.id!r} status={self.status!r}>"


def _is_loss_alert(alert) -> bool:
    return alert.data is not None and f'"reason": "{AlertReason.DATA_LOSS.value}"' in alert.data


def _say(message: str) -> None:
    stream = sys.stderr
    if stream is not None:
        print(message, file=stream, flush=True)
