"""Watchers: rules checked on every logged value of a metric, turned into alerts.

`WatcherSet.add()` validates a metric's rules; `WatcherSet.check(numbers, step)` runs the
rules of the watched metrics present in one `log()` call and returns the alerts to raise
(dicts with the keys of `alert()` plus `stop`). Unwatched metrics cost nothing: the loop
runs over watched names only. docs/alerts.md states the rules; this file is their source.
"""

from __future__ import annotations

import inspect
import math
import numbers as _numbers
import threading
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from .enums import AlertLevel, AlertReason
from .errors import InvalidValue
from .presentation import json_float, jsonable
from .validation import check_key

MODES = ("min", "max")
CUSTOM_ALERT_KEYS = frozenset({"title", "text", "level", "data", "stop"})
_NO_ALERTS: tuple = ()


def _fmt(value: float) -> str:
    return f"{value:.6g}"


class Watcher:
    """The rules and the running state of one watched metric (used under WatcherSet's lock)."""

    __slots__ = (
        "_best",
        "_count",
        "_high",
        "_low",
        "_nan_alerted",
        "_recent",
        "_side",
        "_sign",
        "_spike_margin",
        "fn",
        "max_value",
        "metric",
        "min_delta",
        "min_value",
        "mode",
        "nan",
        "patience",
        "spike_factor",
        "window",
    )

    def __init__(
        self,
        metric: str,
        *,
        nan: bool,
        max_value: float | None,
        min_value: float | None,
        spike_factor: float | None,
        window: int,
        patience: int | None,
        min_delta: float,
        mode: str,
        fn: Callable[[float, int], Any] | None,
    ) -> None:
        self.metric = metric
        self.nan = nan
        self.max_value = max_value
        self.min_value = min_value
        self.spike_factor = spike_factor
        self.window = window
        self.patience = patience
        self.min_delta = min_delta
        self.mode = mode
        self.fn = fn
        self._sign = 1.0 if mode == "min" else -1.0
        self._spike_margin = None if spike_factor is None else spike_factor - 1.0
        self._recent: deque[float] | None = None if spike_factor is None else deque(maxlen=window)
        self._low = -math.inf if min_value is None else min_value
        self._high = math.inf if max_value is None else max_value
        self._nan_alerted = False
        self._side = 0  # 1 while above max_value, -1 while below min_value
        self._best = math.inf if mode == "min" else -math.inf
        self._count = 0

    def observe(self, value: float, step: int) -> list[dict] | None:
        """Apply the built-in rules to one value; the alerts they raise, or None."""
        fired = None
        if value - value != 0.0:  # NaN, +inf or -inf: only the nan rule sees it
            if self.nan and not self._nan_alerted:
                self._nan_alerted = True
                fired = [self._nan_alert(value, step)]
            return fired
        if self._nan_alerted:
            self._nan_alerted = False
        # thresholds: one chained comparison on the common path (absent bounds are -inf / +inf);
        # above-max and below-min exclude each other, so one `_side` tracks the excursion
        if self._low <= value <= self._high:
            if self._side:
                self._side = 0
        elif value > self._high:
            if self._side != 1:
                self._side = 1
                fired = [self._max_alert(value, step)]
        elif self._side != -1:
            self._side = -1
            fired = [self._min_alert(value, step)]
        recent = self._recent
        if recent is not None:
            if len(recent) == self.window:
                avg = sum(recent) / self.window
                if abs(value - avg) > self._spike_margin * abs(avg):
                    fired = _append(fired, self._spike_alert(value, step, avg))
            recent.append(value)
        if self.patience is not None:
            # improvement = how far value beats best in direction `mode` (x * -1.0 is exact);
            # the best starts at +inf (min) / -inf (max), so the first value always becomes it
            if (self._best - value) * self._sign > self.min_delta:
                self._best = value
                self._count = 0
            else:
                self._count += 1
                if self._count == self.patience:
                    fired = _append(fired, self._stagnation_alert(value, step))
        return fired

    # -- the alerts each rule raises ------------------------------------------------------

    def _data(self, value: float, step: int, reason: AlertReason, **figures: Any) -> dict:
        return jsonable({"metric": self.metric, "value": value, "step": step, "reason": reason.value, **figures})

    def _nan_alert(self, value: float, step: int) -> dict:
        shown = json_float(value)
        return {
            "title": f"{self.metric} is {shown}",
            "text": f"{self.metric} = {shown} at step {step}",
            "level": AlertLevel.ERROR,
            "data": self._data(value, step, AlertReason.NAN_INF),
            "stop": True,
        }

    def _max_alert(self, value: float, step: int) -> dict:
        return {
            "title": f"{self.metric} above max_value",
            "text": f"{self.metric} = {_fmt(value)} > max_value {_fmt(self.max_value)}",
            "level": AlertLevel.ERROR,
            "data": self._data(value, step, AlertReason.MAX_EXCEEDED, threshold=self.max_value),
            "stop": True,
        }

    def _min_alert(self, value: float, step: int) -> dict:
        return {
            "title": f"{self.metric} below min_value",
            "text": f"{self.metric} = {_fmt(value)} < min_value {_fmt(self.min_value)}",
            "level": AlertLevel.WARN,
            "data": self._data(value, step, AlertReason.MIN_EXCEEDED, threshold=self.min_value),
            "stop": False,
        }

    def _spike_alert(self, value: float, step: int, avg: float) -> dict:
        return {
            "title": f"{self.metric} spiked",
            "text": (
                f"{self.metric} = {_fmt(value)} vs mean {_fmt(avg)} of the previous {self.window}: "
                f"deviation {_fmt(abs(value - avg))} > {_fmt(self._spike_margin * abs(avg))}"
            ),
            "level": AlertLevel.WARN,
            "data": self._data(
                value, step, AlertReason.SPIKE, recent_avg=avg, factor=self.spike_factor, window=self.window
            ),
            "stop": False,
        }

    def _stagnation_alert(self, value: float, step: int) -> dict:
        return {
            "title": f"{self.metric} stopped improving",
            "text": (
                f"{self.metric}: {self._count} logged values without improving on the best "
                f"{_fmt(self._best)} by more than {_fmt(self.min_delta)} (mode {self.mode})"
            ),
            "level": AlertLevel.WARN,
            "data": self._data(
                value,
                step,
                AlertReason.STAGNATION,
                best_value=self._best,
                steps_without_improvement=self._count,
                patience=self.patience,
                min_delta=self.min_delta,
                mode=self.mode,
            ),
            "stop": True,
        }

    def custom(self, value: float, step: int) -> list[dict] | None:
        """Call `fn(value, step)` and turn what it returns into alert dicts."""
        result = self.fn(value, step)
        if not result:
            return None
        if result is True:
            return [
                {
                    "title": f"{self.metric}: custom rule fired",
                    "text": f"{self.metric} = {_fmt(value)} at step {step}",
                    "level": AlertLevel.WARN,
                    "data": self._data(value, step, AlertReason.CUSTOM),
                    "stop": False,
                }
            ]
        if not isinstance(result, list):
            raise TypeError(
                f"watch({self.metric!r}, fn=...): fn must return a falsy value, True or a list of alert dicts, "
                f"got {type(result).__name__}"
            )
        return [self._custom_alert(item, value, step) for item in result]

    def _custom_alert(self, item: object, value: float, step: int) -> dict:
        where = f"watch({self.metric!r}, fn=...)"
        if not isinstance(item, Mapping):
            raise TypeError(f"{where}: each alert fn returns must be a dict, got {type(item).__name__}")
        unknown = set(item) - CUSTOM_ALERT_KEYS
        if unknown:
            raise TypeError(
                f"{where}: unknown alert key(s) {sorted(map(str, unknown))}; allowed: title, text, level, data, stop"
            )
        if "title" not in item:
            raise TypeError(f"{where}: an alert dict needs a 'title'")
        extra = item.get("data")
        if extra is not None and not isinstance(extra, Mapping):
            raise TypeError(f"{where}: alert 'data' must be a dict, got {type(extra).__name__}")
        data = jsonable({**(extra or {}), **self._data(value, step, AlertReason.CUSTOM)})
        return {
            "title": item["title"],
            "text": item.get("text"),
            "level": item.get("level", AlertLevel.WARN),
            "data": data,
            "stop": bool(item.get("stop", False)),
        }


