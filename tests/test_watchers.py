"""Watchers through the production path: init -> watch -> log (module and run.log) -> Api.

Every test reads the stored alerts back with `tnb.Api()` after `run.flush()`.
"""

from __future__ import annotations

import math
import sys
import threading
import time
import warnings

import numpy as np
import pytest

import trackio_nb as tnb
from tests.remote_support import TOKEN, ServerProcess
from trackio_nb.enums import AlertLevel, AlertReason
from trackio_nb.watchers import Watcher

NAN = float("nan")
INF = float("inf")


def stored(run: tnb.Run, **filters) -> list[dict]:
    run.flush()
    return tnb.Api().alerts(run.project, run=run.id, **filters)


def log_series(run: tnb.Run, metric: str, values, *, via_module: bool = False) -> None:
    for value in values:
        if via_module:
            tnb.log({metric: value})
        else:
            run.log({metric: value})


def fired(run: tnb.Run) -> list[tuple[int, str, str]]:
    """(step, metric, reason) of every stored alert."""
    return [(a["step"], a["data"]["metric"], a["data"]["reason"]) for a in stored(run)]


# -- NaN / Inf ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "shown"),
    [
        (NAN, "NaN"),
        (INF, "Infinity"),
        (-INF, "-Infinity"),
        (np.float32("nan"), "NaN"),
        (np.float64("inf"), "Infinity"),
        (np.array(-np.inf), "-Infinity"),  # a 0-d array: the scalar protocol 0-d tensors share
    ],
)
def test_nan_inf_through_module_log_stores_one_error_alert_and_stops(bad, shown):
    run = tnb.init("watch-nan")
    tnb.watch("loss")
    tnb.log({"loss": 1.0, "acc": 0.5})
    assert tnb.should_stop() is False
    tnb.log({"loss": bad, "acc": 0.6})
    assert tnb.should_stop() is True
    assert run.should_stop() is True
    alerts = stored(run)
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert["level"] == AlertLevel.ERROR == "error"
    assert alert["step"] == 1
    assert alert["data"] == {"metric": "loss", "value": shown, "step": 1, "reason": "nan_inf"}
    assert alert["data"]["reason"] == tnb.AlertReason.NAN_INF
    assert [a["id"] for a in tnb.Api().alerts("watch-nan", reason=tnb.AlertReason.NAN_INF)] == [alert["id"]]
    history = tnb.Api().run("watch-nan", run.id).history("loss")
    assert history["loss"][0] == 1.0
    stored_value = history["loss"][1]
    assert math.isnan(stored_value) if shown == "NaN" else stored_value == float(shown)


def test_nan_through_run_log_fires_once_per_excursion():
    run = tnb.init("watch-nan-run")
    run.watch("loss")
    log_series(run, "loss", [1.0, NAN, NAN, INF, 2.0, NAN])
    assert fired(run) == [(1, "loss", "nan_inf"), (5, "loss", "nan_inf")]
    assert run.should_stop()


def test_nan_false_ignores_non_finite_values_for_every_other_rule():
    run = tnb.init("watch-nan-off")
    run.watch("loss", nan=False, max_value=10.0, min_value=0.0, spike_factor=2.0, window=2, patience=2)
    log_series(run, "loss", [5.0, 5.0, INF, -INF, NAN, 5.0])
    # the three non-finite values neither fire nor enter the spike window or the patience count
    assert fired(run) == [(5, "loss", "stagnation")]
    alert = stored(run)[0]
    assert alert["data"]["steps_without_improvement"] == 2


# -- watchers belong to the current run ------------------------------------------------------


def test_watch_before_init_raises():
    with pytest.raises(RuntimeError, match=r"init\(project\) first"):
        tnb.watch("loss")


def test_watch_on_a_finished_run_raises():
    run = tnb.init("watch-finished")
    run.finish()
    with pytest.raises(RuntimeError, match="is finished"):
        run.watch("loss")
    with pytest.raises(RuntimeError, match="is finished"):
        tnb.watch("loss")  # still the current run, but finished
    tnb.init("watch-finished")
    tnb.finish()
    with pytest.raises(RuntimeError, match=r"init\(project\) first"):
        tnb.watch("loss")


