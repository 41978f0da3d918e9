"""Per-(run, metric) aggregates: last, min and max with the step where each happened.

The writer keeps one `summaries` row per series up to date, so "final / min / max of any
metrics for any runs" is a single indexed query. NaN is skipped by min and max; a NaN last
value is stored as NULL in `last_value` and read back as NaN.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class Summary:
    count: int
    last_step: int
    last_timestamp: float
    last_value: float
    min_value: float | None
    min_step: int | None
    max_value: float | None
    max_step: int | None

    def as_row(self, run_key: int, metric_key: int) -> dict:
        return {
            "run_key": run_key,
            "metric_key": metric_key,
            "count": self.count,
            "last_step": self.last_step,
            "last_timestamp": self.last_timestamp,
            "last_value": None if math.isnan(self.last_value) else self.last_value,
            "min_value": self.min_value,
            "min_step": self.min_step,
            "max_value": self.max_value,
            "max_step": self.max_step,
        }


def summarize(steps: list[int], timestamps: list[float], values: list[float]) -> Summary:
    """Aggregate one series (in logged order; the last value logged at the top step wins)."""
    top = max(steps)
    last = len(steps) - 1 if steps[-1] == top else len(steps) - 1 - steps[::-1].index(top)
    clean = values
    total = sum(values)  # NaN when any value is NaN (or +inf meets -inf): then filter
    if total != total:
        clean = [v for v in values if v == v]
    if clean:
        lo, hi = min(clean), max(clean)
        lo_step, hi_step = steps[values.index(lo)], steps[values.index(hi)]
    else:
        lo = hi = lo_step = hi_step = None
    return Summary(len(steps), top, timestamps[last], values[last], lo, lo_step, hi, hi_step)


def summarize_arrays(steps: np.ndarray, timestamps: np.ndarray, values: np.ndarray) -> Summary:
    """`summarize` on NumPy arrays (int64 steps, float64 timestamps and values): the same Summary, vectorised."""
    n = len(steps)
    top = int(steps.max())
    last = n - 1 if steps[-1] == top else n - 1 - int(np.argmax(steps[::-1] == top))
    nan = np.isnan(values)
    if nan.all():
        lo = hi = lo_step = hi_step = None
    else:
        # argmin/argmax give the first extreme in logged order, as min()/max() and list.index do.
        if nan.any():
            where = np.flatnonzero(~nan)
            i, j = where[np.argmin(values[where])], where[np.argmax(values[where])]
        else:
            i, j = int(np.argmin(values)), int(np.argmax(values))
        lo, hi = float(values[i]), float(values[j])
        lo_step, hi_step = int(steps[i]), int(steps[j])
    return Summary(n, top, float(timestamps[last]), float(values[last]), lo, lo_step, hi, hi_step)


@dataclass(frozen=True, slots=True)
class SeriesChunk:
    """One metric's values in one batch, packed for the `chunks` table, with its summary to merge."""

    n: int
    first_step: int
    last_step: int
    steps: bytes  # little-endian int64 (storage.codec's format)
    timestamps: bytes  # little-endian float64
    values: bytes
    summary: Summary | None  # None: a step seen before (or twice here): recompute from the chunks


def series_chunk(steps: Sequence[int], timestamps: Sequence[float], values: Sequence[float], previous: int):
    """The chunk of one series (lists or arrays); `previous` is the series' stored last step (-1: none)."""
    s = np.asarray(steps, dtype=np.int64)
    t = np.asarray(timestamps, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    lo, hi = int(s.min()), int(s.max())
    increasing = len(s) < 2 or bool((s[1:] > s[:-1]).all())
    fresh = lo > previous and (increasing or len(np.unique(s)) == len(s))
    summary = summarize_arrays(s, t, v) if fresh else None
    return SeriesChunk(len(s), lo, hi, _le(s, "<i8"), _le(t, "<f8"), _le(v, "<f8"), summary)


def _le(a: np.ndarray, dtype: str) -> bytes:
    return a.astype(dtype, copy=False).tobytes()


def dedupe_last(steps: list[int], timestamps: list[float], values: list[float]):
    """Keep the last value logged at each step, ordered by step (for replaced steps)."""
    latest: dict[int, int] = {}
    for i, s in enumerate(steps):
        latest[s] = i
    order = sorted(latest)
    idx = [latest[s] for s in order]
    return order, [timestamps[i] for i in idx], [values[i] for i in idx]
