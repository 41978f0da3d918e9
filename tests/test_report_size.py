"""Report size follows the number of runs and metrics, not the length of their histories."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest

import trackio_nb as tnb
from tests.report_support import data_dir_env
from trackio_nb.reports.data import CHART_POINTS, MAX_SERIES_POINTS
from trackio_nb.reports.downsample import downsample
from trackio_nb.widgets.bundle import vega_bundle

RUNS, METRICS = 3, 2


def _wave(run: int, metric: int, step: int) -> float:
    return (metric + 1) * math.exp(-step / 3000) + 0.1 * math.sin(step / 7 + run)


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """The same project shape logged for 1,500 and for 15,000 steps, and both reports."""
    out = {}
    for steps in (1_500, 15_000):
        root = tmp_path_factory.mktemp(f"steps{steps}")
        for r in range(RUNS):
            run = tnb.init("size", f"run-{r}", config={"lr": 0.1 * (r + 1)}, dir=root)
            for s in range(steps):
                run.log({f"m{m}": _wave(r, m, s) for m in range(METRICS)})
            run.finish()
        with data_dir_env(root):
            out[steps] = tnb.report("size", root / "size.html")
    return out


def _blob(path):
    text = path.read_text(encoding="utf-8")
    raw = re.search(r'<script type="application/json" id="tnbr-report-data">(.*?)</script>', text).group(1)
    return json.loads(raw)


def test_ten_times_longer_histories_give_about_the_same_size(reports):
    bundle = len(vega_bundle().encode())
    short, long = (reports[n].stat().st_size - bundle for n in (1_500, 15_000))
    assert MAX_SERIES_POINTS == 1_000 and CHART_POINTS // RUNS > MAX_SERIES_POINTS
    # ten times the history, well under twice the bytes: each series is cut to <= 1,000 points
    assert long < 2 * short, (short, long)
    points = {n: sum(len(s["x"]) for c in _blob(p)["charts"] for s in c["series"]) for n, p in reports.items()}
    assert points[15_000] <= RUNS * METRICS * MAX_SERIES_POINTS < RUNS * METRICS * 15_000
    expected = sum(
        len(downsample(np.arange(15_000), np.array([_wave(r, m, s) for s in range(15_000)]), MAX_SERIES_POINTS))
        for r in range(RUNS)
        for m in range(METRICS)
    )
    assert points[15_000] == expected


def test_downsampled_series_keep_ends_and_extremes(reports):
    for steps, path in reports.items():
        charts = _blob(path)["charts"]
        assert [c["metrics"] for c in charts] == [["m0"], ["m1"]]
        for chart in charts:
            metric = int(chart["metrics"][0][1:])
            assert [s["run"] for s in chart["series"]] == ["run-0", "run-1", "run-2"]
            for series in chart["series"]:
                run = int(series["run"].split("-")[1])
                full = [_wave(run, metric, s) for s in range(steps)]
                xs, ys = series["x"], series["y"]
                assert len(xs) == len(ys) <= MAX_SERIES_POINTS
                assert xs == sorted(set(xs)) and xs[0] == 0 and xs[-1] == steps - 1
                lo, hi = min(range(steps), key=full.__getitem__), max(range(steps), key=full.__getitem__)
                assert lo in xs and hi in xs
                assert ys[xs.index(hi)] == pytest.approx(full[hi], rel=1e-5)  # 6 significant digits


def test_short_histories_are_not_downsampled(tmp_path):
    run = tnb.init("short", "only", dir=tmp_path)
    for s in range(40):
        run.log({"loss": 1.0 / (s + 1)})
    run.finish()
    with data_dir_env(tmp_path):
        path = tnb.report("short", tmp_path / "short.html")
    (series,) = _blob(path)["charts"][0]["series"]
    assert series["x"] == list(range(40))
    assert series["y"] == [float(f"{1.0 / (s + 1):.6g}") for s in range(40)]