def test_second_init_drops_watchers_and_says_so():
    first = tnb.init("watch-reinit")
    tnb.watch("loss")
    tnb.watch("acc", min_value=0.1)
    with pytest.warns(UserWarning, match=r"dropped its 2 watcher\(s\); the new run starts with none"):
        second = tnb.init("watch-reinit")
    assert first.status == "finished"
    tnb.log({"loss": NAN, "acc": 0.0})
    assert tnb.should_stop() is False
    assert stored(second) == []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tnb.init("watch-reinit")  # second had no watchers: no warning
    third = tnb.init("watch-reinit")
    third.watch("loss")
    third.finish()  # ended through the Run: nothing left to finish or drop
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tnb.init("watch-reinit")
    assert third.status == "finished"


def test_watch_again_replaces_the_metrics_rules():
    run = tnb.init("watch-replace")
    run.watch("loss", max_value=1.0)
    run.watch("loss", nan=False, min_value=0.0)
    log_series(run, "loss", [5.0, NAN, -1.0])
    assert fired(run) == [(2, "loss", "min_exceeded")]
    assert run.should_stop() is False
    with pytest.warns(UserWarning, match=r"dropped its 1 watcher\(s\)"):
        tnb.init("watch-replace")


# -- spike ----------------------------------------------------------------------------------


def test_spike_fires_at_3_5_not_2_9_and_on_a_drop():
    run = tnb.init("watch-spike")
    for metric in ("up_small", "up_big", "down", "down_small", "edge"):
        tnb.watch(metric, nan=False, spike_factor=3.0, window=5)
    for _ in range(5):
        tnb.log({"up_small": 1.0, "up_big": 1.0, "down": 1.0, "down_small": 1.0, "edge": 1.0})
    # avg 1.0: fires when |value - 1.0| > (3.0 - 1) * |1.0| = 2.0
    tnb.log({"up_small": 2.9, "up_big": 3.5, "down": -1.5, "down_small": -0.9, "edge": 3.0})
    assert fired(run) == [(5, "up_big", "spike"), (5, "down", "spike")]
    by_metric = {a["data"]["metric"]: a for a in stored(run, reason=AlertReason.SPIKE)}
    assert by_metric["up_big"]["level"] == "warn"
    assert by_metric["up_big"]["data"] == {
        "metric": "up_big",
        "value": 3.5,
        "step": 5,
        "reason": "spike",
        "recent_avg": 1.0,
        "factor": 3.0,
        "window": 5,
    }
    assert by_metric["down"]["data"]["value"] == -1.5
    assert run.should_stop() is False


def test_spike_waits_for_a_full_window_and_uses_the_previous_values_only():
    run = tnb.init("watch-spike-window")
    run.watch("x", nan=False, spike_factor=2.0, window=3)
    # steps 1-2: fewer than 3 earlier values, no check. Step 3: mean(1, 100, 1) = 34, |1-34| = 33 > 34? no.
    # Step 4: mean(100, 1, 1) = 34, |200 - 34| = 166 > 34: spike. Step 5: mean(1, 1, 200) = 67.33..., |1 - 67.3| < 67.3
    log_series(run, "x", [1.0, 100.0, 1.0, 1.0, 200.0, 1.0])
    assert fired(run) == [(4, "x", "spike")]
    assert stored(run)[0]["data"]["recent_avg"] == 34.0


# -- patience -------------------------------------------------------------------------------


def test_patience_fires_on_the_third_non_improvement_after_the_best():
    run = tnb.init("watch-patience")
    tnb.watch("loss", nan=False, patience=3)
    # step 0 sets best 1.0; step 1 improves (best 0.9, count 0); steps 2, 3, 4 count 1, 2, 3: fires at step 4
    log_series(run, "loss", [1.0, 0.9, 0.95, 0.95, 0.95, 0.95], via_module=True)
    assert fired(run) == [(4, "loss", "stagnation")]
    alert = stored(run)[0]
    assert alert["level"] == "warn"
    assert alert["data"] == {
        "metric": "loss",
        "value": 0.95,
        "step": 4,
        "reason": "stagnation",
        "best_value": 0.9,
        "steps_without_improvement": 3,
        "patience": 3,
        "min_delta": 0.0,
        "mode": "min",
    }
    assert tnb.should_stop() is True


