"""The wire format of logged steps: packed groups decode to exactly the entries that were logged."""

from __future__ import annotations

import math
import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from trackio_nb.remote.wire import decode_logs, encode_logs


def _bits(entries):
    return [(s, struct.pack("<d", t), {k: struct.pack("<d", v) for k, v in n.items()}, x) for s, t, n, x in entries]


def test_groups_follow_runs_of_identical_keys_and_texts_stand_alone():
    logs = [
        (0, 1.0, {"a": 1.0, "b": 2.0}, None),
        (1, 2.0, {"a": math.nan, "b": math.inf}, None),
        (2, 3.0, {"b": 0.5, "a": -math.inf}, None),  # same names, other order: a new group
        (3, 4.0, {"a": 4.0}, {"note": '"hi"'}),
        (3, 5.0, {"a": 5.0}, None),  # the same step again: order is kept, the later value wins downstream
        (9, 6.0, {}, {"only": "[1, 2]"}),
    ]
    groups = encode_logs(logs)
    assert [g["keys"] for g in groups] == [["a", "b"], ["b", "a"], ["a"], ["a"], []]
    assert [g.get("texts") for g in groups] == [None, None, {"note": '"hi"'}, None, {"only": "[1, 2]"}]
    assert _bits(decode_logs(groups)) == _bits(logs)
    assert decode_logs(encode_logs([])) == []


names = st.text(alphabet="abcxyz/_", min_size=1, max_size=4)
entry = st.tuples(
    st.integers(0, 2**62),
    st.floats(allow_nan=False),
    st.dictionaries(names, st.floats(allow_nan=True, allow_infinity=True), max_size=4),
    st.none() | st.dictionaries(names, st.text(max_size=5), min_size=1, max_size=2),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(entry, max_size=30))
def test_any_sequence_of_steps_round_trips_bit_for_bit(logs):
    assert _bits(decode_logs(encode_logs(logs))) == _bits(logs)
