"""The packed form of a metric series chunk: steps as int64, timestamps and values as float64.

Packing keeps NaN and ±Inf exactly (SQLite would turn a NaN REAL into NULL) and makes one
metric's history a handful of rows instead of one row per value.
"""

from __future__ import annotations

import sys
from array import array

_LITTLE = sys.byteorder == "little"


def pack_ints(values: list[int]) -> bytes:
    a = array("q", values)
    if not _LITTLE:
        a.byteswap()
    return a.tobytes()


def pack_floats(values: list[float]) -> bytes:
    a = array("d", values)
    if not _LITTLE:
        a.byteswap()
    return a.tobytes()


def unpack_ints(blob: bytes) -> array:
    a = array("q")
    a.frombytes(blob)
    if not _LITTLE:
        a.byteswap()
    return a


def unpack_floats(blob: bytes) -> array:
    a = array("d")
    a.frombytes(blob)
    if not _LITTLE:
        a.byteswap()
    return a


def text_value(json_text: str | None) -> str | None:
    """A stored non-numeric value as history() shows it: a logged string as itself, anything else as JSON text."""
    if json_text is None or not json_text.startswith('"'):
        return json_text
    import json

    return json.loads(json_text)
