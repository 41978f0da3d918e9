"""Checking what `log()` is given: keys, and values turned into floats or JSON text.

The fast path (str keys already seen, float or int values) costs a type check per value.
Anything else goes through `coerce`, which accepts NumPy and 0-d tensor scalars, keeps
other JSON-able values as text, and raises ValueError for what cannot be stored.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping

MAX_KEY_LENGTH = 256


def check_key(key: object) -> str:
    if not isinstance(key, str):
        raise ValueError(f"metric names must be strings, got {type(key).__name__} {key!r}")
    if not key or not key.strip():
        raise ValueError("metric names must not be empty")
    if len(key) > MAX_KEY_LENGTH:
        raise ValueError(f"metric name {key[:40]!r}... is {len(key)} characters; the limit is {MAX_KEY_LENGTH}")
    if any(unicodedata.category(ch) == "Cc" for ch in key):
        raise ValueError(f"metric name {key!r} holds control characters")
    return key


def coerce(key: str, value: object) -> float | str:
    """A float for numbers (any scalar type), else the value as JSON text."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return float(value)
    item = getattr(value, "item", None)
    if item is not None and _is_scalar(value):
        return coerce(key, item())
    tolist = getattr(value, "tolist", None)
    if tolist is not None:
        value = tolist()
    try:
        return json.dumps(value, allow_nan=True)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"cannot log {type(value).__name__} value for {key!r}: {exc}") from None


def _is_scalar(value: object) -> bool:
    shape = getattr(value, "shape", None)
    if shape is not None:
        return tuple(shape) == ()
    return not hasattr(value, "__len__")


_FLOATS = frozenset({float})


def split(metrics: Mapping[str, object], known: set[str]) -> tuple[dict[str, float], dict[str, str] | None]:
    """Split a log() dict into numeric values and JSON-text values, validating everything first."""
    # Fast path, all in C: a plain dict of known keys whose values are all Python floats.
    if type(metrics) is dict and known.issuperset(metrics) and _FLOATS.issuperset(map(type, metrics.values())):
        return dict(metrics), None
    if not isinstance(metrics, Mapping):
        raise TypeError(f"log() takes a dict of metrics, got {type(metrics).__name__}")
    numbers: dict[str, float] = {}
    texts: dict[str, str] | None = None
    for key, value in metrics.items():
        if key not in known:
            known.add(check_key(key))
        kind = type(value)
        if kind is float:
            numbers[key] = value
        elif kind is int:
            numbers[key] = float(value)
        elif getattr(kind, "_tnb_media", False):  # tnb.Image etc.: encoded now, stored by the writer
            from .media.base import encoder

            if texts is None:
                texts = {}
            texts[key] = encoder(key, value)
        else:
            converted = coerce(key, value)
            if type(converted) is float:
                numbers[key] = converted
            else:
                if texts is None:
                    texts = {}
                texts[key] = converted
    return numbers, texts
