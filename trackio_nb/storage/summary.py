"""Per-(run, metric) aggregates: last, min and max with the step where each happened.

The writer keeps one `summaries` row per series up to date, so "final / min / max of any
metrics for any runs" is a single indexed query. NaN is skipped by min and max; a NaN last
value is stored as NULL in `last_value` and read back as NaN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


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


def dedupe_last(steps: list[int], timestamps: list[float], values: list[float]):
    """Keep the last value logged at each step, ordered by step (for replaced steps)."""
    latest: dict[int, int] = {}
    for i, s in enumerate(steps):
        latest[s] = i
    order = sorted(latest)
    idx = [latest[s] for s in order]
    return order, [timestamps[i] for i in idx], [values[i] for i in idx]
