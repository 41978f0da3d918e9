"""How widgets follow a run of this kernel: the writer hands over what it stored, log() only compares.

Each test here was made to fail once by breaking its guard (see the comment on each).
"""

from __future__ import annotations

import gc
import sqlite3
import threading
import time

import pytest

import trackio_nb as tnb
from trackio_nb.readers import LocalReader
from trackio_nb.storage import project_path
from trackio_nb.storage.tail import Follower
from trackio_nb.tracked_run import Run
from trackio_nb.widgets import RunTable
from trackio_nb.widgets.hub import HUB
from trackio_nb.widgets.live_run import LiveRun

TRIGGER = (
    "CREATE TRIGGER refuse_bad BEFORE INSERT ON metric_names WHEN NEW.name = 'bad'"
    " BEGIN SELECT RAISE(ABORT, 'refused by test trigger'); END"
)


@pytest.fixture
def table(data_dir):
    with tnb.init("follow", name="seed"):
        tnb.log({"loss": 0.0})
    widget = RunTable("follow")
    yield widget
    widget.close()


def test_rows_listeners_get_what_was_stored_not_what_was_refused(data_dir, capfd):
    # Guard: Writer._store hands over `stored`; handing over self._logs makes this fail (step 1 arrives).
    run = tnb.init("refuse", name="r")
    run.log({"good": 0.0})
    assert run.flush(5)
    with sqlite3.connect(project_path("refuse"), isolation_level=None) as conn:
        conn.execute(TRIGGER)
    got: list[tuple[int, dict]] = []
    run.subscribe(lambda entries: got.extend((e[0], e[2]) for e in entries))
    run.log({"good": 1.0, "bad": 1.0})  # refused as a whole row: its metric name cannot be stored
    run.log({"good": 2.0})
    assert run.flush(5)
    assert got == [(2, {"good": 2.0})]
    run.finish()
    assert "could not be stored" in capfd.readouterr().err


def test_a_failing_rows_listener_is_dropped_and_storage_goes_on(data_dir, capfd):
    # Guard: Run._rows_stored catches a listener's error; without it the writer thread dies and finish() fails.
    run = tnb.init("listener", name="r")
    calls: list[int] = []

    def broken(entries: list[tuple]) -> None:
        calls.append(len(entries))
        raise RuntimeError("view broke")

    run.subscribe(broken)
    for step in range(50):
        run.log({"x": float(step)})
    assert run.flush(5)
    for step in range(50, 100):
        run.log({"x": float(step)})
    run.finish()
    assert run.status == "finished"
    assert len(calls) == 1  # dropped after its first failure
    err = capfd.readouterr().err
    assert err.count("a live view stopped following it (RuntimeError: view broke)") == 1
    assert LocalReader().history("listener", run.id)["x"].to_list() == [float(s) for s in range(100)]


def test_folding_a_batch_sets_off_no_collector_pass():
    # Guard: LiveRun.take makes no object per entry; with `zip(*entries)` (an iterator per entry) it fails.
    live = LiveRun(run=None, project="p", source=None)  # type: ignore[arg-type]
    entries = [(s, 1000.0 + s, {"loss": 1.0 / (s + 1), "acc": s * 0.5}, None) for s in range(20_000)]
    passes: list[int] = []

    def count(phase: str, info: dict) -> None:
        if phase == "start":
            passes.append(info["generation"])

    gc.collect()
    gc.callbacks.append(count)
    try:
        live.take(entries)
    finally:
        gc.callbacks.remove(count)
    assert passes == []
    fresh = live.collect()
    assert sorted(fresh) == ["acc", "loss"]
    steps, stamps, values, increasing = fresh["acc"]
    assert (len(steps), steps[-1], stamps[0], values[-1], increasing) == (20_000, 19_999.0, 1000.0, 9999.5, True)
    assert (live.last_step, live.last_values) == (19_999, {"loss": 1 / 20_000, "acc": 9999.5})


def test_take_keeps_metrics_logged_at_some_steps_apart_and_notes_order():
    live = LiveRun(run=None, project="p", source=None)  # type: ignore[arg-type]
    live.take([(0, 10.0, {"a": 1.0}, None), (1, 11.0, {"a": 2.0, "b": 5.0}, None), (2, 12.0, {"a": 3.0}, None)])
    live.take([(1, 13.0, {"b": 6.0}, None)])  # step 1 again: the order breaks
    fresh = live.collect()
    assert [list(c) for c in fresh["a"][:3]] == [[0, 1, 2], [10, 11, 12], [1, 2, 3]] and fresh["a"][3] is True
    assert [list(c) for c in fresh["b"][:3]] == [[1, 1], [11, 13], [5, 6]] and fresh["b"][3] is False
    assert live.collect() is None  # nothing new since


