"""A run logging in this kernel, as the live hub follows it: what its writer stored, folded off the loop's thread."""

from __future__ import annotations

import threading
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import compress, islice, repeat
from operator import is_not, itemgetter, lt
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..tracked_run import Run

Source = tuple[str, str]  # ("local", data directory) or ("remote", server URL)
_STEP, _STAMP, _NUMBERS = itemgetter(0), itemgetter(1), itemgetter(2)  # of a (step, timestamp, numbers, texts) entry
# steps, timestamps (epoch s), values (float64 arrays); whether the steps strictly increase
Columns = tuple[array, array, array, bool]


@dataclass
class LiveRun:
    """What the hub knows, from memory, about a run logging in this kernel.

    `take` runs on the run's writer thread; `collect` on the main thread at a tick. Between the
    two, what was stored waits in `_fresh` / `_last` under `_lock`.
    """

    run: Run
    project: str
    source: Source | None
    last_step: int | None = None  # as of the last tick (main thread)
    last_timestamp: float | None = None
    last_values: dict[str, float] = field(default_factory=dict)
    unsubscribe: Callable[[], None] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _fresh: dict[str, Columns] = field(default_factory=dict)
    _last: tuple[int, float] | None = None
    _last_values: dict[str, float] = field(default_factory=dict)

    def take(self, entries: list[tuple]) -> None:
        """A batch the writer stored: fold it into per-metric columns (writer thread; loops in C).

        No object per entry is made (no `zip(*entries)`): a burst of short-lived containers would set off
        collector passes, which land in the training loop's log() calls as well.
        """
        steps, stamps = array("d", map(_STEP, entries)), array("d", map(_STAMP, entries))
        increasing = all(map(lt, steps, islice(steps, 1, None)))  # (so is every metric's part of them)
        numbers = list(map(_NUMBERS, entries))
        folded: dict[str, Columns] = {}
        for metric in set().union(*numbers):
            ys = list(map(dict.get, numbers, repeat(metric)))
            if None in ys:  # logged at some steps only
                mask = list(map(is_not, ys, repeat(None)))
                folded[metric] = (
                    array("d", compress(steps, mask)),
                    array("d", compress(stamps, mask)),
                    array("d", compress(ys, mask)),
                    increasing,
                )
            else:  # (copies: each metric's columns grow apart)
                folded[metric] = (steps[:], stamps[:], array("d", ys), increasing)
        last = {metric: columns[2][-1] for metric, columns in folded.items()}
        steps_end, stamp_end = entries[-1][0], entries[-1][1]
        with self._lock:
            fresh = self._fresh
            for metric, (s, t, y, up) in folded.items():
                got = fresh.get(metric)
                if got is None:
                    fresh[metric] = (s, t, y, up)
                else:
                    got[0].extend(s)
                    got[1].extend(t)
                    got[2].extend(y)
                    fresh[metric] = (*got[:3], got[3] and up and got[0][-len(s) - 1] < s[0])
            self._last_values.update(last)
            self._last = (steps_end, stamp_end)

    def collect(self) -> dict[str, Columns] | None:
        """What was stored since the last collect (None: nothing); updates the last step and values."""
        with self._lock:
            if self._last is None:
                return None
            fresh, self._fresh = self._fresh, {}
            (self.last_step, self.last_timestamp), self._last = self._last, None
            self.last_values.update(self._last_values)
            self._last_values.clear()
        return fresh
