"""The server's packed path (arrays per group) stores exactly what the per-step path stored."""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest

from trackio_nb.errors import InvalidValue
from trackio_nb.remote.store import check_batch
from trackio_nb.remote.wire import decode_logs, decode_packed, encode_logs
from trackio_nb.storage.summary import series_chunk, summarize, summarize_arrays
from trackio_nb.storage.writes import group_logs

NAN, INF = float("nan"), float("inf")


def _bits(x):
    """Floats compared bit for bit (NaN, -0.0), through lists, tuples, dicts and arrays."""
    if isinstance(x, np.ndarray):
        return _bits(x.tolist())
    if isinstance(x, float):
        return struct.pack("<d", x)
    if isinstance(x, (list, tuple)):
        return [_bits(v) for v in x]
    if isinstance(x, dict):
        return {k: _bits(v) for k, v in x.items()}
    return x


SERIES = [
    ([0, 1, 2], [1.0, 2.0, 3.0], [0.5, -1.0, 2.0]),
    ([0, 1, 2, 3], [1.0, 2.0, 3.0, 4.0], [NAN, 3.0, NAN, 1.0]),  # NaN skipped by min/max
    ([4, 5], [1.0, 2.0], [NAN, NAN]),  # all NaN: no min/max, NaN last
    ([0, 1, 2], [1.0, 2.0, 3.0], [INF, -INF, 0.0]),  # +inf meets -inf: sum is NaN
    ([0, 1, 2, 3], [1.0, 2.0, 3.0, 4.0], [0.0, -0.0, -0.0, 0.0]),  # ties: the first one wins, sign kept
    ([3, 7, 7, 2], [1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 9.0, -5.0]),  # top step twice: the later value is last
    ([9], [5.0], [-INF]),
]


@pytest.mark.parametrize("steps,stamps,values", SERIES)
def test_summarize_arrays_equals_summarize(steps, stamps, values):
    expected = summarize(steps, stamps, values)
    got = summarize_arrays(np.array(steps, dtype=np.int64), np.array(stamps), np.array(values))
    assert _bits(tuple(got.__getattribute__(f) for f in expected.__slots__)) == _bits(
        tuple(expected.__getattribute__(f) for f in expected.__slots__)
    )
    assert type(got.last_step) is int and type(got.last_value) is float


def test_series_chunk_recomputes_exactly_when_a_step_comes_again():
    fresh = series_chunk([5, 6, 7], [1.0, 2.0, 3.0], [1.0, 2.0, 3.0], previous=4)
    assert (fresh.n, fresh.first_step, fresh.last_step) == (3, 5, 7)
    assert fresh.steps == struct.pack("<3q", 5, 6, 7) and fresh.values == struct.pack("<3d", 1.0, 2.0, 3.0)
    assert fresh.summary == summarize([5, 6, 7], [1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    assert series_chunk([5, 6], [1.0, 2.0], [1.0, 2.0], previous=5).summary is None  # step 5 stored before
    assert series_chunk([8, 6, 8], [1.0, 2.0, 3.0], [1.0, 2.0, 3.0], previous=-1).summary is None  # twice here
    assert series_chunk([8, 6, 7], [1.0, 2.0, 3.0], [1.0, 2.0, 3.0], previous=-1).summary is not None


def _logs():
    regular = [(s, 100.0 + s, {"a": s / 3, "b": -s * 1.5}, None) for s in range(5)]
    other = [(s, 200.0 + s, {"b": NAN, "c": -0.0}, None) for s in range(5, 8)]
    text = [(8, 300.0, {"a": INF}, {"note": '"hello"', "d": "[1, 2]"})]
    after = [(s, 400.0 + s, {"a": 1e300, "b": -INF}, None) for s in range(9, 12)]
    empty_keys = [(12, 500.0, {}, None)]
    return regular + other + text + after + empty_keys


def test_packed_series_equal_the_per_step_grouping():
    logs = _logs()
    packed = decode_packed(encode_logs(logs))
    assert len(packed) == len(logs) and bool(packed) and not decode_packed([])
    assert _bits(list(packed)) == _bits(logs) == _bits(decode_logs(encode_logs(logs)))
    series, texts = group_logs(packed)
    expected_series, expected_texts = group_logs(logs)
    assert list(series) == list(expected_series) == ["a", "b", "c"]
    assert {k: _bits(v) for k, v in series.items()} == {k: _bits(v) for k, v in expected_series.items()}
    assert texts == expected_texts == [("note", 8, 300.0, '"hello"'), ("d", 8, 300.0, "[1, 2]")]
    assert series["a"][0].dtype == np.int64 and math.isinf(series["a"][2][5])


def _write(logs: list) -> dict:
    return {"id": "b1", "kind": "write", "project": "p", "run_id": "r", "logs": encode_logs(logs)}


@pytest.mark.parametrize(
    "logs,message",
    [
        ([(0, 1.0, {"_hidden": 1.0}, None)], "metric name '_hidden'"),
        ([(0, 1.0, {"x\x07y": 1.0}, None)], "holds control characters"),
        ([(0, 1.0, {"x": 1.0}, {"t": "{not json"})], "value of 't' is not JSON text"),
    ],
)
def test_packed_batches_keep_the_key_and_text_rules(logs, message):
    with pytest.raises(InvalidValue, match=message):
        check_batch(_write(logs))


def test_a_checked_batch_carries_packed_logs():
    batch = check_batch(_write([(s, 1.0, {"x": float(s)}, None) for s in range(3)]))
    series, _ = group_logs(batch["logs"])
    assert series["x"][0].tolist() == [0, 1, 2] and series["x"][2].tolist() == [0.0, 1.0, 2.0]
