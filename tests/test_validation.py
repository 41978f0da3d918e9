"""What log(), alert() and init() refuse: InvalidValue at the call, nothing of that call stored,
every later value stored, finish() prompt (SPEC second part: "Validate once, at the call")."""

from __future__ import annotations

import json
import math
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import trackio_nb as tnb
from trackio_nb.errors import InvalidValue
from trackio_nb.validation import MAX_STEP, check_alert_data_text, check_key, check_step

LATER = 4000  # values logged after the refused call: all must be stored


def _finish_within(run, seconds: float = 5.0) -> float:
    start = time.monotonic()
    run.finish()
    elapsed = time.monotonic() - start
    assert elapsed < seconds
    return elapsed


def _later_values(run) -> None:
    for i in range(LATER):
        run.log({"after": float(i)})


def _stored(project: str, run: str, metric: str) -> list:
    return tnb.Api().run(project, run).history(metric)[metric].to_list()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda run: run.log({"bad\ud800": 1.0}), r"metric name 'bad\\ud800' holds an invalid Unicode character"),
        (lambda run: run.log({"m": 10**400}), "value of 'm' does not fit a 64-bit float"),
        (lambda run: run.log({"m": 1.0}, step=2**63), r"step must be at most 2\*\*63 - 1"),
        (lambda run: run.log({"m": 1.0}, step=-1), "step must be >= 0"),
        (lambda run: run.log({"x" * 10_000: 1.0}), "is 10000 characters; the limit is 256"),
        (lambda run: run.log({"step": 1.0}), "'step' is reserved"),
        (lambda run: run.log({"_private": 1.0}), "'_private' is reserved"),
        (lambda run: run.log({"s": "text\udfff"}), "value of 's' holds an invalid Unicode character"),
        (lambda run: run.log({"s": {1: "a"}}), "has a non-string key 1"),
        (lambda run: run.alert("title \ud800"), "alert title holds an invalid Unicode character"),
        (lambda run: run.alert("t", "text \udc00"), "alert text holds an invalid Unicode character"),
        (lambda run: run.alert("t", data={"v": {1, 2}}), "alert data must be JSON-serialisable"),
        (lambda run: run.alert("t", data={"k\ud800": 1}), "alert data holds an invalid Unicode character"),
    ],
    ids=[
        "surrogate-key",
        "10**400",
        "step-2**63",
        "step-negative",
        "10000-char-key",
        "reserved-step",
        "reserved-underscore",
        "surrogate-string",
        "int-key-in-json",
        "surrogate-title",
        "surrogate-text",
        "set-in-alert-data",
        "surrogate-in-alert-data",
    ],
)
def test_refused_at_the_call_and_every_later_value_is_stored(call, message):
    run = tnb.init("refusals", "r")
    run.log({"before": 1.0})
    with pytest.raises(InvalidValue, match=message):
        call(run)
    _later_values(run)
    _finish_within(run)
    view = tnb.Api().run("refusals", "r")
    assert view.status == "finished"
    assert view.metrics() == ["after", "before"]  # nothing of the refused call
    assert _stored("refusals", "r", "after") == [float(i) for i in range(LATER)]
    assert view.alerts() == []


def test_the_last_step_then_an_automatic_step_is_refused():
    run = tnb.init("steps", "r")
    run.log({"m": 1.0}, step=MAX_STEP)
    with pytest.raises(InvalidValue, match=r"the automatic step would be 9223372036854775808"):
        run.log({"m": 2.0})
    run.log({"m": 3.0}, step=5)  # explicit steps still work, and nothing was lost
    _finish_within(run)
    frame = tnb.Api().run("steps", "r").history("m")
    assert frame["step"].to_list() == [5, MAX_STEP]
    assert frame["m"].to_list() == [3.0, 1.0]
    assert tnb.Api().run("steps", "r").status == "finished"


def test_invalid_value_is_a_value_error_naming_the_key():
    with pytest.raises(ValueError, match="'m'"):
        tnb.init("named", "r").log({"m": 10**400})