def _append(fired: list[dict] | None, alert: dict) -> list[dict]:
    if fired is None:
        return [alert]
    fired.append(alert)
    return fired


class CustomRuleError(Exception):
    """A custom `fn` raised (or returned something unusable); `fired` holds the alerts raised before it."""

    def __init__(self, error: Exception, fired: list[dict]) -> None:
        super().__init__(str(error))
        self.error = error
        self.fired = fired


class WatcherSet:
    """The watchers of one run: one per metric (a later `add` for a metric replaces it)."""

    CustomRuleError = CustomRuleError  # so tracked_run.py can catch it without importing this module eagerly

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_metric: dict[str, Watcher] = {}
        self._items: tuple[tuple[str, Watcher], ...] = ()
        self._custom: tuple[tuple[str, Watcher], ...] = ()

    def __len__(self) -> int:
        return len(self._by_metric)

    def __contains__(self, metric: object) -> bool:
        return metric in self._by_metric

    def metrics(self) -> list[str]:
        """The watched metric names, in registration order."""
        return list(self._by_metric)

    def add(
        self,
        metric: str,
        *,
        nan: bool = True,
        max_value: float | None = None,
        min_value: float | None = None,
        spike_factor: float | None = None,
        window: int = 5,
        patience: int | None = None,
        min_delta: float = 0.0,
        mode: str = "min",
        fn: Callable[[float, int], Any] | None = None,
    ) -> Watcher:
        """Validate the rules (errors name the bad argument) and watch `metric` with them."""
        watcher = Watcher(
            _check_metric(metric),
            nan=_check_bool("nan", nan),
            max_value=_check_real("max_value", max_value, optional=True),
            min_value=_check_real("min_value", min_value, optional=True),
            spike_factor=_check_spike_factor(spike_factor),
            window=_check_positive_int("window", window),
            patience=None if patience is None else _check_positive_int("patience", patience),
            min_delta=_check_min_delta(min_delta),
            mode=_check_mode(mode),
            fn=_check_fn(fn),
        )
        if watcher.max_value is not None and watcher.min_value is not None and watcher.min_value > watcher.max_value:
            raise ValueError(f"min_value ({min_value!r}) must not be greater than max_value ({max_value!r})")
        if not (
            watcher.nan
            or watcher.max_value is not None
            or watcher.min_value is not None
            or watcher.spike_factor is not None
            or watcher.patience is not None
            or watcher.fn is not None
        ):
            raise ValueError(f"watch({metric!r}) has no rule: nan=False and no other rule given")
        with self._lock:
            self._by_metric[metric] = watcher
            self._items = tuple(self._by_metric.items())
            self._custom = tuple((m, w) for m, w in self._items if w.fn is not None)
        return watcher

    def check(self, numbers: Mapping[str, float], step: int) -> list[dict] | tuple:
        """The alerts that one log() call's numeric values raise, in registration order."""
        fired = None
        lock = self._lock
        lock.acquire()  # acquire/release: a third of the cost of `with lock:` on CPython 3.11
        try:
            for metric, watcher in self._items:
                value = numbers.get(metric)
                if value is not None:
                    alerts = watcher.observe(value, step)
                    if alerts is not None:
                        if fired is None:
                            fired = alerts
                        else:
                            fired.extend(alerts)
        finally:
            lock.release()
        # Custom rules run outside the lock: user code may log, alert or take its time.
        custom = self._custom
        if not custom:
            return _NO_ALERTS if fired is None else fired
        for metric, watcher in custom:
            value = numbers.get(metric)
            if value is not None:
                try:
                    alerts = watcher.custom(value, step)
                except Exception as exc:
                    raise CustomRuleError(exc, fired or []) from exc
                if alerts:
                    fired = alerts if fired is None else [*fired, *alerts]
        return _NO_ALERTS if fired is None else fired


