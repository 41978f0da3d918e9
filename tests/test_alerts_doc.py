"""docs/alerts.md is checked against the code: its examples run, its signatures and names match."""

from __future__ import annotations

import inspect
import re
from enum import Enum
from pathlib import Path

import pytest

import trackio_nb as tnb

DOC = Path(__file__).resolve().parent.parent / "docs" / "alerts.md"
TEXT = DOC.read_text(encoding="utf-8")
BLOCKS = re.findall(r"^```python\n(.*?)^```$", TEXT, flags=re.DOTALL | re.MULTILINE)
SIGNATURES = re.findall(r"^```text\n(.*?)^```$", TEXT, flags=re.DOTALL | re.MULTILINE)[0].splitlines()


def test_the_doc_has_a_worked_example_for_every_rule():
    assert len(BLOCKS) == 7
    code = "\n".join(BLOCKS)
    for needle in ("tnb.alert(", "nan", "max_value=", "min_value=", "spike_factor=", "patience=", "fn="):
        assert needle in code


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_example_runs_and_its_stated_results_hold(index):
    code = BLOCKS[index]
    assert "assert " in code  # every example states its results
    exec(compile(code, f"{DOC.name} example {index + 1}", "exec"), {"__name__": f"alerts_doc_{index}"})
    assert tnb.current_run() is None  # each example finishes what it started


def plain_signature(name: str, fn) -> str:
    """`tnb.name(a, b=1, *, c="x")` as the doc writes it."""
    parts, star_done = [], False
    for param in inspect.signature(fn).parameters.values():
        if param.kind is param.KEYWORD_ONLY and not star_done:
            parts.append("*")
            star_done = True
        if param.default is param.empty:
            parts.append(param.name)
            continue
        default = param.default
        if isinstance(default, Enum):
            shown = f"tnb.{type(default).__name__}.{default.name}"
        elif isinstance(default, str):
            shown = f'"{default}"'
        else:
            shown = repr(default)
        parts.append(f"{param.name}={shown}")
    return f"tnb.{name}({', '.join(parts)})"


@pytest.mark.parametrize("name", ["alert", "watch"])
def test_documented_signatures_are_the_real_ones(name):
    documented = [line for line in SIGNATURES if line.startswith(f"tnb.{name}(")]
    assert documented == [plain_signature(name, getattr(tnb, name))]


def test_every_reason_and_level_value_is_documented():
    for reason in tnb.AlertReason:
        assert f'`"{reason.value}"`' in TEXT
    for level in tnb.AlertLevel:
        assert f'`"{level.value}"`' in TEXT and f"`{level.name}`" in TEXT
