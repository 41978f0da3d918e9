"""The CLI's output helpers: JSON for NaN/Inf, 4 significant digits, middle ellipsis, fitted tables."""

from __future__ import annotations

import json
import math

from trackio_nb.cli.tables import Column, number, render, shorten
from trackio_nb.presentation import dumps


def test_json_writes_nan_and_infinities_as_strings():
    doc = {"a": [math.nan, math.inf, -math.inf, 1.5, None], "b": {"c": math.nan}, "d": "NaN-ish text"}
    text = dumps(doc)
    assert text == '{"a": ["NaN", "Infinity", "-Infinity", 1.5, null], "b": {"c": "NaN"}, "d": "NaN-ish text"}'
    assert "\n" not in text
    assert [float(x) for x in json.loads(text)["a"][1:3]] == [math.inf, -math.inf]


def test_json_without_special_values_is_unchanged():
    doc = {"x": 0.1, "y": [1, 2], "z": "é"}
    assert dumps(doc) == '{"x": 0.1, "y": [1, 2], "z": "é"}'


def test_numbers_have_four_significant_digits():
    assert [number(v) for v in (123456.0, 0.000123456, 2.0, 0.8, 1 / 3, 7, None)] == [
        "1.235e+05",
        "0.0001235",
        "2",
        "0.8",
        "0.3333",
        "7",
        "-",
    ]
    assert [number(v) for v in (math.nan, math.inf, -math.inf)] == ["nan", "inf", "-inf"]


def test_shorten_keeps_both_ends():
    assert shorten("abcdefghij", 7) == "abc…hij"
    assert shorten("abcdefghij", 8) == "abcd…hij"
    assert shorten("abcdefghij", 10) == "abcdefghij"
    assert len(shorten("x" * 80, 30)) == 30


def test_render_shrinks_names_then_splits_metric_columns():
    key = [Column("run", ["r" * 40 + "END", "short"]), Column("id", ["0123456789ab", "ba9876543210"])]
    extra = [Column(f"metric_{i}", ["1.234", "5.678"], right=True) for i in range(6)]
    text = render(key, extra, width=60)
    lines = text.splitlines()
    assert all(len(line) <= 60 for line in lines)
    blocks = text.split("\n\n")
    assert len(blocks) == 2  # run (16, shortened) + id (12) + 3 metrics of 8, gaps of 2: 60
    for block in blocks:
        rows = block.splitlines()
        assert rows[0].split()[:2] == ["run", "id"]
        assert rows[1].split()[0] == "rrrrrrrr…rrrrEND"
        assert rows[2].split()[:2] == ["short", "ba9876543210"]
    headers = [h for block in blocks for h in block.splitlines()[0].split()[2:]]
    assert headers == [f"metric_{i}" for i in range(6)]
