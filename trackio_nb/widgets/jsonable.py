"""Chart columns as the widgets carry them (non-finite numbers in tables: trackio_nb.presentation)."""

from __future__ import annotations

import base64
import math
import sys
from array import array


def point_value(value: float) -> float | None:
    """A chart y value: None (not drawn) when not finite."""
    return value if math.isfinite(value) else None


def pack_column(values: list[float] | array) -> bytes:
    """Little-endian float64s: a chart column as one binary buffer (NaN kept; steps exact below 2**53)."""
    data = values if isinstance(values, array) and values.typecode == "d" else array("d", values)
    if sys.byteorder != "little":
        data = array("d", data)  # a copy: the caller's array stays as it is
        data.byteswap()
    return data.tobytes()


def unpack_column(data: bytes | memoryview | str) -> list[float]:
    """The inverse of `pack_column` (also reads the base64 text a static page or saved notebook holds)."""
    out = array("d")
    out.frombytes(base64.b64decode(data) if isinstance(data, str) else bytes(data))
    if sys.byteorder != "little":
        out.byteswap()
    return out.tolist()


def series_points(series: dict) -> tuple[list[float], list[float | None]]:
    """A chart series' (steps, values) whether it carries binary columns or JSON lists (`x`, `y`: reports)."""
    if "step" in series:
        return unpack_column(series["step"]), [point_value(v) for v in unpack_column(series["y"])]
    return list(series["x"]), list(series["y"])
