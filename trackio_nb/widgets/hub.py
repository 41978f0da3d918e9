"""The live hub: feeds every widget of this kernel from its runs' writers and from tailing storage.

- Runs started in this kernel are followed through `Run.subscribe`: their writer thread hands
  each stored batch to `LiveRun.take`, which folds it there into per-metric columns and last
  values. `log()` itself only compares its timestamp with the hub's window: when the throttle
  interval has passed (and on the main thread) it runs a tick. So updates are throttled inside
  `log()` (the kernel's event loop is blocked while a cell runs), never sent from a thread
  (Colab drops those), and no per-step work lands on the training loop's thread.
- A tick takes the folded columns, then lets each widget read what storage holds after its own
  cursors (other processes, servers, alerts, statuses) and send one message at most. Ticks are
  spaced so that all widgets together send at most MAX_MESSAGES_PER_S.
- While the kernel is idle, ticks run every IDLE_POLL_S on its asyncio loop; a final tick with
  a full state sync (after flushing the runs) runs at `finish()` and after each cell.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from .. import session
from ..enums import RunStatus
from .feed import ProjectFeed
from .live_run import Columns, LiveRun, Source

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
DUE_SLACK_S = 0.15  # log() ticks by itself this late when its writer stored nothing meanwhile (see Hub._on_due)

Batch = dict[str, dict[str, Columns]]  # run id -> metric -> what its writer stored since the last tick


class Subscriber(Protocol):
    project: str
    source: Source
    _feed: ProjectFeed

    def _update(self, batch: Batch, *, full: bool, initial: bool) -> None: ...


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
        self._wall_from = self._wall_due = 0.0  # the same deadline on the wall clock, for log()'s check
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

        def stored(entries: list[tuple]) -> None:  # (the run's writer thread)
            live.take(entries)
            if time.time() >= self._wall_due:  # the writer just stored a batch and is idle for a while:
                run.due_soon(self._on_due)  # the next log() ticks now, with no writer to wait for at the GIL

        live.unsubscribe = run.subscribe(stored, self._run_ended, self._on_due)

    def _on_due(self, now: float) -> tuple[float, float]:
        """log() is due (its timestamp left the window, or its writer said so): tick (main thread only) if the
        interval has passed; the next window.

        A wall-clock window, since log() has time.time() at hand: a clock set back leaves it and ticks at once.
        The window given back lasts DUE_SLACK_S longer than the interval: a tick right after the writer stored a
        batch (`due_soon`) finds the GIL free, while one at a random moment often waited for the writer (measured:
        a 1 ms tick took 2-3 ms of wall time); the slack only matters when the writer stores nothing.
        """
        if not self._wall_from <= now < self._wall_due:
            self._throttled_tick()
            if not self._wall_from <= now < self._wall_due:  # no tick ran (not the main thread, or one is running)
                self._wall_from, self._wall_due = now - 1.0, now + self.interval()
        return self._wall_from, self._wall_due + DUE_SLACK_S

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

    def _throttled_tick(self) -> None:
        if threading.current_thread() is threading.main_thread():
            self.tick()

    def tick(self, *, final: bool = False) -> None:
        """Drain the taps and update every widget; `final` flushes runs and syncs full state."""
        if self._ticking:
            return
        self._ticking = True
        try:
            now, cpu = time.monotonic(), time.thread_time()
            self._due = now + self.interval()
            wall = time.time()
            self._wall_from, self._wall_due = wall - 1.0, wall + self.interval()
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
            # The tick's own work (CPU time of this thread): the wall time also counts waits for the GIL while
            # a writer thread folds a batch, which would space the ticks for what is not their cost.
            cost = time.thread_time() - cpu
            if full:
                self._full_every = max(FULL_SYNC_S, FULL_SYNC_COST_RATIO * cost)
            elif TICK_COST_RATIO * cost > self.interval():  # a big project: ticks stay under 1% of the loop
                spacing = TICK_COST_RATIO * cost
                self._due, self._wall_due = now + spacing, wall + spacing
            for rid in [rid for rid, lr in self.live.items() if lr.run.status != RunStatus.RUNNING]:
                self._forget(rid)  # an ended run logs no more; its rows were all read above
        finally:
            self._ticking = False

    def _drain(self) -> Batch:
        """What the live runs' writers stored since the last tick, folded already (one swap per run)."""
        batch: Batch = {}
        for rid, live in list(self.live.items()):
            fresh = live.collect()
            if fresh is not None:
                batch[rid] = fresh
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


def _ipython():
    if "IPython" not in sys.modules:
        return None
    from IPython import get_ipython

    return get_ipython()


HUB = Hub()
session.add_init_hook(HUB._on_new_run)