def test_patience_mode_max_with_min_delta_counts_values_not_steps_and_rearms():
    run = tnb.init("watch-patience-max")
    run.watch("acc", nan=False, patience=3, mode="max", min_delta=0.5)
    # explicit, sparse steps: patience counts logged values of the metric, not step numbers
    values = [1.0, 1.25, 2.0, 2.25, 2.5, 2.5, 3.5, 3.5, 3.5, 3.5]
    for i, value in enumerate(values):
        run.log({"acc": value}, step=i * 10)
    # 1.25 counts 1; 2.0 beats 1.0 by 1.0 > 0.5: best 2.0; 2.25, 2.5 (beats by exactly 0.5: not more), 2.5
    # count 1, 2, 3 -> fires at step 50; 3.5 beats 2.0 by 1.5: best, count 0; three more 3.5 -> fires at step 90
    assert fired(run) == [(50, "acc", "stagnation"), (90, "acc", "stagnation")]
    assert [a["data"]["best_value"] for a in stored(run)] == [2.0, 3.5]


# -- thresholds -----------------------------------------------------------------------------


def test_max_value_is_an_error_once_per_excursion_and_stops():
    run = tnb.init("watch-max")
    run.watch("loss", max_value=10.0)
    log_series(run, "loss", [1.0, 10.0, 11.0, 12.0, 5.0, 15.0, np.float32(20.0)])
    assert fired(run) == [(2, "loss", "max_exceeded"), (5, "loss", "max_exceeded")]
    alerts = stored(run)
    assert [a["level"] for a in alerts] == ["error", "error"]
    assert alerts[0]["data"] == {
        "metric": "loss",
        "value": 11.0,
        "step": 2,
        "reason": "max_exceeded",
        "threshold": 10.0,
    }
    assert run.should_stop() is True


def test_min_value_warns_once_per_excursion_and_does_not_stop():
    run = tnb.init("watch-min")
    tnb.watch("acc", min_value=0.0)
    log_series(run, "acc", [5.0, 0.0, -1.0, -2.0, 3.0, -4.0], via_module=True)
    assert fired(run) == [(2, "acc", "min_exceeded"), (5, "acc", "min_exceeded")]
    assert [a["level"] for a in stored(run)] == ["warn", "warn"]
    assert stored(run)[1]["data"]["threshold"] == 0.0
    assert tnb.should_stop() is False


# -- custom rules ---------------------------------------------------------------------------


def test_custom_fn_true_gives_one_warn_alert_and_sees_value_and_step():
    calls = []

    def rule(value, step):
        calls.append((value, step))
        return value > 2

    run = tnb.init("watch-custom-true")
    tnb.watch("x", nan=False, fn=rule)
    log_series(run, "x", [1.0, 3.0, 2.0], via_module=True)
    tnb.log({"other": 9.0})
    assert calls == [(1.0, 0), (3.0, 1), (2.0, 2)]
    alerts = stored(run)
    assert len(alerts) == 1
    assert alerts[0]["level"] == "warn"
    assert alerts[0]["data"] == {"metric": "x", "value": 3.0, "step": 1, "reason": "custom"}
    assert tnb.should_stop() is False


def test_custom_fn_list_of_alerts_with_and_without_stop():
    def rule(value, step):
        if step == 1:
            return [{"title": "odd", "text": "step one", "level": "info", "data": {"n": [1, {"k": None}]}}]
        if step == 2:
            return [{"title": "first"}, {"title": "second", "level": AlertLevel.ERROR, "stop": True}]
        return []

    run = tnb.init("watch-custom-list")
    run.watch("x", nan=False, fn=rule)
    run.log({"x": 0.0})
    run.log({"x": 1.0})
    assert run.should_stop() is False
    run.log({"x": 2.0})
    assert run.should_stop() is True
    alerts = stored(run)
    assert [(a["title"], a["level"], a["step"]) for a in alerts] == [
        ("odd", "info", 1),
        ("first", "warn", 2),
        ("second", "error", 2),
    ]
    assert alerts[0]["text"] == "step one"
    assert alerts[0]["data"] == {"n": [1, {"k": None}], "metric": "x", "value": 1.0, "step": 1, "reason": "custom"}


