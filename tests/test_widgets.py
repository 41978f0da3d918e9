"""Widgets in-process: initial state, live deltas (only new rows), throttling, stop, tails, escaping."""

from __future__ import annotations

import gzip
import math
import re
import subprocess
import sys
import time

import pytest

import trackio_nb as tnb
from tests.conftest import run_python
from trackio_nb.errors import AmbiguousRun
from trackio_nb.readers import LocalReader
from trackio_nb.widgets import AlertStream, CompareChart, RunTable, page_html, show, static_state
from trackio_nb.widgets.bundle import shared_bundle
from trackio_nb.widgets.hub import HUB, Hub
from trackio_nb.widgets.jsonable import point_value, series_points, unpack_column

EVIL = "<img src=x onerror=alert(1)>"


@pytest.fixture
def widgets():
    """Widgets made in a test are closed afterwards (the hub is per process)."""
    made: list = []
    yield made
    for w in made:
        w.close()
    assert HUB.subscribers == []


@pytest.fixture
def manual(monkeypatch):
    """log() never ticks by itself: the test calls HUB.tick() to flush."""
    monkeypatch.setattr(Hub, "interval", lambda self: 1e9)


def record(widget) -> list[dict]:
    """Every message the widget sends from now on (custom deltas and state updates)."""
    sent: list[dict] = []
    original = widget._send

    def spy(msg, buffers=None):
        sent.append({**msg, "buffers": list(buffers or [])})
        original(msg, buffers)

    widget._send = spy
    return sent


def customs(sent: list[dict]) -> list[dict]:
    """Custom messages; chart series decoded from their binary buffers into x (steps) and y lists."""
    return [_decoded(m["content"], m["buffers"]) for m in sent if m["method"] == "custom"]


def _decoded(content: dict, buffers: list) -> dict:
    if content.get("type") != "points":
        return content
    series = []
    for s in content["series"]:
        b = s["buffer"]
        assert all(isinstance(buffers[i], bytes) for i in (b, b + 1, b + 2))  # binary frames, not base64 text
        steps, values = unpack_column(buffers[b]), unpack_column(buffers[b + 2])
        meta = {k: v for k, v in s.items() if k != "buffer"}
        series.append({**meta, "x": [int(v) for v in steps], "y": [point_value(v) for v in values]})
    return {**content, "series": series}


def updates(sent: list[dict]) -> list[dict]:
    return [m["state"] for m in sent if m["method"] == "update"]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """Two finished runs (one with the XSS name and a NaN last value) and one alert, made once."""
    root = tmp_path_factory.mktemp("seeded")
    code = f"""
import trackio_nb as tnb
with tnb.init("seed", name={EVIL!r}, group="g1", config={{"lr": 0.1}}):
    for step in range(5):
        tnb.log({{"loss": 1.0 / (step + 1), "acc": step / 10}})
    tnb.log({{"loss": float("nan")}})
    tnb.alert("big <b>", "text <i>", level="error", data={{"reason": "custom", "k": 1}})
with tnb.init("seed", name="plain"):
    for step in range(3):
        tnb.log({{"loss": 2.0 - step}})
"""
    result = run_python(code, root)
    assert result.returncode == 0, result.stderr
    return root


def test_initial_state_of_each_widget(seeded, widgets):
    table = RunTable("seed", dir=seeded)
    chart = CompareChart("seed", "loss", dir=seeded)
    alerts = AlertStream("seed", dir=seeded)
    widgets += [table, chart, alerts]
    assert table.columns == ["acc", "loss"]
    first, second = table.rows
    assert (first["name"], first["status"], first["group"], first["last_step"]) == (EVIL, "finished", "g1", 5)
    assert first["metrics"] == {"acc": 0.4, "loss": "NaN"}
    assert (second["name"], second["last_step"], second["metrics"]) == ("plain", 2, {"acc": None, "loss": 0.0})
    assert first["duration_s"] == pytest.approx(first["finished_at"] - first["created_at"])
    assert first["stop_requested"] is False
    by_run = {s["run"]: s for s in chart.series}
    assert series_points(by_run[EVIL]) == ([0, 1, 2, 3, 4, 5], [1.0, 0.5, 1 / 3, 0.25, 0.2, None])  # NaN: not drawn
    assert (by_run["plain"]["run_id"], by_run["plain"]["metric"]) == (second["id"], "loss")
    assert series_points(by_run["plain"]) == ([0, 1, 2], [2.0, 1.0, 0.0])
    assert math.isnan(unpack_column(by_run[EVIL]["y"])[-1])  # binary columns keep NaN itself
    assert isinstance(by_run[EVIL]["y"], bytes)  # a binary buffer on the comm, not base64 text
    assert table.config_columns == ["lr"]  # the config key that differs between the runs
    assert (first["config"], second["config"]) == ({"lr": 0.1}, {})
    [alert] = alerts.alerts
    assert list(alert) == ["id", "run", "run_id", "timestamp", "step", "level", "title", "text", "data"]
    assert alert["timestamp"].endswith("Z")  # the one alert dict shape: ISO 8601 UTC
    assert {k: alert[k] for k in ("run", "step", "level", "title", "text", "data")} == {
        "run": EVIL,
        "step": 5,
        "level": "error",
        "title": "big <b>",
        "text": "text <i>",
        "data": {"reason": "custom", "k": 1},
    }
    assert sorted(chart.spec) == ["relative", "step", "time"]
    assert chart.spec["step"]["data"] == {"name": "points"}
    assert chart.vega is shared_bundle() and b"globalThis.vegaEmbed" in gzip.decompress(chart.vega.gz)
    assert repr(table) == "RunTable(project='seed', runs=2)"
    assert repr(chart) == "CompareChart(project='seed', metrics=[loss], x='step', lines=2)"
    assert repr(alerts) == "AlertStream(project='seed', alerts=1)"


