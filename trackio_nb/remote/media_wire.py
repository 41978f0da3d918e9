"""Logged media on the wire: rows as JSON, their files as base64 keyed by content address.

A write batch may carry `media` (rows) and `blobs` ({name: base64}); the server checks
every row and that each file's bytes hash to its name, then stores files and rows with the
batch (exactly once, like its logs). The same file sent again is the same name: stored once.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Sequence

from ..errors import InvalidValue
from ..storage.media_files import MEDIA_KINDS, check_blob, check_name
from ..storage.records import MediaRecord
from ..validation import check_key

ROW_FIELDS = ("step", "timestamp", "key", "kind", "caption", "value", "file", "files", "meta")


def encode_media(records: Sequence[MediaRecord]) -> tuple[list[dict], dict[str, str]]:
    """Rows and their files (base64) for a write batch."""
    rows, blobs = [], {}
    for m in records:
        rows.append(
            {
                "step": m.step,
                "timestamp": m.timestamp,
                "key": m.key,
                "kind": m.kind,
                "caption": m.caption,
                "value": m.value,
                "file": m.file,
                "files": sorted(m.blobs),
                "meta": m.meta,
            }
        )
        for name, data in m.blobs.items():
            blobs[name] = base64.b64encode(data).decode("ascii")
    return rows, blobs


def decode_media(rows: object, blobs: object) -> list[MediaRecord]:
    """The MediaRecords a batch's `media` and `blobs` describe; ValueError names the bad field."""
    if rows is None:
        return []
    _need(isinstance(rows, list), "'media' must be a list")
    _need(isinstance(blobs, dict), "'blobs' must be an object {file name: base64}")
    data: dict[str, bytes] = {}
    for name, raw in blobs.items():
        check_name(name)
        _need(isinstance(raw, str), f"blobs[{name!r}] must be base64 text")
        try:
            data[name] = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidValue(f"blobs[{name!r}] is not valid base64") from None
        check_blob(name, data[name])
    return [_record(i, row, data) for i, row in enumerate(rows)]


def _record(i: int, row: object, data: dict[str, bytes]) -> MediaRecord:
    where = f"media[{i}]"
    _need(isinstance(row, dict), f"{where} must be a JSON object")
    step, ts, key, kind = row.get("step"), row.get("timestamp"), row.get("key"), row.get("kind")
    _need(type(step) is int and 0 <= step < 2**63, f"{where}.step must be an integer >= 0")
    _need(type(ts) in (int, float) and math.isfinite(ts), f"{where}.timestamp must be a number")
    try:
        check_key(key)
    except (TypeError, ValueError) as exc:
        raise InvalidValue(f"{where}.key: {exc}") from None
    _need(kind in MEDIA_KINDS, f"{where}.kind must be one of {', '.join(MEDIA_KINDS)}")
    for field in ("caption", "value", "meta"):
        _need(row.get(field) is None or isinstance(row[field], str), f"{where}.{field} must be a string or null")
    for field in ("value", "meta"):
        if row.get(field) is not None:
            try:
                json.loads(row[field])
            except ValueError:
                raise InvalidValue(f"{where}.{field} is not valid JSON text") from None
    files = row.get("files") or []
    _need(isinstance(files, list), f"{where}.files must be a list of file names")
    for name in files:
        _need(name in data, f"{where}: file {str(name)[:80]!r} is not among the batch's blobs")
    file = row.get("file")
    _need(file is None or file in files, f"{where}.file must be one of its files")
    return MediaRecord(
        step,
        float(ts),
        key,
        kind,
        row.get("caption"),
        row.get("value"),
        file,
        {name: data[name] for name in files},
        row.get("meta"),
    )


def _need(cond: bool, message: str) -> None:
    if not cond:
        raise InvalidValue(message)
