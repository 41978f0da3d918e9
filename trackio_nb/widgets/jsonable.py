"""Values as the widgets' JSON carries them (JSON has no NaN or infinity)."""

from __future__ import annotations

import math
from typing import Any

_NON_FINITE = {math.inf: "Infinity", -math.inf: "-Infinity"}


def cell_value(value: float | None) -> float | str | None:
    """A table cell or alert data number: non-finite values become "NaN", "Infinity", "-Infinity"."""
    if value is None or math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else _NON_FINITE[value]


def point_value(value: float) -> float | None:
    """A chart y value: None (not drawn) when not finite."""
    return value if math.isfinite(value) else None


def json_safe(obj: Any) -> Any:
    """A copy of a parsed JSON value whose non-finite floats are spelled as strings."""
    if isinstance(obj, float):
        return cell_value(obj)
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [json_safe(v) for v in obj]
    return obj