def test_run_and_level_filters(seeded, widgets):
    only_plain = AlertStream("seed", run="plain", dir=seeded)
    chart = CompareChart("seed", metrics=["acc", "loss"], runs=["plain"], x="timestamp", dir=seeded)
    widgets += [only_plain, chart]
    assert only_plain.alerts == []
    assert {(s["run"], s["metric"]) for s in chart.series} == {("plain", "loss")}
    stamps = unpack_column(chart.series[0]["t"])
    assert stamps == sorted(stamps) and stamps[0] > 1.6e9  # epoch seconds
    assert chart.x == "time"  # "timestamp", the first release's name, still works
    assert chart.spec["time"]["spec"]["layer"][0]["encoding"]["x"]["type"] == "temporal"


def test_text_html_fallback_escapes_and_repr_is_stable(seeded, widgets):
    table = RunTable("seed", dir=seeded)
    alerts = AlertStream("seed", dir=seeded)
    widgets += [table, alerts]
    data, _meta = table._repr_mimebundle_()
    assert data["text/plain"] == "RunTable(project='seed', runs=2)"
    assert "application/vnd.jupyter.widget-view+json" in data
    assert "&lt;img src=x onerror=alert(1)&gt;" in data["text/html"]
    assert EVIL not in data["text/html"]
    alert_html = alerts._repr_mimebundle_()[0]["text/html"]
    assert "big &lt;b&gt;" in alert_html and "<b>" not in alert_html


def test_page_html_escapes_state_and_loads_nothing_remote(seeded, widgets):
    table = RunTable("seed", dir=seeded)
    widgets.append(table)
    page = page_html([table])
    assert EVIL not in page
    assert "</script><" not in page.split('<script id="tnb-data"')[1].split("</script>")[0]
    assert not re.search(r"""(src|href)=["']https?:""", page)
    state = static_state(table)
    assert set(state) == {"project", "seq", "error", "columns", "config_columns", "hidden", "sort", "rows"}


def test_live_deltas_carry_only_new_rows(widgets, manual):
    table, chart, alerts = RunTable("live"), CompareChart("live", "loss"), AlertStream("live")
    widgets += [table, chart, alerts]  # made before init(): they follow the next run
    sent = {w: record(w) for w in (table, chart, alerts)}
    run = tnb.init("live", name="r1")
    for step in range(10):
        tnb.log({"loss": float(step), "acc": 0.5})
    run.flush(5)  # widgets show what the run's writer stored
    HUB.tick()
    [delta] = customs(sent[chart])
    assert delta == {
        "type": "points",
        "seq": 1,
        "series": [
            {"run_id": run.id, "run": "r1", "metric": "loss", "x": list(range(10)), "y": [float(s) for s in range(10)]}
        ],
    }
    [rows] = customs(sent[table])
    assert rows["type"] == "rows" and rows["columns"] == ["acc", "loss"]
    assert [(r["name"], r["last_step"], r["metrics"]) for r in rows["rows"]] == [("r1", 9, {"acc": 0.5, "loss": 9.0})]
    for step in range(10, 13):
        tnb.log({"loss": float(step)})
    tnb.log({"loss": math.inf})
    run.flush(5)
    HUB.tick()
    second = customs(sent[chart])[1]
    assert second["seq"] == 2
    assert [(s["x"], s["y"]) for s in second["series"]] == [([10, 11, 12, 13], [10.0, 11.0, 12.0, None])]
    assert customs(sent[table])[1]["rows"][0]["metrics"] == {"acc": 0.5, "loss": "Infinity"}
    tnb.alert("hello", "world")
    run.flush(5)
    HUB.tick()
    [alert_msg] = customs(sent[alerts])
    assert [(a["title"], a["text"], a["step"]) for a in alert_msg["alerts"]] == [("hello", "world", 13)]
    assert updates(sent[chart]) == []  # no full sync yet: deltas only
    tnb.finish()  # final flush: the full state is synced once
    assert chart.seq == 2
    [series] = chart.series
    assert (series["run_id"], series["run"], series["metric"]) == (run.id, "r1", "loss")
    assert series_points(series) == (list(range(14)), [*map(float, range(13)), None])
    assert table.rows[0]["status"] == "finished" and table.rows[0]["last_step"] == 13
    assert [a["title"] for a in alerts.alerts] == ["hello"]
    assert HUB.live == {}  # the finished run is no longer tapped


