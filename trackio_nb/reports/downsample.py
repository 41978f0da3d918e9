"""Shrink a long series for a chart: per window keep the first, last, minimum and maximum points.

Peaks, dips and the ends survive, so a spike or a divergence stays visible however long the
run was; the tables use the full-resolution final values, never these points.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import InvalidValue


def downsample(steps: np.ndarray, values: np.ndarray, max_points: int) -> np.ndarray:
    """Indices (sorted, unique) of the points to keep: at most `max_points` (>= 5) of them.

    The series is cut into `max_points // 5` windows of equal length; each keeps its first
    and last point, its minimum and maximum finite value, and its first non-finite value
    (NaN/Inf: the chart shows where a run blew up).
    """
    if max_points < 5:
        raise InvalidValue(f"max_points must be at least 5, got {max_points}")
    n = len(values)
    if len(steps) != n:
        raise InvalidValue(f"steps and values differ in length ({len(steps)} != {n})")
    if n <= max_points:
        return np.arange(n)
    windows = max(max_points // 5, 1)
    size = math.ceil(n / windows)
    windows = math.ceil(n / size)
    padded = np.full(windows * size, np.nan)
    padded[:n] = values
    grid = padded.reshape(windows, size)
    finite = np.isfinite(grid)
    starts = np.arange(windows) * size
    lows = starts + np.argmin(np.where(finite, grid, np.inf), axis=1)
    highs = starts + np.argmax(np.where(finite, grid, -np.inf), axis=1)
    real = np.zeros_like(finite)
    real.flat[:n] = True
    blown = ~finite & real
    has_blown = blown.any(axis=1)
    first_blown = (starts + np.argmax(blown, axis=1))[has_blown]
    lasts = np.minimum(starts + size - 1, n - 1)
    keep = np.concatenate([starts, lasts, lows, highs, first_blown])
    return np.unique(keep[keep < n])
