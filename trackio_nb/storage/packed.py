"""Logged steps kept packed as they arrived (NumPy arrays per group), never one Python object per value.

A server batch carries groups of consecutive steps with the same metric keys as packed
int64/float64 arrays (remote.wire). Turning them into one dict per step and back into
one list per metric cost most of a server's CPU per batch; `PackedLogs` keeps the arrays
and hands the writers one (steps, timestamps, values) array triple per metric, in the
same order and with the same values the per-step path (writes.group_logs) gives.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .records import LogEntry


@dataclass(frozen=True, slots=True)
class PackedGroup:
    """Consecutive steps logging the same numeric keys; `values` is steps x keys (row-major)."""

    keys: tuple[str, ...]
    steps: np.ndarray  # int64
    timestamps: np.ndarray  # float64
    values: np.ndarray  # float64, shape (len(steps), len(keys))
    texts: dict[str, str] | None  # only on a one-step group


Series = dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]


class PackedLogs:
    """A batch's logged steps as packed groups; iterates as LogEntry tuples when a caller needs them."""

    __slots__ = ("groups",)

    def __init__(self, groups: list[PackedGroup]) -> None:
        self.groups = groups

    def __len__(self) -> int:
        return sum(len(g.steps) for g in self.groups)

    def __bool__(self) -> bool:
        return any(len(g.steps) for g in self.groups)

    def __iter__(self) -> Iterator[LogEntry]:
        for g in self.groups:
            for step, ts, row in zip(g.steps.tolist(), g.timestamps.tolist(), g.values.tolist(), strict=True):
                yield step, ts, dict(zip(g.keys, row, strict=True)), g.texts

    def outline(self) -> list[LogEntry]:
        """One entry per non-empty group, with its first step, keys and texts: what the key,
        step and text rules need (every step is already an int64 >= 0), at a cost per group."""
        return [(int(g.steps.min()), 0.0, dict.fromkeys(g.keys, 0.0), g.texts) for g in self.groups if len(g.steps)]

    def series(self) -> tuple[Series, list[tuple[str, int, float, str]]]:
        """(one (steps, timestamps, values) array triple per metric, in first-logged order; text values)."""
        parts: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}
        texts: list[tuple[str, int, float, str]] = []
        for g in self.groups:
            if not len(g.steps):
                continue
            for k, name in enumerate(g.keys):
                parts.setdefault(name, []).append((g.steps, g.timestamps, g.values[:, k]))
            if g.texts:
                step, ts = int(g.steps[0]), float(g.timestamps[0])
                texts.extend((name, step, ts, value) for name, value in g.texts.items())
        series: Series = {}
        for name, pieces in parts.items():
            if len(pieces) == 1:
                steps, stamps, values = pieces[0]
                series[name] = (steps, stamps, np.ascontiguousarray(values))
            else:
                series[name] = tuple(np.concatenate([p[i] for p in pieces]) for i in range(3))
        return series, texts
