"""Widget ticks read only what changed: one change-marker query when nothing was committed, one read per
project however many widgets, statuses re-derived without per-tick process checks; SweepChart; tnb.chart()."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

import trackio_nb as tnb
from tests.conftest import REPO, run_python
from trackio_nb.storage import status as status_module
from trackio_nb.storage import tail as tail_module
from trackio_nb.widgets import CompareChart, RunTable, SweepChart, show
from trackio_nb.widgets.hub import HUB, Hub

SEED = """
import trackio_nb as tnb
for i, lr in enumerate((0.1, 0.3, 0.03)):
    with tnb.init("grid", name=f"lr{lr}", config={"lr": lr, "opt": {"name": "sgd", "wd": 0}, "seed": 1}):
        for step in range(20):
            tnb.log({"loss": (1 + i) / (1 + step), "acc": step / 20})
"""


@pytest.fixture
def widgets():
    made: list = []
    yield made
    for w in made:
        w.close()
    assert HUB.subscribers == [] and HUB.feeds == {}


@pytest.fixture
def manual(monkeypatch):
    monkeypatch.setattr(Hub, "interval", lambda self: 1e9)


def traced(project_reader_conn) -> list[str]:
    statements: list[str] = []
    project_reader_conn.set_trace_callback(statements.append)
    return statements


def test_a_tick_with_nothing_new_runs_one_query_for_all_widgets_of_a_project(data_dir, widgets, manual):
    assert run_python(SEED, data_dir).returncode == 0
    dash = show("grid")
    extra = [CompareChart("grid", "loss"), CompareChart("grid", "acc", x="relative")]
    widgets += [dash.table, dash.chart, dash.alerts, *extra]
    [feed] = HUB.feeds.values()
    statements = traced(feed.reader._conn("grid"))
    HUB.tick()
    HUB.tick()
    assert statements == ["PRAGMA data_version", "PRAGMA data_version"]  # five widgets, one query a tick

    # another process logs: one incremental read, shared, then quiet again
    assert run_python('import trackio_nb as tnb\nwith tnb.init("grid", name="late", config={"lr": 1.0}):\n'
                      '    tnb.log({"loss": 5.0})', data_dir).returncode == 0  # fmt: skip
    statements.clear()
    HUB.tick()
    assert statements[0] == "PRAGMA data_version" and len(statements) > 3
    assert not any(
        s.startswith("SELECT key, id, name, group_name") and "WHERE" not in s for s in statements
    )  # no full row read
    assert dash.chart.points()[("late", "loss")] == 1
    statements.clear()
    HUB.tick()
    assert statements == ["PRAGMA data_version"]
    HUB.tick(final=True)  # a full state sync: from the feed's memory, nothing read but the marker
    assert statements == ["PRAGMA data_version"] * 2
    assert [r["name"] for r in dash.table.rows] == ["lr0.1", "lr0.3", "lr0.03", "late"]
    assert dash.table.config_columns == ["lr", "opt.name", "opt.wd", "seed"]  # "late" has only lr


def test_a_dead_writer_turns_failed_with_no_write_and_no_pid_checks_on_quiet_ticks(
    data_dir, widgets, manual, monkeypatch
):
    monkeypatch.setattr(status_module, "STALE_AFTER_S", 0.3)
    monkeypatch.setattr(tail_module, "STATUS_RECHECK_S", 0.2)
    code = (
        "import os, trackio_nb as tnb\n"
        "run = tnb.init('dead', name='victim')\n"
        "tnb.log({'loss': 1.0})\n"
        "run.flush(5)\n"
        "os._exit(0)  # no finish(): the row stays 'running'\n"
    )
    assert run_python(code, data_dir).returncode == 0
    checks: list[int] = []
    real = status_module.pid_alive
    monkeypatch.setattr(status_module, "pid_alive", lambda pid: checks.append(pid) or real(pid))
    table = RunTable("dead")
    widgets.append(table)
    assert table.rows[0]["status"] == "running"  # its heartbeat is still fresh
    time.sleep(0.5)
    HUB.tick(final=True)  # (final: a full sync, so the rows trait shows the change)
    assert table.rows[0]["status"] == "failed"  # re-derived from the stale heartbeat and the gone pid
    checks.clear()
    for _ in range(5):
        HUB.tick()  # within STATUS_RECHECK_S: no process check at all
    assert checks == []


def test_run_table_shows_differing_config_keys_and_keeps_the_view_choice(data_dir, widgets, manual):
    assert run_python(SEED, data_dir).returncode == 0
    table = RunTable("grid")
    widgets.append(table)
    assert table.config_columns == ["lr"]  # opt.name, opt.wd and seed are the same everywhere
    assert [r["config"] for r in table.rows] == [{"lr": 0.1}, {"lr": 0.3}, {"lr": 0.03}]
    with tnb.init("grid", name="adam", config={"lr": 0.1, "opt": {"name": "adam", "wd": 0}, "seed": 1}):
        tnb.log({"loss": 0.5})
    assert table.config_columns == ["lr", "opt.name"]
    assert table.rows[-1]["config"] == {"lr": 0.1, "opt.name": "adam"}
    table.set_state({"hidden": ["m:acc"], "sort": "-c:lr"})  # what the page sends when the user picks
    assert (table.hidden, table.sort) == (["m:acc"], "-c:lr")
    assert {"hidden": ["m:acc"], "sort": "-c:lr"}.items() <= table.get_state().items()  # saved with the notebook


def test_sweep_chart_gains_a_point_when_a_run_finishes(data_dir, widgets, manual):
    assert run_python(SEED, data_dir).returncode == 0
    last = SweepChart("grid", "loss", "lr")
    best = SweepChart("grid", "loss", "lr", mode="min")
    widgets += [last, best]
    sent: list = []
    original = last._send
    last._send = lambda msg, buffers=None: (sent.append(msg), original(msg, buffers))
    assert sorted((p["run"], p["param"], p["value"]) for p in last.points) == [
        ("lr0.03", 0.03, 3 / 20),
        ("lr0.1", 0.1, 1 / 20),
        ("lr0.3", 0.3, 2 / 20),
    ]
    assert last.spec["encoding"]["x"] == {
        "field": "param",
        "type": "quantitative",
        "title": "lr",
        "scale": {"zero": False},
    }
    tnb.init("grid", name="new", config={"lr": 0.5})
    for step in range(5):
        tnb.log({"loss": 4.0 - step})
    HUB.tick()
    assert [p["run"] for p in last.points if p["run"] == "new"] == []  # running: no point yet
    assert [m for m in sent if m["method"] == "custom"] == []
    tnb.finish()  # this kernel's run: the final tick syncs the full state
    assert {p["run"]: (p["param"], p["value"]) for p in last.points}["new"] == (0.5, 0.0)
    # a run in another process finishing: a delta with its one point
    code = 'import trackio_nb as tnb\nwith tnb.init("grid", name="other", config={"lr": 0.7}):\n    tnb.log({"loss": 0.25})'
    assert run_python(code, data_dir).returncode == 0
    HUB.tick()
    [delta] = [m["content"] for m in sent if m["method"] == "custom"]
    other = next(r for r in tnb.Api().runs("grid") if r.name == "other")
    assert delta == {
        "type": "points",
        "seq": 1,
        "points": [{"run_id": other.id, "run": "other", "param": 0.7, "value": 0.25}],
    }
    assert {p["run"]: p["value"] for p in best.points}["new"] == 0.0
    with pytest.raises(ValueError, match="mode must be one of last, min, max"):
        SweepChart("grid", "loss", "lr", mode="best")


def test_chart_returns_an_altair_chart_of_the_same_data(data_dir):
    import altair as alt

    assert run_python(SEED, data_dir).returncode == 0
    figure = tnb.chart("grid", "loss")
    assert isinstance(figure, alt.Chart)
    spec = figure.to_dict()
    rows = next(iter(spec["datasets"].values()))
    assert len(rows) == 60 and {r["run"] for r in rows} == {"lr0.1", "lr0.3", "lr0.03"}
    assert [r["y"] for r in rows if r["run"] == "lr0.3"] == [2 / (1 + s) for s in range(20)]
    assert spec["encoding"]["x"]["title"] == "step" and spec["title"] == "loss"
    [view] = [r for r in tnb.Api().runs("grid") if r.name == "lr0.1"]
    one = view.chart("loss", x="relative").to_dict()
    data = next(iter(one["datasets"].values()))
    assert [r["y"] for r in data] == [1 / (1 + s) for s in range(20)] and data[0]["x"] == 0.0
    assert one["encoding"]["x"]["title"] == "relative time (s)"


def test_chart_without_altair_names_the_extra(data_dir):
    code = (
        "import sys; sys.modules['altair'] = None\n"
        "import trackio_nb as tnb\n"
        "try:\n"
        "    tnb.chart('p', 'loss')\n"
        "except tnb.errors.MissingExtra as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert (
        out.stdout.strip()
        == "tnb.chart() and RunView.chart() needs the [charts] extra: pip install 'trackio_nb[charts]'"
    )


def test_renamed_and_deleted_runs_reach_the_widgets(data_dir, widgets, manual):
    assert run_python(SEED, data_dir).returncode == 0
    table, chart = RunTable("grid"), CompareChart("grid", "loss")
    widgets += [table, chart]
    api = tnb.Api()
    [first] = [r for r in api.runs("grid") if r.name == "lr0.1"]
    first.rename("renamed")  # a finished run: only the rename changes its row
    HUB.tick(final=True)
    assert [r["name"] for r in table.rows] == ["renamed", "lr0.3", "lr0.03"]
    assert sorted(chart.points()) == [("lr0.03", "loss"), ("lr0.3", "loss"), ("renamed", "loss")]
    [last] = [r for r in api.runs("grid") if r.name == "lr0.03"]
    api.delete_run("grid", last.id)
    HUB.tick()
    assert [r["name"] for r in table.rows] == ["renamed", "lr0.3"]  # a deletion syncs the full state at once
    assert sorted(chart.points()) == [("lr0.3", "loss"), ("renamed", "loss")]
    # the deleted run held the newest chunks: a new run's chunks reuse their ids and still arrive
    assert (
        run_python(
            'import trackio_nb as tnb\nwith tnb.init("grid", name="after"):\n    tnb.log({"loss": 2.5})', data_dir
        ).returncode
        == 0
    )
    HUB.tick()
    assert chart.points()[("after", "loss")] == 1


def test_split_series_keeps_first_appearance_and_storage_order():
    # Guard: split_series sorts by each series' first row, then by row; sorting by run id fails here.
    import math

    import polars as pl

    from trackio_nb.widgets.compare_chart import split_series

    points = pl.DataFrame(
        {
            "run_id": ["b", "a", "b", "a", "b"],
            "metric": ["x", "x", "x", "y", "x"],
            "step": [3, 0, 1, 0, 1],  # "b"'s steps as stored: out of order, a step repeated
            "timestamp": [1.0, 2.0, 3.0, 4.0, 5.0],
            "value": [9.0, 8.0, 7.0, 6.0, math.nan],
        }
    )
    got = [(rid, m, list(s), list(t), [None if v != v else v for v in y]) for rid, m, s, t, y in split_series(points)]
    assert got == [
        ("b", "x", [3.0, 1.0, 1.0], [1.0, 3.0, 5.0], [9.0, 7.0, None]),
        ("a", "x", [0.0], [2.0], [8.0]),
        ("a", "y", [0.0], [4.0], [6.0]),
    ]
