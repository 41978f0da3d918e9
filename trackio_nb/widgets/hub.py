"""The live hub: feeds every widget of this kernel from `log()` and from tailing storage.

- Runs started in this kernel are tapped through `Run.subscribe`: a tap appends
  step, timestamp and numbers to its run's list (the cheapest thing log() can do) and,
  when the throttle interval has passed and it is on the main thread, runs a tick. Every
  FOLD_S in between, the lists are folded into float64 columns per metric (three arrays a
  metric, however many steps): the numbers dicts are freed before they can make the
  garbage collector run more often than without widgets, and a tick's cost stays bounded
  however many steps were logged since the last. Both deadlines are one wall-clock window
  the tap compares log()'s own timestamp with (no clock call per step). So updates are throttled inside
  `log()` (the kernel's event loop is blocked while a cell runs) and never sent from a
  thread (Colab drops those).
- A tick drains the taps, then lets each widget read what storage holds after its own
  cursors (other processes, servers, alerts, statuses) and send one message at most.
  Ticks are spaced so that all widgets together send at most MAX_MESSAGES_PER_S.
- While the kernel is idle, ticks run every IDLE_POLL_S on its asyncio loop; a final
  tick with a full state sync runs at `finish()` and after each cell.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
import warnings
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import chain, repeat
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from .. import session
from ..enums import RunStatus
from .feed import ProjectFeed

if TYPE_CHECKING:
    from ..readers import Reader
    from ..tracked_run import Run

MAX_MESSAGES_PER_S = 5.0
IDLE_POLL_S = 1.0
FULL_SYNC_S = 20.0  # periodic full state sync while a cell runs...
FULL_SYNC_COST_RATIO = 100.0  # ...but spaced so that it takes at most 1% of the loop's time
TICK_COST_RATIO = 100.0  # a tick that took t seconds is followed by the next after at least 100 t (1%)
FLUSH_TIMEOUT_S = 5.0  # a new widget waits this long for a kernel run's queue to be stored
FINAL_FLUSH_TIMEOUT_S = 1.0  # after each cell: short, so a slow server never holds the kernel
ERROR_BACKOFF_S = 10.0  # a widget whose source failed is retried this much later
FOLD_S = 0.01  # tapped steps are folded into columns this often (at 50,000 steps/s, fewer than a GC generation holds)

Source = tuple[str, str]  # ("local", data directory) or ("remote", server URL)
Columns = tuple[array, array, array]  # float64 steps, timestamps (epoch s) and values of one metric
Batch = dict[str, dict[str, Columns]]  # run id -> metric -> what this kernel logged since the last tick


class Subscriber(Protocol):
    project: str
    source: Source
    _feed: ProjectFeed

    def _update(self, batch: Batch, *, full: bool, initial: bool) -> None: ...


@dataclass
class LiveRun:
    """What the hub knows, from memory, about a run logging in this kernel."""

    run: Run
    project: str
    source: Source | None
    last_step: int | None = None
    last_timestamp: float | None = None
    last_values: dict[str, float] = field(default_factory=dict)
    unsubscribe: Callable[[], None] | None = None
    taken_step: int | None = None  # last_step at the last take
    tape: list = field(default_factory=list)  # step, timestamp, numbers, step, ... tapped since the last fold
    columns: dict[str, Columns] = field(default_factory=dict)  # folded, not yet taken by a tick
    lock: threading.Lock = field(default_factory=threading.Lock)  # folds may run on a thread that logs

    def fold(self) -> None:
        """Move the tape's steps into `columns` (a log() on another thread may append meanwhile: it stays)."""
        with self.lock:
            tape = self.tape
            n = len(tape)
            n -= n % 3  # (each tap extends by one whole step at once)
            if not n:
                return
            entries = tape[:n]
            del tape[:n]
            columns = self.columns
            for name, (steps, stamps, values) in per_metric(entries).items():
                got = columns.get(name)
                if got is None:
                    columns[name] = (array("d", steps), array("d", stamps), values)
                else:
                    got[0].extend(steps)
                    got[1].extend(stamps)
                    got[2].extend(values)
            self.last_step, self.last_timestamp = entries[-3], entries[-2]

    def take(self) -> dict[str, Columns] | None:
        """What was logged since the last take, per metric (None: no log() call)."""
        self.fold()
        with self.lock:
            if self.last_step == self.taken_step and not self.columns:
                return None
            columns, self.columns, self.taken_step = self.columns, {}, self.last_step
        for name, (_, _, values) in columns.items():
            self.last_values[name] = values[-1]
        return columns


