"""What the hub keeps of this kernel's log() calls between ticks: columns per metric, folded every FOLD_S
so no per-step Python object outlives the call for long (the garbage collector runs no more often)."""

from __future__ import annotations

import math
import threading
import time
from array import array

import pytest

import trackio_nb as tnb
from trackio_nb.widgets import CompareChart, RunTable
from trackio_nb.widgets import hub as hub_module
from trackio_nb.widgets.hub import HUB, Hub, per_metric


@pytest.fixture
def manual(monkeypatch):
    monkeypatch.setattr(Hub, "interval", lambda self: 1e9)


def test_per_metric_turns_tapped_steps_into_columns_in_order_of_first_appearance():
    entries = [0, 10.0, {"loss": 1.0, "acc": 0.5}, 1, 11.0, {"loss": 0.5}, 3, 13.0, {"lr": 0.1, "acc": math.nan}]
    got = {name: tuple(list(c) for c in columns) for name, columns in per_metric(entries).items()}
    assert list(got) == ["loss", "acc", "lr"]
    assert got["loss"] == ([0.0, 1.0], [10.0, 11.0], [1.0, 0.5])
    assert got["lr"] == ([3.0], [13.0], [0.1])
    steps, stamps, values = got["acc"]
    assert (steps, stamps, values[0]) == ([0.0, 3.0], [10.0, 13.0], 0.5) and math.isnan(values[1])
    assert per_metric([4, 14.0, {}]) == {}  # a step of texts only: no column


N = 300


def test_taps_fold_when_the_window_passes_and_a_tick_takes_everything_once(data_dir, manual, monkeypatch):
    monkeypatch.setattr(hub_module, "FOLD_S", 1e9)  # no fold until the test closes the window
    table = RunTable("tape")
    chart = CompareChart("tape", "loss")
    try:
        run = tnb.init("tape", name="r")
        HUB.tick()  # (opens the window: nothing runs inside the log() calls below)
        live = HUB.live[run.id]
        for step in range(N - 1):
            run.log({"loss": step / 2, "acc": 1.0})
        assert len(live.tape) == 3 * (N - 1) and live.columns == {}  # not folded yet
        HUB._wall_due = 0.0  # the window has passed: the next log() folds (the tick is not due)
        run.log({"loss": 1e6, "acc": 1.0})
        assert live.tape == []  # folded: no numbers dict is kept
        assert list(live.columns["loss"][0]) == [float(s) for s in range(N)]
        assert list(live.columns["loss"][2]) == [s / 2 for s in range(N - 1)] + [1e6]
        assert chart.points() == {}  # folding sends nothing: the tick does
        run.log({"loss": -1.0})  # one more, on the tape only
        HUB.tick()
        assert live.columns == {} and live.tape == []
        assert (live.last_step, live.last_values) == (N, {"loss": -1.0, "acc": 1.0})
        assert chart.points() == {("r", "loss"): N + 1}
        series = chart._store[(run.id, "loss")]
        assert list(series.steps) == [float(s) for s in range(N + 1)]
        assert series.ys[-2:].tolist() == [1e6, -1.0]
        assert table._rows[run.id]["last_step"] == N
        assert table._rows[run.id]["metrics"] == {"acc": 1.0, "loss": -1.0}
        HUB.tick()  # nothing logged since: nothing taken twice
        assert chart.points() == {("r", "loss"): N + 1}
        run.log({}, step=N + 5)  # no numbers: the table still learns the step
        HUB.tick()
        assert table._rows[run.id]["last_step"] == N + 5
        run.finish()
    finally:
        table.close()
        chart.close()


def test_no_numbers_dict_outlives_the_fold_window(data_dir, manual):
    """Between ticks the hub holds only the last FOLD_S of logged dicts: the collector's young generation is not
    filled by the widgets (that made full collections land inside log() with show() displayed)."""
    chart = CompareChart("tape2", "loss")
    try:
        run = tnb.init("tape2", name="r")
        HUB.tick()
        live = HUB.live[run.id]
        for step in range(5 * N):
            run.log({"loss": float(step)})
        time.sleep(2 * hub_module.FOLD_S)
        run.log({"loss": -1.0})
        assert live.tape == []  # every dict was folded and dropped
        [(steps, stamps, values)] = live.columns.values()
        assert [len(steps), len(stamps), len(values)] == [5 * N + 1] * 3
        assert {type(c) for c in (steps, stamps, values)} == {array}  # three objects, however many steps
        HUB.tick()
        assert chart.points() == {("r", "loss"): 5 * N + 1}
        run.finish()
    finally:
        chart.close()


def test_a_log_on_another_thread_during_a_fold_is_kept_for_the_next_tick(data_dir, manual, monkeypatch):
    chart = CompareChart("tape3", "loss")
    try:
        run = tnb.init("tape3", name="r")
        HUB.tick()
        live = HUB.live[run.id]
        for step in range(3):
            run.log({"loss": float(step)})
        real = hub_module.per_metric

        def slow(entries):  # another thread logs while the tick folds what it took
            worker = threading.Thread(target=run.log, args=({"loss": 99.0},))
            worker.start()
            worker.join()
            return real(entries)

        monkeypatch.setattr(hub_module, "per_metric", slow)
        HUB.tick()
        assert chart.points() == {("r", "loss"): 3}
        assert live.tape[0::3] == [3]  # the other thread's step waits on the tape
        monkeypatch.setattr(hub_module, "per_metric", real)
        HUB.tick()
        assert list(chart._store[(run.id, "loss")].ys) == [0.0, 1.0, 2.0, 99.0]
        run.finish()
    finally:
        chart.close()
