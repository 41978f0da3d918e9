"""The read Api over one seeded project (seeded once per module, review M3)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import numpy as np
import polars as pl
import pytest

import trackio_nb as tnb
from trackio_nb.errors import AmbiguousRun, ProjectNotFound, RunNotFound


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    root = tmp_path_factory.mktemp("seeded")
    runs = {}
    a = tnb.init("proj", "alpha", config={"lr": 0.1}, group="g1", dir=root)
    for step, loss in enumerate([3.0, 1.0, 2.0, 0.5, 0.75]):
        a.log({"loss": loss, "acc": step / 10})
    a.alert("first", "hello", level=tnb.AlertLevel.INFO, data={"reason": "custom", "nested": {"k": [1, 2]}})
    a.log({"loss": float("nan"), "inf": float("inf"), "ninf": -math.inf})
    a.alert("second", level=tnb.AlertLevel.ERROR, data={"reason": "nan_inf"})
    a.finish()
    runs["alpha"] = a.id
    # Two runs share a name: they must never merge.
    for i, values in enumerate(([10.0, 9.0], [20.0, 30.0, 40.0])):
        r = tnb.init("proj", "twin", config={"i": i}, dir=root)
        for v in values:
            r.log({"loss": v})
        r.finish()
        runs[f"twin{i}"] = r.id
    silent = tnb.init("proj", "silent", dir=root)  # never logs, stays running (this process lives)
    runs["silent"] = silent.id
    yield root, runs
    silent.finish()


def test_runs_include_run_that_never_logged(seeded):
    root, ids = seeded
    runs = tnb.Api(dir=root).runs("proj")
    assert [(r.name, r.status) for r in runs] == [
        ("alpha", "finished"),
        ("twin", "finished"),
        ("twin", "finished"),
        ("silent", "running"),
    ]
    silent = tnb.Api(dir=root).run("proj", ids["silent"])
    assert silent.metrics() == []
    assert silent.final_metrics() == {}
    assert silent.history().columns == ["step", "timestamp"]


def test_final_metrics_is_a_method_with_exact_values(seeded):
    root, _ = seeded
    alpha = tnb.Api(dir=root).run("proj", "alpha")
    assert callable(alpha.final_metrics)
    last = alpha.final_metrics()
    assert math.isnan(last["loss"])  # the last logged loss was NaN
    assert last["acc"] == 0.4 and last["inf"] == math.inf and last["ninf"] == -math.inf
    assert alpha.final_metrics(mode="min") == {"acc": 0.0, "inf": math.inf, "loss": 0.5, "ninf": -math.inf}
    assert alpha.final_metrics(mode="max") == {"acc": 0.4, "inf": math.inf, "loss": 3.0, "ninf": -math.inf}
    with pytest.raises(ValueError, match="mode must be one of last, min, max"):
        alpha.final_metrics(mode="best")


def test_history_of_one_metric_holds_only_that_metric(seeded):
    root, _ = seeded
    alpha = tnb.Api(dir=root).run("proj", "alpha")
    loss = alpha.history("loss")
    assert loss.columns == ["step", "timestamp", "loss"]
    assert loss["step"].to_list() == [0, 1, 2, 3, 4, 5]
    assert loss["loss"].to_list()[:5] == [3.0, 1.0, 2.0, 0.5, 0.75]
    assert math.isnan(loss["loss"][5])
    assert loss.schema["timestamp"] == pl.Datetime("us", "UTC")
    full = alpha.history()
    assert full.columns == ["step", "timestamp", "acc", "inf", "loss", "ninf"]
    assert full["inf"].to_list() == [None] * 5 + [math.inf]
    assert alpha.metrics() == ["acc", "inf", "loss", "ninf"]


def test_runs_with_one_name_stay_apart(seeded):
    root, ids = seeded
    api = tnb.Api(dir=root)
    first, second = (api.run("proj", ids["twin0"]), api.run("proj", ids["twin1"]))
    assert first.config == {"i": 0} and second.config == {"i": 1}
    assert first.history("loss")["loss"].to_list() == [10.0, 9.0]
    assert second.history("loss")["loss"].to_list() == [20.0, 30.0, 40.0]
    assert first.final_metrics("max") == {"loss": 10.0}
    assert second.final_metrics("min") == {"loss": 20.0}
    with pytest.raises(AmbiguousRun, match=r"2 runs in 'proj' are named 'twin' \(ids .*\); pass an id"):
        api.run("proj", "twin")


def test_alert_filters_and_cursor(seeded):
    root, ids = seeded
    api = tnb.Api(dir=root)
    alerts = api.alerts("proj")
    assert [(a["title"], a["level"], a["step"], a["run"], a["run_id"]) for a in alerts] == [
        ("first", "info", 4, "alpha", ids["alpha"]),
        ("second", "error", 5, "alpha", ids["alpha"]),
    ]
    assert alerts[0]["data"] == {"reason": "custom", "nested": {"k": [1, 2]}}
    assert alerts[0]["id"] < alerts[1]["id"]
    assert [a["title"] for a in api.alerts("proj", after_id=alerts[0]["id"])] == ["second"]
    assert [a["title"] for a in api.alerts("proj", level="error")] == ["second"]
    assert [a["title"] for a in api.alerts("proj", level=tnb.AlertLevel.INFO)] == ["first"]
    assert [a["title"] for a in api.alerts("proj", reason=tnb.AlertReason.NAN_INF)] == ["second"]
    assert api.alerts("proj", run=ids["twin0"]) == []
    stamp = datetime.fromisoformat(alerts[1]["timestamp"])
    assert [a["title"] for a in api.alerts("proj", since=stamp)] == ["second"]
    naive_utc = stamp.astimezone(timezone.utc).replace(tzinfo=None).isoformat()
    assert [a["title"] for a in api.alerts("proj", since=naive_utc)] == ["second"]
    later = stamp + timedelta(seconds=1)
    assert api.alerts("proj", since=later.astimezone(timezone(timedelta(hours=5)))) == []
    assert [a["title"] for a in api.run("proj", "alpha").alerts(level="info")] == ["first"]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"level": "fatal"}, ValueError, "level must be one of info, warn, error"),
        ({"level": 3}, TypeError, "level must be an AlertLevel or a string"),  # SPEC: wrong types TypeError
        ({"reason": "boom"}, ValueError, "reason must be one of"),
        ({"after_id": "3"}, TypeError, "after_id must be an integer"),
        ({"after_id": -1}, ValueError, "after_id must be >= 0"),
        ({"since": "yesterday"}, ValueError, "since must be an ISO-8601"),
        ({"since": 12}, TypeError, "since must be a datetime"),
    ],
)
def test_alert_filter_errors(seeded, kwargs, error, message):
    root, _ = seeded
    with pytest.raises(error, match=message):
        tnb.Api(dir=root).alerts("proj", **kwargs)


def test_unknown_project_and_run(seeded):
    root, _ = seeded
    api = tnb.Api(dir=root)
    with pytest.raises(ProjectNotFound, match="no project named 'nope'"):
        api.runs("nope")
    with pytest.raises(RunNotFound, match="has no run named or with id 'ghost'"):
        api.run("proj", "ghost")
    assert api.projects() == ["proj"]


def test_numpy_scalars_and_text_values(data_dir):
    run = tnb.init("types")
    run.log({"a": np.float32(0.5), "b": np.int64(3), "c": np.array(2.5), "note": "warmup", "flag": True})
    run.log({"a": 1.5, "note": {"phase": 2}})
    run.finish()
    view = tnb.Api().run("types", run.id)
    assert view.final_metrics() == {"a": 1.5, "b": 3.0, "c": 2.5}
    hist = view.history()
    assert hist.columns == ["step", "timestamp", "a", "b", "c", "flag", "note"]
    assert hist["note"].to_list() == ["warmup", '{"phase": 2}']  # a string reads back as itself
    assert hist["flag"].to_list() == ["true", None]
    assert view.metrics() == ["a", "b", "c", "flag", "note"]


def test_torch_zero_dim_tensors_are_numbers(data_dir):
    import torch  # a test dependency (the [test] extra pins the CPU build); imported here to keep collection fast

    run = tnb.init("torch", "t")
    run.watch("loss", nan=True)
    run.log({"loss": torch.tensor(0.25), "acc": torch.tensor(3, dtype=torch.int64)})
    run.log({"loss": torch.tensor(float("nan")), "w": torch.ones(2, 2, requires_grad=True)})
    run.finish()
    view = tnb.Api().run("torch", "t")
    assert view.history("loss")["loss"].to_list()[0] == 0.25
    assert view.final_metrics("max") == {"acc": 3.0, "loss": 0.25}
    assert [(a["step"], a["data"]["reason"]) for a in view.alerts()] == [(1, "nan_inf")]
    w = view.history("w")  # a 2x2 tensor is not a number: kept as JSON text
    assert (w["step"].to_list(), w["w"].to_list()) == ([1], ["[[1.0, 1.0], [1.0, 1.0]]"])


def test_history_survives_metrics_named_like_its_own_columns(data_dir):
    """`step`/`timestamp` metrics (refused by log() now, possible in older files) are left out, not a crash."""
    import time as _time

    from trackio_nb.backend import RunSpec
    from trackio_nb.local_backend import LocalBackend

    backend = LocalBackend("reserved")
    identity = backend.open_run(RunSpec("reserved", "old", None, {}, "never", "h", 1, _time.time()))
    now = _time.time()
    backend.write([(0, now, {"step": 5.0, "timestamp": 1.0, "loss": 0.5}, {"note": '"hi"'})], [], None)
    backend.set_status("finished", now)
    backend.close()
    view = tnb.Api().run("reserved", identity.id)
    hist = view.history()
    assert hist.columns == ["step", "timestamp", "loss", "note"]
    assert (hist["step"].to_list(), hist["loss"].to_list(), hist["note"].to_list()) == ([0], [0.5], ["hi"])
    assert view.final_metrics() == {"loss": 0.5, "step": 5.0, "timestamp": 1.0}  # still readable as values
