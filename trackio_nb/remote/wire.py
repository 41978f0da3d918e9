"""What travels between client and server: paths, limits, frames, and error kinds.

Frames travel as Arrow IPC streams, so a remote reader gets back exactly the Polars frame
(schema, column order, NaN and nulls) the server's LocalReader produced. Batches are JSON
(NaN and ±Inf written as the non-standard tokens Python's json reads back as themselves).
"""

from __future__ import annotations

import io
import json

import polars as pl

API = "/api/v1"
MAX_BODY_BYTES = 32 * 1024 * 1024
FRAME_TYPE = "application/vnd.apache.arrow.stream"

# Error kinds a server reports in {"error": message, "kind": kind}; the client raises the same type.
KIND_VALUE, KIND_TYPE, KIND_NOT_FOUND, KIND_PROJECT_NOT_FOUND = "value", "type", "not_found", "project_not_found"


def frame_bytes(df: pl.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.write_ipc_stream(buf)
    return buf.getvalue()


def frame_from_bytes(data: bytes) -> pl.DataFrame:
    return pl.read_ipc_stream(io.BytesIO(data))


def dumps(obj: object) -> bytes:
    """Compact JSON that keeps NaN and ±Inf."""
    return json.dumps(obj, separators=(",", ":"), allow_nan=True).encode()
