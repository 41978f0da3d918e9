"""Report data assembly: downsampling, config diffs, best run, selection and bad input."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from tests.report_support import data_dir_env, seed_vision, stop_pending
from trackio_nb.errors import InvalidValue
from trackio_nb.readers import LocalReader
from trackio_nb.reports.data import collect, differing_keys, direction_for, flatten_config
from trackio_nb.reports.downsample import downsample


@pytest.fixture(scope="module")
def vision(tmp_path_factory):
    root = tmp_path_factory.mktemp("vision")
    ids, proc = seed_vision(root)
    reader = LocalReader(root)
    yield reader, ids
    reader.close()
    stop_pending(proc)


def test_downsample_keeps_everything_when_short():
    steps = np.arange(10)
    assert downsample(steps, steps * 1.0, 10).tolist() == list(range(10))


def test_downsample_keeps_first_last_min_max_and_blowups_per_window():
    steps = np.arange(1000)
    values = np.zeros(1000)
    values[123] = 5.0  # a spike inside window 1 (windows of 100 points with max_points=50)
    values[456] = -7.0  # a dip inside window 4
    values[789] = np.nan  # a blow-up inside window 7
    keep = downsample(steps, values, 50)
    assert len(keep) <= 50
    assert {0, 999, 123, 456, 789} <= set(keep.tolist())
    # each of the 10 windows keeps its first and last point
    assert {w * 100 for w in range(10)} | {w * 100 + 99 for w in range(10)} <= set(keep.tolist())
    assert keep.tolist() == sorted(set(keep.tolist()))


def test_downsample_bounds_and_errors():
    rng = np.random.default_rng(1)
    values = rng.normal(size=5003)
    for budget in (5, 17, 200, 1000):
        keep = downsample(np.arange(5003), values, budget)
        assert len(keep) <= budget
        assert keep[0] == 0 and keep[-1] == 5002
        assert int(np.argmax(values)) in keep and int(np.argmin(values)) in keep
    with pytest.raises(ValueError, match="at least 5"):
        downsample(np.arange(3), np.zeros(3), 4)
    with pytest.raises(ValueError, match="differ in length"):
        downsample(np.arange(3), np.zeros(4), 10)


def test_config_helpers():
    assert flatten_config({"opt": {"name": "sgd", "beta": {"1": 0.9}}, "lr": 1}) == {
        "opt.name": "sgd",
        "opt.beta.1": 0.9,
        "lr": 1,
    }
    configs = [{"lr": 0.1, "seed": 0}, {"lr": 0.2, "seed": 0}, {"lr": 0.1, "seed": 0, "extra": True}]
    assert differing_keys(configs) == ["extra", "lr"]
    assert differing_keys([{"b": 1, "a": 2}]) == ["a", "b"]
    assert differing_keys([]) == []
    nan = float("nan")
    mixed = [
        {"one": 1, "none": None, "nan": nan, "nested": {"x": 1, "y": [1, 2]}, "same": "s", "list": [1]},
        {"one": 1.0, "nan": float("nan"), "nested": {"y": [1, 2], "x": 1}, "same": "s", "list": [1]},
        {"one": True, "none": None, "nan": nan, "nested": {"x": 1, "y": [1, 2]}, "same": "s", "list": [1.0]},
    ]
    # 1, 1.0 and True differ (as their JSON does); a missing key differs from None; NaN equals NaN;
    # nested values compare by content, whatever their key order
    assert differing_keys(mixed) == ["list", "none", "one"]
    assert differing_keys([{"k": "1"}, {"k": 1}]) == ["k"]
    assert differing_keys([{"k": None}, {"k": None}]) == []
    # floats compare exactly, as their JSON spelling does: -0.0 is not 0.0, 0.1 + 0.2 is not 0.3
    assert differing_keys([{"k": 0.0}, {"k": -0.0}]) == ["k"]
    assert differing_keys([{"k": 0.1 + 0.2}, {"k": 0.3}]) == ["k"]
    assert differing_keys([{"k": 0.25, "i": float("inf")}, {"k": 0.25, "i": float("inf")}]) == []


def test_direction_guess():
    assert direction_for("loss") == "min"
    assert direction_for("val/loss") == "min"
    assert direction_for("train/accuracy") == "max"
    assert direction_for("eval/f1") == "max"
    assert direction_for("error_rate") == "min"
    assert direction_for("heatmap_loss") == "min"  # a loss, whatever else its name holds
    assert direction_for("top5_accuracy_error") == "min"
    assert direction_for("episode_reward") == "max"


def test_collect_exact_values(vision):
    reader, ids = vision
    data = collect(reader, "vision")
    assert [(r["name"], r["status"]) for r in data.runs] == [
        ("baseline", "finished"),
        ("wide", "finished"),
        ("wide", "failed"),
        ("pending", "running"),
    ]
    assert data.metrics == ["acc", "loss"]
    assert data.config_columns == ["batch", "lr", "opt.name"]  # seed is the same everywhere
    assert data.primary_metric == "loss"
    assert data.best["loss"] == {
        "run_id": ids["wide"],
        "run": "wide",
        "value": pytest.approx(0.52),
        "step": 49,
        "direction": "min",
    }
    assert data.best["acc"]["run_id"] == ids["wide"] and data.best["acc"]["direction"] == "max"
    base = data.finals[ids["baseline"]]["loss"]
    assert base["last"] == pytest.approx(1.02) and base["last_step"] == 49
    assert base["min"] == pytest.approx(1.02) and base["max"] == 2.0 and base["max_step"] == 0
    assert math.isnan(data.finals[ids["hot"]]["loss"]["last"])
    assert data.finals[ids["pending"]] == {}
    assert [(a["run_id"], a["level"], a["data"]["reason"]) for a in data.alerts] == [
        (ids["baseline"], "info", "custom"),
        (ids["hot"], "error", "nan_inf"),
    ]
    loss = {s["run_id"]: s for s in data.series["loss"]}
    assert set(loss) == {ids["baseline"], ids["wide"], ids["hot"]}
    assert loss[ids["hot"]]["steps"] == list(range(31))
    assert loss[ids["hot"]]["values"][-1] is None  # NaN travels as a gap
    assert loss[ids["baseline"]]["values"][:2] == [2.0, 1.98]


def test_collect_selects_runs_and_metrics(vision):
    reader, ids = vision
    data = collect(reader, "vision", runs=["baseline", ids["hot"]], metrics=["loss"], title="Two runs")
    assert [r["id"] for r in data.runs] == [ids["baseline"], ids["hot"]]
    assert data.metrics == ["loss"] and list(data.series) == ["loss"]
    assert data.title == "Two runs"
    assert data.config_columns == ["batch", "lr", "opt.name"]
    # only finished runs compete for best, as in `trackio-nb best`
    assert data.best["loss"]["run_id"] == ids["baseline"]


def test_collect_bad_input(vision):
    reader, _ = vision
    with pytest.raises(LookupError, match="no run named or with id 'nope'"):
        collect(reader, "vision", runs=["nope"])
    with pytest.raises(LookupError, match="named 'wide'"):
        collect(reader, "vision", runs=["wide"])  # ambiguous: two runs share the name
    with pytest.raises(ValueError, match="no metric 'lossy'"):
        collect(reader, "vision", metrics=["loss", "lossy"])
    with pytest.raises(InvalidValue, match="runs must be a list of strings"):
        collect(reader, "vision", runs="baseline")
    with pytest.raises(InvalidValue, match="metrics must be a list of strings"):
        collect(reader, "vision", metrics=[1])
    with pytest.raises(LookupError, match="no project named 'absent'"):
        collect(reader, "absent")


def test_report_function_writes_file_and_rejects_bad_paths(vision, tmp_path):
    import trackio_nb as tnb

    reader, _ = vision
    with data_dir_env(reader.root):
        out = tnb.report("vision", tmp_path / "sub" / "r.html")
        assert out == (tmp_path / "sub" / "r.html").resolve()
        text = out.read_text(encoding="utf-8")
        assert text.startswith("<!DOCTYPE html>")
        assert text.count("globalThis.vegaEmbed=") == 1
        umask = os.umask(0)
        os.umask(umask)
        assert out.stat().st_mode & 0o777 == 0o666 & ~umask
        assert [p.name for p in out.parent.iterdir()] == ["r.html"]  # no temporary file left
        with pytest.raises(ValueError, match="is a directory"):
            tnb.report("vision", tmp_path)
        with pytest.raises(InvalidValue, match="path must be a file path"):
            tnb.report("vision", 3)


def test_report_from_a_tracking_server_matches_the_local_one(vision, tmp_path):
    from tests.remote_support import TOKEN, ServerProcess
    from trackio_nb.remote.client_reader import RemoteReader

    reader, _ = vision
    server = ServerProcess(reader.root, cli=True).start()
    try:
        remote = collect(RemoteReader(server.url, TOKEN), "vision")
        proc = run_python_cli(
            ["report", "--project", "vision", "-o", str(tmp_path / "r.html"), "--server", server.url, "--json"],
            env={"TRACKIO_NB_TOKEN": TOKEN},
        )
    finally:
        server.stop()
    local = collect(reader, "vision")
    for field in ("runs", "metrics", "finals", "alerts", "config_columns", "best", "series", "primary_metric"):
        assert _nan_free(getattr(remote, field)) == _nan_free(getattr(local, field)), field
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"project": "vision", "path": str((tmp_path / "r.html").resolve())}
    assert "wide" in (tmp_path / "r.html").read_text(encoding="utf-8")


def test_cli_report_narrows_runs_and_metrics(vision, tmp_path):
    reader, ids = vision
    out = tmp_path / "narrow.html"
    proc = run_python_cli(
        ["report", "--project", "vision", "-o", str(out), "--runs", f"baseline,{ids['hot']}", "--metrics", "loss"],
        env={"TRACKIO_NB_DIR": str(reader.root)},
    )
    assert proc.returncode == 0, proc.stderr
    text = out.read_text(encoding="utf-8")
    assert text.count('class="tnbr-name"') == 2 and ids["wide"] not in text and ids["hot"] in text
    assert text.count('class="tnbr-chart"') == 1
    bad = run_python_cli(
        ["report", "--project", "vision", "--metrics", "nope"], env={"TRACKIO_NB_DIR": str(reader.root)}
    )
    assert bad.returncode != 0 and "no metric 'nope'" in bad.stderr and "Traceback" not in bad.stderr


def run_python_cli(argv: list[str], env: dict[str, str]):
    full = {k: v for k, v in os.environ.items() if not k.startswith("TRACKIO_NB_")}
    return subprocess.run(
        [sys.executable, "-m", "trackio_nb", *argv], env={**full, **env}, capture_output=True, text=True, timeout=120
    )


def _nan_free(value):
    """NaN compares unequal to itself: spell it out so two reads can be compared."""
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if isinstance(value, dict):
        return {k: _nan_free(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nan_free(v) for v in value]
    return value


def test_tnb_report_is_the_function_before_and_after_the_module_is_imported(tmp_path):
    code = """