def test_repeated_step_replaces_the_point(widgets, manual):
    chart = CompareChart("dup", "loss")
    widgets.append(chart)
    tnb.init("dup", name="r")
    for step in (0, 1, 2):
        tnb.log({"loss": 1.0}, step=step)
    tnb.log({"loss": 9.0}, step=1)
    tnb.finish()
    assert [series_points(s) for s in chart.series] == [([0, 1, 2], [1.0, 9.0, 1.0])]


def test_log_is_throttled_to_five_messages_a_second(widgets):
    dash = show("fast")
    widgets += [dash.table, dash.chart, dash.alerts]
    sent = [record(w) for w in (dash.table, dash.chart, dash.alerts)]
    tnb.init("fast", name="r")
    start = time.monotonic()
    steps = 0
    while time.monotonic() - start < 2.5:  # (a loop this tight starves the writer: its first batch can take 0.8 s)
        tnb.log({"loss": 1.0, "acc": 2.0})
        steps += 1
    elapsed = time.monotonic() - start
    messages = sum(len(s) for s in sent)
    assert 2 <= messages <= 5 * elapsed + 3  # a first tick at once, then one every 0.6 s for 3 widgets
    tnb.finish()
    assert sum(len(series_points(s)[0]) for s in dash.chart.series) == 2 * steps  # and the final state is complete


def test_runs_in_other_processes_are_tailed(widgets, data_dir, manual):
    table, chart = RunTable("other"), CompareChart("other", "loss")
    widgets += [table, chart]
    sent = record(chart)
    result = run_python(
        'import trackio_nb as tnb\nwith tnb.init("other", name="child"):\n'
        '    [tnb.log({"loss": float(i)}) for i in range(30)]',
        data_dir,
    )
    assert result.returncode == 0, result.stderr
    HUB.tick()
    [delta] = customs(sent)
    [series] = delta["series"]
    assert (series["run"], series["x"]) == ("child", list(range(30)))
    HUB.tick()
    assert len(customs(sent)) == 1  # nothing new: nothing sent
    assert [(r["name"], r["status"], r["last_step"]) for r in table._rows.values()] == [("child", "finished", 29)]


def test_duplicate_run_names_get_distinct_legend_labels(widgets, data_dir, manual):
    a = tnb.init("twins", name="same")
    tnb.log({"loss": 1.0})
    tnb.alert("first twin")
    tnb.finish()
    b = tnb.init("twins", name="same")
    tnb.log({"loss": 2.0})
    tnb.alert("second twin")
    tnb.finish()
    chart = CompareChart("twins", "loss")
    widgets.append(chart)
    assert sorted(s["run"] for s in chart.series) == sorted([f"same ({a.id})", f"same ({b.id})"])
    # Picking a run by a name two runs share is an error naming their ids, never a silent merge.
    for make in (lambda run: AlertStream("twins", run=run), lambda run: CompareChart("twins", "loss", runs=[run])):
        with pytest.raises(AmbiguousRun, match=f"ids {a.id}, {b.id}"):
            make("same")
        widgets.append(make(b.id))
    alerts, chart_b = widgets[-2:]
    assert [(x["run_id"], x["title"]) for x in alerts.alerts] == [(b.id, "second twin")]
    assert [s["run_id"] for s in chart_b.series] == [b.id]


def test_stop_button_writes_a_stop_request(widgets, manual):
    table = RunTable("stoppable")
    widgets.append(table)
    sent = record(table)
    run = tnb.init("stoppable", name="r")
    tnb.log({"loss": 1.0})
    HUB.tick()
    table._on_message(table, {"type": "stop", "run_id": run.id}, [])
    assert LocalReader().runs("stoppable")["id"].to_list() == [run.id]
    deadline = time.monotonic() + 5
    while not run.should_stop():
        assert time.monotonic() < deadline, "the stop request never reached the run"
        time.sleep(0.05)
    last = customs(sent)[-1]["rows"][0]
    assert (last["id"], last["stop_requested"]) == (run.id, True)
    table._on_message(table, {"type": "stop", "run_id": "nope"}, [])
    assert table.error == "stop: no run with id 'nope' in project 'stoppable'"