def local_source(root: str | Path | None) -> Source:
    from ..storage import data_dir

    return ("local", str(data_dir(root).resolve()))


def source_for(server_url: str | None, root: str | Path | None) -> Source:
    """The source key a widget reads from (TRACKIO_NB_SERVER when no URL is given)."""
    import os

    url = server_url or os.environ.get("TRACKIO_NB_SERVER") or None
    return ("remote", url.rstrip("/")) if url else local_source(root)


class Hub:
    """One per kernel (module-level `HUB`)."""

    def __init__(self) -> None:
        self.subscribers: list[Subscriber] = []
        self.live: dict[str, LiveRun] = {}
        self._readers: dict[Source, Reader] = {}
        self._due = 0.0
        self._wall_from = self._wall_due = 0.0  # the taps' window: the next fold or tick, on the wall clock
        self._wall_tick = 0.0  # the tick deadline on the wall clock
        self._last_full = time.monotonic()
        self._full_every = FULL_SYNC_S
        self._idle_handle: asyncio.TimerHandle | None = None
        self._cell_hook = False
        self._ticking = False
        self._retry_at: dict[int, float] = {}
        self.feeds: dict[tuple[Source, str], ProjectFeed] = {}

    # -- sources -------------------------------------------------------------------------

    def reader(self, source: Source, token: str | None = None) -> Reader:
        reader = self._readers.get(source)
        if reader is None:
            from ..readers import reader_for

            kind, where = source
            reader = reader_for(server_url=where, token=token) if kind == "remote" else reader_for(root=where)
            self._readers[source] = reader
        return reader

    def feed(self, widget: Subscriber) -> ProjectFeed:
        """The shared feed of a widget's project (made and first polled on first use)."""
        key = (getattr(widget, "source", None), getattr(widget, "project", None))  # (None: its __init__ failed)
        feed = self.feeds.get(key)
        if feed is None:
            feed = self.feeds[key] = ProjectFeed(self.reader(widget.source), widget.project)
            feed.poll(self.live_ids(widget.project, widget.source))
        return feed

    def _poll_feeds(self) -> None:
        """One read per project per tick, however many widgets show it."""
        now = time.monotonic()
        for (source, project), feed in self.feeds.items():
            if feed.retry_at > now:
                feed.clear()
                continue
            try:
                feed.poll(self.live_ids(project, source))
            except Exception as exc:  # noqa: BLE001 - a source that fails is shown in its widgets, never stops training
                feed.failure, feed.retry_at = exc, now + ERROR_BACKOFF_S
            else:
                feed.failure = None

    # -- runs of this kernel -------------------------------------------------------------

    def listen(self, run: Run) -> None:
        """Tap a run's log() (idempotent). Called for every run init() starts once widgets exist."""
        if run.id in self.live or run.status != RunStatus.RUNNING:
            return
        live = self.live[run.id] = LiveRun(run, run.project, run.location)

        # log() passes its time.time(): the throttle compares that with a wall-clock window
        # (no clock call here; a clock set back leaves the window and ticks at once).
        def tap(
            step: int,
            timestamp: float,
            numbers: dict,
            _extend=live.tape.extend,
            _hub=self,
        ) -> None:
            _extend((step, timestamp, numbers))  # one call: atomic, whichever thread logs
            if not _hub._wall_from <= timestamp < _hub._wall_due:
                _hub._window(timestamp)

        live.unsubscribe = run.subscribe(tap, self._run_ended)

    def _on_new_run(self, run: Run) -> None:
        if self.subscribers:
            self.listen(run)

    def _forget(self, rid: str) -> None:
        live = self.live.pop(rid)
        if live.unsubscribe is not None:
            live.unsubscribe()

    def live_ids(self, project: str, source: Source) -> list[str]:
        return [rid for rid, lr in self.live.items() if lr.project == project and lr.source == source]

    def _run_ended(self, run: Run) -> None:
        if threading.current_thread() is threading.main_thread():
            self.tick(final=True)

    # -- subscribers ---------------------------------------------------------------------

    def attach(self, widget: Subscriber) -> None:
        """Load a widget's initial state and start feeding it."""
        current = session.current_run()
        if current is not None:
            self.listen(current)
        for rid in self.live_ids(widget.project, widget.source):
            live = self.live[rid]
            if live.run.status == RunStatus.RUNNING:
                live.run.flush(FLUSH_TIMEOUT_S)  # the initial read then holds all of it
        if self.subscribers:
            self.tick()  # everything buffered so far goes to the widgets that already exist
        widget._feed = self.feed(widget)  # type: ignore[attr-defined]
        widget._update([], full=True, initial=True)
        if not self.subscribers:
            self._last_full = time.monotonic()  # it just synced its full state: the periodic one counts from here
        self.subscribers.append(widget)
        self._install_kernel_hooks()

    def detach(self, widget: Subscriber) -> None:
        if widget in self.subscribers:
            self.subscribers.remove(widget)
        self._retry_at.pop(id(widget), None)  # a later widget may get the same id()
        key = (getattr(widget, "source", None), getattr(widget, "project", None))  # (None: its __init__ failed)
        feed = self.feeds.get(key)
        # Only the widget's own feed, and only if nobody uses it: a widget collected (ipywidgets
        # closes it in __del__) while another attaches must not take the new one's feed away.
        mine = feed is not None and feed is getattr(widget, "_feed", None)
        if mine and not any((w.source, w.project) == key for w in self.subscribers):
            del self.feeds[key]
        if not self.subscribers:  # nobody to feed: stop tapping log(), start afresh next time
            for rid in list(self.live):
                self._forget(rid)
            self._due = 0.0

    # -- ticks ---------------------------------------------------------------------------

    def interval(self) -> float:
        """Seconds between ticks so that all widgets send at most MAX_MESSAGES_PER_S together."""
        return max(1, len(self.subscribers)) / MAX_MESSAGES_PER_S

    def refresh(self) -> None:
        """A tick now if the throttle allows one (main thread only)."""
        if time.monotonic() >= self._due:
            self._throttled_tick()

    def _window(self, wall: float) -> None:
        """A tap's timestamp left the window: a tick if one is due (main thread), else fold the tapes."""
        if not self._wall_from <= wall < self._wall_tick and threading.current_thread() is threading.main_thread():
            self.tick()  # (a clock set back leaves the window too: it ticks at once)
            return
        for live in list(self.live.values()):
            live.fold()
        due = self._wall_tick if self._wall_from <= wall < self._wall_tick else wall + 1.0  # (another thread)
        self._wall_from, self._wall_due = wall - 1.0, min(due, wall + FOLD_S)

    def _throttled_tick(self) -> None:
        if threading.current_thread() is threading.main_thread():
            self.tick()

    def tick(self, *, final: bool = False) -> None:
        """Drain the taps and update every widget; `final` flushes runs and syncs full state."""
        if self._ticking:
            return
        self._ticking = True
        try:
            now = time.monotonic()
            self._due = now + self.interval()
            wall = time.time()
            self._wall_from, self._wall_tick = wall - 1.0, wall + self.interval()
            if final:
                for live in list(self.live.values()):
                    if live.run.status == RunStatus.RUNNING:
                        live.run.flush(FINAL_FLUSH_TIMEOUT_S)
            batch = self._drain()
            self._poll_feeds()
            full = final or now - self._last_full >= self._full_every
            if full:
                self._last_full = now
            for widget in list(self.subscribers):
                self._update_one(widget, batch, full)
            cost = time.monotonic() - now
            if full:
                self._full_every = max(FULL_SYNC_S, FULL_SYNC_COST_RATIO * cost)
            elif TICK_COST_RATIO * cost > self.interval():  # a big project: ticks stay under 1% of the loop
                spacing = TICK_COST_RATIO * cost
                self._due, self._wall_tick = now + spacing, wall + spacing
            self._wall_due = min(self._wall_tick, wall + FOLD_S)
            for rid in [rid for rid, lr in self.live.items() if lr.run.status != RunStatus.RUNNING]:
                self._forget(rid)  # an ended run logs no more; its rows were all read above
        finally:
            self._ticking = False

    def _drain(self) -> Batch:
        """Take what the taps collected since the last tick."""
        batch: Batch = {}
        for rid, live in list(self.live.items()):
            columns = live.take()
            if columns is not None:
                batch[rid] = columns
        return batch

    def _update_one(self, widget: Subscriber, batch: Batch, full: bool) -> None:
        now = time.monotonic()
        if self._retry_at.get(id(widget), 0.0) > now:
            return
        try:
            failure = widget._feed.failure
            if failure is not None:
                raise failure
            widget._update(batch, full=full, initial=False)
        except Exception as exc:  # noqa: BLE001 - a display problem must never stop training; it is shown and warned
            self._retry_at[id(widget)] = now + ERROR_BACKOFF_S
            message = f"{type(exc).__name__}: {exc}"
            if getattr(widget, "error", None) != message:
                widget.error = message  # type: ignore[attr-defined]
                warnings.warn(f"trackio_nb widget {widget!r} could not update: {message}", stacklevel=2)
        else:
            self._retry_at.pop(id(widget), None)

    # -- kernel integration --------------------------------------------------------------

    def _install_kernel_hooks(self) -> None:
        if not self._cell_hook:
            ipython = _ipython()
            if ipython is not None:
                ipython.events.register("post_run_cell", self._after_cell)
                self._cell_hook = True
        self._schedule_idle()

    def _after_cell(self, result: object = None) -> None:
        if self.subscribers:
            self.tick(final=True)

    def _schedule_idle(self) -> None:
        if self._idle_handle is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # not in a kernel: call widget.refresh() to pull new rows
        self._idle_handle = loop.call_later(IDLE_POLL_S, self._idle)

    def _idle(self) -> None:
        self._idle_handle = None
        if not self.subscribers:
            return
        if time.monotonic() >= self._due:
            self.tick()
        self._schedule_idle()


def per_metric(entries: list) -> dict[str, Columns]:
    """Tapped steps (step, timestamp, numbers, step, ...) as columns per metric, in order of first appearance (a
    metric logged at some steps only gets those steps)."""
    steps = array("d", entries[0::3])
    stamps = array("d", entries[1::3])
    numbers = entries[2::3]
    names = dict.fromkeys(chain.from_iterable(numbers))  # (C-level passes only, no Python loop per step)
    every = sum(map(len, numbers)) == len(names) * len(numbers)  # usually every step logs the same metrics
    out: dict[str, Columns] = {}
    for name in names:
        values = list(map(dict.get, numbers, repeat(name)))
        if not every and None in values:
            kept = [i for i, v in enumerate(values) if v is not None]
            out[name] = (array("d", [steps[i] for i in kept]), array("d", [stamps[i] for i in kept]),
                         array("d", [values[i] for i in kept]))  # fmt: skip
        else:
            out[name] = (steps, stamps, array("d", values))
    return out


def _ipython():
    if "IPython" not in sys.modules:
        return None
    from IPython import get_ipython

    return get_ipython()


HUB = Hub()
session.add_init_hook(HUB._on_new_run)