def test_log_calls_out_once_while_no_tick_can_run(table, monkeypatch):
    # Guard: Hub._on_due moves the window on when no tick ran; without it every log() calls out (1,000 calls).
    calls: list[float] = []
    original = Run._call_due
    monkeypatch.setattr(Run, "_call_due", lambda self, now: (calls.append(now), original(self, now)))
    run = tnb.init("follow", name="live")
    monkeypatch.setattr(HUB, "_ticking", True)  # as if a tick were running: none can start
    for step in range(1000):
        run.log({"loss": float(step)})
    assert len(calls) == 1
    monkeypatch.setattr(HUB, "_ticking", False)
    run.finish()


def test_log_on_a_worker_thread_calls_out_once_and_the_cell_end_delivers(table, monkeypatch):
    # Guard: the same window; a thread never ticks (Colab drops updates from threads).
    calls: list[str] = []
    original = Run._call_due
    monkeypatch.setattr(
        Run, "_call_due", lambda self, now: (calls.append(threading.current_thread().name), original(self, now))
    )
    ticks: list[str] = []
    tick = HUB.tick
    monkeypatch.setattr(HUB, "tick", lambda **kw: (ticks.append(threading.current_thread().name), tick(**kw)))
    run = tnb.init("follow", name="threaded")
    worker = threading.Thread(target=lambda: [run.log({"loss": float(s)}) for s in range(500)], name="worker")
    worker.start()
    worker.join()
    assert calls == ["worker"] and "worker" not in ticks
    run.finish()  # (finish on the main thread: the final tick)
    assert table._rows[run.id]["last_step"] == 499
    assert table._rows[run.id]["metrics"]["loss"] == 499.0


def test_the_follower_reads_an_excluded_runs_last_values_once_it_is_no_longer_excluded(data_dir):
    # Guard: Follower.read adds runs that stopped being excluded to the keys it reads last values for.
    with tnb.init("excl", name="old"):
        tnb.log({"loss": 1.0})
    reader, follower = LocalReader(), Follower()
    reader.follow("excl", follower, initial=True)
    run = tnb.init("excl", name="live")
    run.log({"loss": 5.0})
    run.log({"loss": 4.0})
    assert run.flush(5)
    delta = reader.follow("excl", follower, exclude_run_ids=[run.id])
    assert delta.points.height == 0 and delta.last_values == []  # followed from memory meanwhile
    run.finish()  # no new chunk: only its status changes
    delta = reader.follow("excl", follower)
    assert [(rid, m, v, s) for rid, m, v, s, _ in delta.last_values] == [(run.id, "loss", 4.0, 1)]
    assert [(r["name"], r["status"], r["last_step"]) for r in delta.runs] == [("live", "finished", 1)]


def test_renames_and_deletions_move_the_mark_the_follower_reads_names_by(data_dir):
    # Guard: start_over marks runs_changed; without the mark a rename is not seen (names are not read).
    with tnb.init("marks", name="a") as first:
        tnb.log({"loss": 1.0})
    with tnb.init("marks", name="b") as second:
        tnb.log({"loss": 2.0})
    reader, follower = LocalReader(), Follower()
    reader.follow("marks", follower, initial=True)
    api = tnb.Api()
    api.run("marks", first.id).rename("a2")
    delta = reader.follow("marks", follower)
    assert [(r["id"], r["name"]) for r in delta.runs] == [(first.id, "a2")]
    api.delete_run("marks", second.id)
    delta = reader.follow("marks", follower)
    assert delta.removed == frozenset({second.id})
    with sqlite3.connect(project_path("marks")) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'runs_changed'").fetchone() == ("2",)


def test_the_writer_storing_a_batch_makes_the_next_log_tick(table, monkeypatch):
    # Guard: the hub's row listener calls Run.due_soon once the interval passed; without it no tick comes here
    # (the slack is made huge, so time alone never makes log() call out).
    import trackio_nb.widgets.hub as hub_module

    monkeypatch.setattr(hub_module, "DUE_SLACK_S", 3600.0)
    monkeypatch.setattr(hub_module.Hub, "interval", lambda self: 0.5)
    ticks: list[float] = []
    tick = HUB.tick
    monkeypatch.setattr(HUB, "tick", lambda **kw: (ticks.append(0.0), tick(**kw)))
    run = tnb.init("follow", name="due")
    run.log({"loss": 1.0})  # the first log() after subscribing calls out (and may tick)
    assert run.flush(5)  # stored well within the interval: not due yet
    before = len(ticks)
    time.sleep(0.6)  # the interval passes (the writer has nothing to store meanwhile)
    run.log({"loss": 2.0})  # within the slack: no tick by time
    assert len(ticks) == before
    assert run.flush(5)  # the writer stores it, sees the interval passed: due soon
    run.log({"loss": 3.0})
    assert len(ticks) == before + 1
    assert table._rows[run.id]["last_step"] == 1  # what was stored by then
    run.finish()