import trackio_nb as tnb
run = tnb.init("p", "r"); run.log({"x": 1.0}); run.finish()
first = tnb.report("p", "a.html")          # resolved lazily: the function
import trackio_nb.reports
from trackio_nb.reports import report
second = tnb.report("p", "b.html")         # the package is `reports`: tnb.report stays the function
print(report.__module__, first.name, second.name)
"""
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={**os.environ, "TRACKIO_NB_DIR": str(tmp_path / "data")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["trackio_nb.reports", "a.html", "b.html"]
    assert (tmp_path / "a.html").read_text(encoding="utf-8").count('class="tnbr-chart"') == 1


def test_runs_without_metrics_give_a_report_without_charts(tmp_path):
    import trackio_nb as tnb

    tnb.init("quiet", "idle", config={"lr": 0.1}, dir=tmp_path).finish()
    with data_dir_env(tmp_path):
        data = collect(LocalReader(tmp_path), "quiet")
        text = tnb.report("quiet", tmp_path / "q.html").read_text(encoding="utf-8")
    assert (data.metrics, data.best, data.primary_metric, data.alerts) == ([], {}, None, [])
    assert data.config_columns == ["lr"]  # one run: all of its config
    assert "No numeric metrics to chart." in text and "No alerts." in text
    assert 'id="tnbr-run-counts">1: <span class="tnbr-count tnbr-finished">1 finished</span>' in text


def test_report_spec_adds_legend_toggle_and_best_line_only_where_missing():
    from trackio_nb.reports.components import report_spec
    from trackio_nb.widgets.spec import report_chart_spec

    spec = report_chart_spec()
    out = report_spec(spec, "abc123abc123")
    unit = out["spec"]
    assert unit["params"] == [{"name": "tnb_pick", "select": {"type": "point", "fields": ["run"]}, "bind": "legend"}]
    assert unit["encoding"]["opacity"] == {"condition": {"param": "tnb_pick", "value": 1.0}, "value": 0.12}
    assert unit["encoding"]["strokeWidth"]["condition"]["test"] == 'datum.run_id === "abc123abc123"'
    assert "params" not in spec["spec"] and "strokeWidth" not in spec["spec"]["encoding"]  # input untouched
    # a spec that already toggles runs keeps its own params; no best run: no stroke rule
    own = json.loads(json.dumps(spec))
    own["spec"]["params"] = [{"name": "mine", "select": "interval"}]
    kept = report_spec(own, None)
    assert kept["spec"]["params"] == [{"name": "mine", "select": "interval"}]
    assert "opacity" not in kept["spec"]["encoding"] and "strokeWidth" not in kept["spec"]["encoding"]
    layered = {"layer": [spec["spec"]], "encoding": {}}
    assert report_spec(layered, "x") is layered