@pytest.mark.parametrize(
    ("result", "message"),
    [
        ("yes", "must return a falsy value, True or a list of alert dicts, got str"),
        ([{"text": "no title"}], "needs a 'title'"),
        ([{"title": "t", "colour": "red"}], r"unknown alert key\(s\) \['colour'\]"),
        (["t"], "must be a dict, got str"),
        ([{"title": "t", "data": [1]}], "'data' must be a dict, got list"),
    ],
)
def test_custom_fn_bad_results_are_clear_errors(result, message):
    run = tnb.init("watch-custom-bad")
    run.watch("x", nan=False, fn=lambda value, step: result)
    with pytest.raises(TypeError, match=message):
        run.log({"x": 1.0})


def test_an_exception_in_fn_propagates_after_the_built_in_alerts_of_that_call_are_raised():
    def broken(value, step):
        raise ZeroDivisionError("bug in my rule")

    run = tnb.init("watch-custom-raises")
    run.watch("loss")
    run.watch("gap", nan=False, fn=broken)
    with pytest.raises(ZeroDivisionError, match="bug in my rule"):
        run.log({"loss": NAN, "gap": 1.0})
    assert fired(run) == [(0, "loss", "nan_inf")]  # the NaN alert is not lost to the fn's error
    assert run.should_stop() is True
    assert tnb.Api().run("watch-custom-raises", run.id).history("loss")["step"].to_list() == [0]


# -- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metric", "rules", "error", "message"),
    [
        ("loss", {"mode": "MIN"}, ValueError, "mode must be 'min' or 'max', got 'MIN'"),
        ("loss", {"window": 0}, ValueError, "window must be a positive integer, got 0"),
        ("loss", {"window": -3}, ValueError, "window must be a positive integer, got -3"),
        ("loss", {"window": 2.5}, TypeError, "window must be a positive integer, got float"),
        ("loss", {"window": True}, TypeError, "window must be a positive integer, got bool"),
        ("loss", {"patience": 0}, ValueError, "patience must be a positive integer, got 0"),
        ("loss", {"patience": "3"}, TypeError, "patience must be a positive integer, got str"),
        ("loss", {"min_delta": -0.1}, ValueError, "min_delta must be >= 0, got -0.1"),
        ("loss", {"spike_factor": 1.0}, ValueError, "spike_factor must be greater than 1"),
        ("loss", {"spike_factor": 0.5}, ValueError, "spike_factor must be greater than 1"),
        ("loss", {"spike_factor": NAN}, ValueError, "spike_factor must be a finite number"),
        ("loss", {"max_value": "10"}, TypeError, "max_value must be a number, got str"),
        ("loss", {"min_value": INF}, ValueError, "min_value must be a finite number"),
        ("loss", {"min_value": 2.0, "max_value": 1.0}, ValueError, "min_value .* must not be greater than max_value"),
        ("loss", {"nan": "yes"}, TypeError, "nan must be True or False"),
        ("loss", {"fn": 42}, TypeError, "fn must be callable as fn\\(value, step\\), got int"),
        ("loss", {"fn": lambda value: value}, TypeError, "fn must accept two positional arguments"),
        ("loss", {"fn": lambda value, step, extra: 0}, TypeError, "fn must accept two positional arguments"),
        ("loss", {"nan": False}, ValueError, "has no rule"),
        ("loss", {"patiense": 3}, TypeError, "patiense"),
        (3, {}, TypeError, "metric must be a string, got int"),
        (None, {}, TypeError, "metric must be a string, got NoneType"),
        ("", {}, ValueError, "metric: metric names must not be empty"),
    ],
)
@pytest.mark.parametrize("path", ["module", "run"])
def test_registration_errors_name_the_argument_and_attach_nothing(path, metric, rules, error, message):
    run = tnb.init("watch-validate")
    watch = tnb.watch if path == "module" else run.watch
    with pytest.raises(error, match=message):
        watch(metric, **rules)
    assert run._watchers is None  # tracked_run.py attaches a watcher set only after add() succeeded
    run.log({"loss": NAN})
    assert stored(run) == []


