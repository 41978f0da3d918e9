"""`trackio-nb get history`: a run's metrics cut to --max-points, first/last/min/max kept."""

from __future__ import annotations

import math

import pytest

import trackio_nb as tnb
from tests.test_cli import strict_json
from trackio_nb.cli import main

PROJECT = "hist"
N = 1000


@pytest.fixture(scope="module")
def seed(tmp_path_factory):
    root = tmp_path_factory.mktemp("hist")
    run = tnb.init(PROJECT, "long", dir=root)
    for step in range(N):
        # a smooth descent with one spike, one dip and one NaN in the middle
        loss = {400: 50.0, 600: -5.0}.get(step, 10.0 - step / 200)
        run.log({"loss": math.nan if step == 700 else loss, **({"acc": step / N} if step % 100 == 0 else {})})
    run.finish()
    return {"root": root, "id": run.id}


@pytest.fixture
def cli(seed, monkeypatch, capsys):
    monkeypatch.setenv("TRACKIO_NB_DIR", str(seed["root"]))

    def run(*argv: str):
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_history_keeps_ends_extremes_and_the_nan(cli, seed):
    code, out, err = cli("get", "history", "--project", PROJECT, "--run", "long", "--max-points", "50", "--json")
    assert (code, err) == (0, "")
    doc = strict_json(out)
    assert (doc["project"], doc["run"], doc["run_id"], doc["max_points"]) == (PROJECT, "long", seed["id"], 50)
    assert [s["metric"] for s in doc["metrics"]] == ["acc", "loss"]
    acc, loss = doc["metrics"]
    assert (acc["num_values"], [v["step"] for v in acc["values"]]) == (10, list(range(0, N, 100)))
    assert loss["num_values"] == N
    steps = [v["step"] for v in loss["values"]]
    assert len(steps) <= 50 and steps == sorted(set(steps))
    assert (steps[0], steps[-1]) == (0, N - 1)
    by_step = {v["step"]: v["value"] for v in loss["values"]}
    assert (by_step[400], by_step[600], by_step[700]) == (50.0, -5.0, "NaN")
    assert all(v["timestamp"].startswith("20") for v in loss["values"])


def test_history_of_one_metric_and_default_max_points(cli):
    code, out, _ = cli("get", "history", "--project", PROJECT, "--run", "long", "--metric", "acc", "--json")
    doc = strict_json(out)
    assert (code, doc["max_points"], [s["metric"] for s in doc["metrics"]]) == (0, 500, ["acc"])
    assert [v["value"] for v in doc["metrics"][0]["values"]] == [s / 10 for s in range(10)]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--max-points", "4"], "error: --max-points must be at least 5, got 4\n"),
        (["--max-points", "0"], "error: --max-points must be at least 5, got 0\n"),
        (["--max-points", "x"], "--max-points must be an integer, got 'x'"),
        (["--metric", "nope"], "has no metric 'nope'"),
    ],
)
def test_history_bad_input_is_one_line(cli, argv, message):
    code, out, err = cli("get", "history", "--project", PROJECT, "--run", "long", *argv)
    assert (code, out) == (1, "")
    assert err.startswith("trackio-nb: error: ") and message in err and err.count("\n") == 1


def test_history_human_output(cli):
    code, out, _ = cli("get", "history", "--project", PROJECT, "--run", "long", "--metric", "acc")
    lines = out.splitlines()
    assert code == 0
    assert lines[0].startswith("history of run 'long' (id ") and lines[0].endswith("at most 500 points per metric")
    assert lines[2] == "acc: 10 of 10 values"
    assert lines[3].split() == ["step", "time", "(UTC)", "value"]
