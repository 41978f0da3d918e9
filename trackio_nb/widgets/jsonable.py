"""Chart columns as the widgets' JSON carries them (non-finite numbers in tables: trackio_nb.presentation)."""

from __future__ import annotations

import base64
import math
import sys
from array import array


def point_value(value: float) -> float | None:
    """A chart y value: None (not drawn) when not finite."""
    return value if math.isfinite(value) else None


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