def test_a_failed_watch_leaves_earlier_watchers_untouched():
    run = tnb.init("watch-validate-keep")
    run.watch("loss", max_value=1.0)
    with pytest.raises(ValueError, match="window"):
        run.watch("loss", spike_factor=2.0, window=0)
    run.log({"loss": 2.0})
    assert fired(run) == [(0, "loss", "max_exceeded")]


def test_fn_accepting_more_optional_arguments_is_allowed():
    def rule(value, step, scale=1.0, *rest):
        return value * scale > 5

    run = tnb.init("watch-fn-optional")
    run.watch("x", nan=False, fn=rule)
    run.log({"x": 6.0})
    assert fired(run) == [(0, "x", "custom")]


# -- threads --------------------------------------------------------------------------------


_RULE_CODE = {Watcher.observe.__code__}


def _yield_inside_watchers(frame, event, arg):
    """A thread trace function: inside a watcher's rules, give up the GIL after every line.

    Without WatcherSet's lock, two threads then interleave inside one rule (e.g. both see
    `_nan_alerted` False and both fire); with it, the others wait and every alert fires once.
    """
    if frame.f_code in _RULE_CODE:

        def each_line(frame, event, arg):
            if event == "line":
                time.sleep(0)
            return each_line

        return each_line
    return None


@pytest.mark.parametrize("path", ["module", "run"])
def test_eight_threads_logging_watched_metrics_fire_each_alert_exactly_once(path):
    run = tnb.init("watch-threads")
    calls = []
    calls_lock = threading.Lock()

    def count(value, step):
        with calls_lock:
            calls.append(step)
        return False

    run.watch("hot", max_value=100.0)
    run.watch("bad")
    run.watch("flat", nan=False, patience=250, fn=count)
    log = tnb.log if path == "module" else run.log
    per_thread = 100
    errors = []
    start = threading.Barrier(8)

    def worker(index: int) -> None:
        try:
            start.wait()
            for _ in range(per_thread):
                log({"hot": 200.0, "bad": NAN, "flat": 1.0, f"own{index}": float(index)})
        except BaseException as exc:  # noqa: BLE001  (collected and asserted empty below)
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as the interpreter allows: races show up
    threading.settrace(_yield_inside_watchers)  # and force a switch between any two lines of a rule
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        threading.settrace(None)
        sys.setswitchinterval(interval)
    assert errors == []
    assert sorted(a["data"]["reason"] for a in stored(run)) == ["max_exceeded", "nan_inf", "stagnation"]
    stagnation = stored(run, reason=AlertReason.STAGNATION)[0]
    # 800 values of 1.0: the first sets the best, the 250th non-improvement fires, once
    assert stagnation["data"]["steps_without_improvement"] == 250
    assert len(calls) == 8 * per_thread
    assert sorted(calls) == list(range(8 * per_thread))
    assert run.should_stop() is True


# -- remote mode (B2: watcher alerts reach the tracking server with their data) --------------


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    proc = ServerProcess(tmp_path_factory.mktemp("watch-remote") / "server").start()
    yield proc
    proc.stop()


def test_watcher_alerts_reach_a_tracking_server_with_their_data(server):
    run = tnb.init("watch-remote", server_url=server.url, token=TOKEN)
    tnb.watch("loss", max_value=10.0, spike_factor=3.0, window=2)
    log_series(run, "loss", [1.0, 1.0, 20.0, NAN], via_module=True)
    assert tnb.should_stop() is True
    run.flush()
    alerts = tnb.Api(server.url, TOKEN).alerts("watch-remote", run=run.id)
    assert [(a["step"], a["level"], a["data"]["reason"]) for a in alerts] == [
        (2, "error", "max_exceeded"),
        (2, "warn", "spike"),
        (3, "error", "nan_inf"),
    ]
    assert alerts[1]["data"] == {
        "metric": "loss",
        "value": 20.0,
        "step": 2,
        "reason": "spike",
        "recent_avg": 1.0,
        "factor": 3.0,
        "window": 2,
    }
    remote_nan = tnb.Api(server.url, TOKEN).alerts("watch-remote", reason=AlertReason.NAN_INF)
    assert [a["data"]["value"] for a in remote_nan] == ["NaN"]
