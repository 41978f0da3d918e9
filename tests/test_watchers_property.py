"""Property-based: the watcher against a plain reference model of the documented rules.

The reference is written from docs/alerts.md, not from watchers.py: lists instead of a
deque, one flag per excursion, the formulas exactly as the doc states them.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import trackio_nb as tnb
from trackio_nb.watchers import WatcherSet


def reference(values: list[float], rules: dict) -> tuple[list[tuple[int, str, float | None]], bool]:
    """(step, reason, figure) for every alert the documented rules raise, and whether they stop."""
    out: list[tuple[int, str, float | None]] = []
    stop = False
    finite_seen: list[float] = []
    in_nan = in_max = in_min = False
    best = None
    without_improvement = 0
    for step, value in enumerate(values):
        if math.isnan(value) or math.isinf(value):
            if rules["nan"] and not in_nan:
                out.append((step, "nan_inf", None))
                stop = True
            in_nan = True
        else:
            in_nan = False
            if rules["max_value"] is not None:
                if value > rules["max_value"] and not in_max:
                    out.append((step, "max_exceeded", rules["max_value"]))
                    stop = True
                in_max = value > rules["max_value"]
            if rules["min_value"] is not None:
                if value < rules["min_value"] and not in_min:
                    out.append((step, "min_exceeded", rules["min_value"]))
                in_min = value < rules["min_value"]
            if rules["spike_factor"] is not None:
                window = rules["window"]
                if len(finite_seen) >= window:
                    avg = sum(finite_seen[-window:]) / window
                    if abs(value - avg) > (rules["spike_factor"] - 1) * abs(avg):
                        out.append((step, "spike", avg))
                finite_seen.append(value)
            if rules["patience"] is not None:
                if best is None:
                    best = value
                    without_improvement = 0
                else:
                    improvement = best - value if rules["mode"] == "min" else value - best
                    if improvement > rules["min_delta"]:
                        best = value
                        without_improvement = 0
                    else:
                        without_improvement += 1
                        if without_improvement == rules["patience"]:
                            out.append((step, "stagnation", best))
                            stop = True
        if rules["fn_above"] is not None and value > rules["fn_above"]:
            out.append((step, "custom", None))
    return out, stop


def figure(data: dict) -> float | None:
    for key in ("threshold", "recent_avg", "best_value"):
        if key in data:
            return data[key]
    return None


special = st.sampled_from([0.0, -0.0, 1.0, -1.0, 2.0, 0.5, 3.0, 1e308, -1e308, math.nan, math.inf, -math.inf])
series = st.lists(st.one_of(special, st.floats(-10.0, 10.0), st.floats(allow_nan=True)), max_size=60)
bound = st.none() | st.floats(-5.0, 5.0)


@st.composite
def rule_sets(draw) -> dict:
    low, high = draw(bound), draw(bound)
    if low is not None and high is not None and low > high:
        low, high = high, low
    rules = {
        "nan": draw(st.booleans()),
        "max_value": high,
        "min_value": low,
        "spike_factor": draw(st.none() | st.floats(1.0, 6.0, exclude_min=True)),
        "window": draw(st.integers(1, 6)),
        "patience": draw(st.none() | st.integers(1, 6)),
        "min_delta": draw(st.floats(0.0, 2.0)),
        "mode": draw(st.sampled_from(["min", "max"])),
        "fn_above": draw(st.none() | st.floats(-3.0, 3.0)),
    }
    has_rule = rules["nan"] or any(
        rules[k] is not None for k in ("max_value", "min_value", "spike_factor", "patience", "fn_above")
    )
    return rules if has_rule else {**rules, "nan": True}


def watch_args(rules: dict) -> dict:
    args = {k: v for k, v in rules.items() if k != "fn_above"}
    above = rules["fn_above"]
    if above is not None:
        args["fn"] = lambda value, step: value > above
    return args


def rules_with(**changes) -> dict:
    base = {
        "nan": False,
        "max_value": None,
        "min_value": None,
        "spike_factor": None,
        "window": 5,
        "patience": None,
        "min_delta": 0.0,
        "mode": "min",
        "fn_above": None,
    }
    return {**base, **changes}


# Boundaries a random search can miss: every comparison is strict.
@example(values=[1.0, 1.0, 1.0], rules=rules_with(patience=2))
@example(values=[1.0, 1.5, 1.5, 1.5], rules=rules_with(patience=2, min_delta=0.5, mode="max"))
@example(values=[1.0] * 5 + [3.0, -1.0, 3.0000000000000004], rules=rules_with(spike_factor=3.0))
@example(values=[10.0, 10.5, 10.0, 11.0], rules=rules_with(max_value=10.0))
@example(values=[0.0, -0.5, 0.0, -1.0], rules=rules_with(min_value=0.0))
@example(values=[math.nan, math.inf, 1.0, -math.inf], rules=rules_with(nan=True, patience=1))
@settings(max_examples=400, deadline=None)
@given(values=series, rules=rule_sets())
def test_watcher_set_matches_the_reference(values, rules):
    watchers = WatcherSet()
    watchers.add("m", **watch_args(rules))
    got, stop = [], False
    for step, value in enumerate(values):
        for alert in watchers.check({"m": value, "unwatched": value}, step):
            data = alert["data"]
            assert data["metric"] == "m" and data["step"] == step
            got.append((step, data["reason"], figure(data)))
            stop = stop or alert["stop"]
    expected, expected_stop = reference(values, rules)
    assert got == expected
    assert stop == expected_stop


@pytest.mark.filterwarnings("error")
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.one_of(special, st.floats(-10.0, 10.0)), max_size=25), rules=rule_sets())
def test_production_path_matches_the_reference(data_dir, values, rules):
    run = tnb.init("watch-property")
    tnb.watch("m", **watch_args(rules))
    for value in values:
        tnb.log({"m": value})
    run.flush()
    alerts = tnb.Api().alerts("watch-property", run=run.id)
    stop = tnb.should_stop()
    tnb.finish()
    expected, expected_stop = reference(values, rules)
    assert [(a["step"], a["data"]["reason"], figure(a["data"])) for a in alerts] == expected
    assert stop == expected_stop
