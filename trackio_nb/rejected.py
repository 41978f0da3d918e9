"""`rejected.jsonl`: rows the database (or the server) refused, kept so that nothing is lost silently.

One JSON object per line, appended and fsync'd: the project, the run, when, why, and the row
itself (`kind` log / alert / media / config with its fields; floats keep NaN and ±Inf as
Python's json writes them, so `json.loads` reads every line back exactly).
"""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Iterable
from pathlib import Path

from .storage.paths import REJECTED_SUFFIX
from .storage.records import AlertRecord, MediaRecord


def rejected_path(db_path: Path) -> Path:
    """The rejected-rows file of a project database: beside it, named after it."""
    return db_path.with_name(db_path.stem + REJECTED_SUFFIX)


def row_dict(kind: str, record: object) -> dict:
    """A refused row as plain JSON values."""
    if kind == "log":
        step, timestamp, numbers, texts = record
        return {"step": step, "timestamp": timestamp, "values": numbers, "texts": texts}
    if kind == "alert" and isinstance(record, AlertRecord):
        return {
            "timestamp": record.timestamp,
            "step": record.step,
            "level": record.level,
            "title": record.title,
            "text": record.text,
            "data": record.data,
        }
    if kind == "media" and isinstance(record, MediaRecord):
        return {
            "step": record.step,
            "timestamp": record.timestamp,
            "key": record.key,
            "kind": record.kind,
            "caption": record.caption,
            "value": record.value,
            "file": record.file,
            "meta": record.meta,
            "blobs": {name: base64.b64encode(data).decode("ascii") for name, data in record.blobs.items()},
        }
    return {"config": record}


def append(path: Path, project: str, run_id: str | None, run_name: str | None, rows: Iterable[tuple]) -> str:
    """Append refused rows (kind, record, error) to `path`; returns the path as text."""
    now = time.time()
    lines = [
        json.dumps(
            {
                "project": project,
                "run_id": run_id,
                "run": run_name,
                "rejected_at": now,
                "error": error,
                "kind": kind,
                "row": row_dict(kind, record),
            },
            allow_nan=True,
            ensure_ascii=True,  # a refused row may hold text that is not valid UTF-8 (a lone surrogate)
        ).encode("ascii")
        + b"\n"
        for kind, record, error in rows
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        data = b"".join(lines)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    return str(path)