def test_init_refuses_names_that_cannot_be_stored():
    with pytest.raises(InvalidValue, match=r"run name .* holds control characters or invalid Unicode"):
        tnb.init("names", "bad\ud800")
    with pytest.raises(InvalidValue, match="config key 'k\\\\ud800' holds an invalid Unicode"):
        tnb.init("names", "r", config={"k\ud800": 1})
    with pytest.raises(InvalidValue, match="resume must be one of never, allow, must, force"):
        tnb.init("names", "r", resume="sometimes")
    assert tnb.Api().projects() == []  # nothing was created


def test_the_rules_themselves():
    assert check_key("loss/train") == "loss/train"
    assert check_step(7) == 7
    for bad in ("", " ", "a\nb", "timestamp", "_x", "x" * 257):
        with pytest.raises(InvalidValue):
            check_key(bad)
    with pytest.raises(InvalidValue, match="step must be an integer, got bool True"):
        check_step(True)
    assert check_alert_data_text('{"a": [1, "NaN"]}') == '{"a": [1, "NaN"]}'
    for bad in ("[1, 2]", "123", '{"v": NaN}', '{"v": Infinity}', "{oops"):
        with pytest.raises(InvalidValue, match="alert data must be"):
            check_alert_data_text(bad)


# -- a property test: whatever log() accepts reads back exactly; whatever it refuses raised InvalidValue --

KEYS = st.one_of(
    st.text(min_size=0, max_size=300).filter(lambda k: not k.startswith("t:")),
    st.sampled_from(["step", "timestamp", "_x", "a\ud800", "ok", "ok2", " ", "x" * 257]),
)
NUMBERS = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-(10**400), 10**400))
SCALARS = st.one_of(NUMBERS, st.text(max_size=20), st.sampled_from(["lone \udc00"]), st.booleans(), st.none())
# Non-numeric at the top (numbers inside a list or dict stay JSON).
JSON_VALUES = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["lone \udc00"]),
    st.booleans(),
    st.none(),
    st.lists(SCALARS, max_size=4),
    st.dictionaries(st.text(max_size=5), SCALARS, max_size=3),
)
# Numbers and other values go under separate keys ("t:" prefix): a key that holds only
# non-numeric values reads back as JSON text, a numeric one as floats.
METRICS = (
    st.tuples(
        st.dictionaries(KEYS, NUMBERS, max_size=3),
        st.dictionaries(KEYS.map(lambda k: "t:" + k), JSON_VALUES, max_size=2),
    )
    .map(lambda parts: {**parts[0], **parts[1]})
    .filter(bool)
)
STEPS = st.one_of(st.none(), st.integers(min_value=-5, max_value=2**64))
CALLS = st.lists(st.tuples(METRICS, STEPS), min_size=1, max_size=12)


def _expected(value: object) -> object:
    """What the stored value reads back as (numbers as float64, everything else as JSON)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return value


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


_counter = iter(range(10**9))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(calls=CALLS)
def test_property_accepted_reads_back_exactly_refused_raised_invalid_value(calls):
    name = f"p{next(_counter)}"
    run = tnb.init("property", name)
    expected: dict[tuple[str, int], object] = {}
    next_step = 0
    for metrics, step in calls:
        try:
            run.log(metrics, step=step)
        except InvalidValue:
            continue  # refused: nothing of the call may appear (checked below by exact equality)
        used = next_step if step is None else step
        next_step = max(next_step, used + 1)
        for key, value in metrics.items():
            expected[(key, used)] = _expected(value)
    _finish_within(run)
    view = tnb.Api().run("property", name)
    assert view.status == "finished"
    frame = view.history()
    stored: dict[tuple[str, int], object] = {}
    for row in frame.iter_rows(named=True):
        for key in frame.columns[2:]:
            value = row[key]
            if value is None:
                continue
            if isinstance(value, str) and not isinstance(expected.get((key, row["step"])), str):
                value = json.loads(value)  # a logged string reads back as itself, other values as JSON text
            stored[(key, row["step"])] = value
    assert stored.keys() == expected.keys()
    for where, value in expected.items():
        assert _same(stored[where], value), (where, stored[where], value)