# -- validation: every error names the argument -------------------------------------------


def _check_metric(metric: object) -> str:
    if not isinstance(metric, str):
        raise TypeError(f"metric must be a string, got {type(metric).__name__} {metric!r}")
    try:
        return check_key(metric)
    except InvalidValue as exc:
        raise InvalidValue(f"metric: {exc}") from None


def _check_bool(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")
    return value


def _check_real(name: str, value: object, *, optional: bool = False) -> float | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, _numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return number


def _check_positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, _numbers.Integral):
        raise TypeError(f"{name} must be a positive integer, got {type(value).__name__} {value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _check_spike_factor(value: object) -> float | None:
    factor = _check_real("spike_factor", value, optional=True)
    if factor is not None and factor <= 1.0:
        raise ValueError(f"spike_factor must be greater than 1 (a spike is a factor of the recent mean), got {value!r}")
    return factor


def _check_min_delta(value: object) -> float:
    delta = _check_real("min_delta", value)
    if delta < 0:
        raise ValueError(f"min_delta must be >= 0, got {value!r}")
    return delta


def _check_mode(mode: object) -> str:
    if mode not in MODES:
        raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
    return mode


def _check_fn(fn: object) -> Callable | None:
    if fn is None:
        return None
    if not callable(fn):
        raise TypeError(f"fn must be callable as fn(value, step), got {type(fn).__name__}")
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # some builtins have no signature: accept them
        return fn
    try:
        signature.bind(0.0, 0)
    except TypeError as exc:
        raise TypeError(f"fn must accept two positional arguments (value, step): {fn!r} {signature}: {exc}") from None
    return fn