def test_bad_arguments_raise_clear_errors(widgets):
    with pytest.raises(ValueError, match="project"):
        RunTable("")
    with pytest.raises(ValueError, match="x must be one of step, time, relative, got 'epoch'"):
        CompareChart("p", "loss", x="epoch")
    with pytest.raises(TypeError, match="either metric or metrics"):
        CompareChart("p", "loss", metrics=["acc"])
    with pytest.raises(TypeError, match="metrics must be a list"):
        RunTable("p", metrics="loss")
    with pytest.raises(ValueError, match="level must be one of"):
        AlertStream("p", level="fatal")
    assert HUB.subscribers == []


def test_widget_for_a_project_not_created_yet_is_empty(widgets):
    table = RunTable("nothing-yet")
    widgets.append(table)
    assert (table.rows, table.error) == ([], "")


def test_tail_reads_only_what_is_new(data_dir):
    from trackio_nb.storage import connect, project_path
    from trackio_nb.storage.tail import tail

    a = tnb.init("tail", name="a")
    for i in range(4):
        tnb.log({"x": float(i)})
    tnb.alert("one")
    tnb.finish()
    conn = connect(project_path("tail", data_dir))
    first = tail(conn)
    assert first.points.select("step", "value").rows() == [(0, 0.0), (1, 1.0), (2, 2.0), (3, 3.0)]
    assert first.alerts["title"].to_list() == ["one"]
    again = tail(conn, chunk_after=first.chunk_cursor, alert_after=first.alert_cursor)
    assert (again.points.height, again.alerts.height) == (0, 0)
    b = tnb.init("tail", name="b")
    tnb.log({"x": 10.0, "y": 5.0})
    tnb.finish()
    new = tail(conn, chunk_after=first.chunk_cursor, alert_after=first.alert_cursor)
    assert sorted(new.points.select("run_id", "metric", "value").rows()) == [(b.id, "x", 10.0), (b.id, "y", 5.0)]
    only_y = tail(conn, chunk_after=first.chunk_cursor, metrics=["y"])
    assert only_y.points["metric"].to_list() == ["y"]
    assert tail(conn, exclude_run_ids=[a.id]).points["run_id"].unique().to_list() == [b.id]
    skipped = tail(conn, chunk_after=None, alert_after=None)
    assert (skipped.points.height, skipped.alerts.height, skipped.chunk_cursor, skipped.alert_cursor) == (
        0,
        0,
        None,
        None,
    )
    assert skipped.runs.select("name", "status", "last_step").rows() == [("a", "finished", 3), ("b", "finished", 0)]
    conn.close()


def test_importing_the_package_loads_no_widget_libraries():
    code = (
        "import sys, trackio_nb\n"
        "heavy = [m for m in ('anywidget', 'ipywidgets', 'altair', 'trackio_nb.widgets') if m in sys.modules]\n"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stderr


def test_taps_of_two_runs_in_one_tick_stay_apart(widgets, manual, monkeypatch):
    table, chart = RunTable("mix"), CompareChart("mix", metrics=["loss", "acc"])
    widgets += [table, chart]
    sent = {w: record(w) for w in (table, chart)}
    monkeypatch.setattr(HUB, "_run_ended", lambda run: None)  # a's end leaves its taps for the next tick
    a = tnb.init("mix", name="a")
    for step in range(4):
        tnb.log({"loss": float(step)})
    b = tnb.init("mix", name="b")  # finishes a
    for step in range(4):
        tnb.log({"loss": 10.0 + step, **({"acc": step / 4} if step % 2 else {})})  # acc at odd steps only
    b.flush(5)
    assert {rid for rid, live in HUB.live.items() if live._last is not None} == {a.id, b.id}
    HUB.tick()
    [delta] = customs(sent[chart])
    got = sorted((s["run"], s["metric"], s["x"], s["y"]) for s in delta["series"])
    assert got == [
        ("a", "loss", [0, 1, 2, 3], [0.0, 1.0, 2.0, 3.0]),
        ("b", "acc", [1, 3], [0.25, 0.75]),
        ("b", "loss", [0, 1, 2, 3], [10.0, 11.0, 12.0, 13.0]),
    ]
    rows = {r["name"]: (r["last_step"], r["metrics"]) for m in customs(sent[table]) for r in m["rows"]}
    assert rows == {"a": (3, {"acc": None, "loss": 3.0}), "b": (3, {"acc": 0.75, "loss": 13.0})}
    tnb.finish()
