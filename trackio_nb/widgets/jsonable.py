"""Values as the widgets' JSON carries them (JSON has no NaN or infinity)."""

from __future__ import annotations

import base64
import math
import sys
from array import array
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


def pack_floats(values: list[float]) -> str:
    """Base64 of little-endian float64s: a long chart column as one JSON string (NaN kept)."""
    data = array("d", values)
    if sys.byteorder != "little":
        data.byteswap()
    return base64.b64encode(data.tobytes()).decode("ascii")


def unpack_floats(text: str) -> list[float]:
    """The inverse of `pack_floats`."""
    data = array("d")
    data.frombytes(base64.b64decode(text))
    if sys.byteorder != "little":
        data.byteswap()
    return data.tolist()


def series_points(series: dict) -> tuple[list[float], list[float | None]]:
    """A chart series' (x, y) whether it carries JSON lists (`x`, `y`) or packed columns (`xb`, `yb`)."""
    if "xb" in series:
        return unpack_floats(series["xb"]), [point_value(v) for v in unpack_floats(series["yb"])]
    return list(series["x"]), list(series["y"])
