"""What travels between client and server: paths, limits, frames, logged steps, error kinds.

Frames travel as Arrow IPC streams, so a remote reader gets back exactly the Polars frame
(schema, column order, NaN and nulls) the server's LocalReader produced. Batches are JSON;
inside them, logged steps travel as packed arrays (base64 of little-endian int64/float64,
the storage codec's format): a run of consecutive steps with the same metric keys is one
group, so the cost per value is a few bytes copied, not a float printed and parsed, and
NaN and ±Inf arrive bit for bit.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
from collections.abc import Sequence

import numpy as np
import polars as pl

from .. import errors
from ..errors import InvalidValue
from ..storage.codec import pack_floats, pack_ints
from ..storage.packed import PackedGroup, PackedLogs
from ..storage.records import LogEntry

API = "/api/v1"
MAX_BODY_BYTES = 16 * 1024 * 1024  # a write batch (clients send at most 8 MiB)
MAX_QUERY_BYTES = 64 * 1024  # a read query's arguments
FRAME_TYPE = "application/vnd.apache.arrow.stream"

# Error kinds a server reports in {"error": message, "kind": kind}; the client raises the same class.
KIND_VALUE, KIND_TYPE, KIND_NOT_FOUND, KIND_PROJECT_NOT_FOUND = "value", "type", "not_found", "project_not_found"
KIND_RUN_IN_PROGRESS = "run_in_progress"  # 409: a running run cannot be deleted or moved
KIND_AMBIGUOUS, KIND_SCHEMA_TOO_NEW, KIND_SERVER = "ambiguous", "schema_too_new", "server"
KIND_METRIC_NOT_FOUND = "metric_not_found"
ERROR_KINDS: dict[str, type[errors.TrackioNbError]] = {
    KIND_VALUE: errors.InvalidValue,
    KIND_TYPE: errors.InvalidValue,
    KIND_NOT_FOUND: errors.RunNotFound,
    KIND_METRIC_NOT_FOUND: errors.MetricNotFound,
    KIND_RUN_IN_PROGRESS: errors.RunInProgress,
    KIND_PROJECT_NOT_FOUND: errors.ProjectNotFound,
    KIND_AMBIGUOUS: errors.AmbiguousRun,
    KIND_SCHEMA_TOO_NEW: errors.SchemaTooNew,
    KIND_SERVER: errors.ServerError,
}


def error_kind(error: errors.TrackioNbError) -> str:
    """The wire kind of one of the package's errors (the client raises the same class back)."""
    for kind, cls in ERROR_KINDS.items():
        if type(error) is cls:
            return kind
    return KIND_VALUE


def frame_bytes(df: pl.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.write_ipc_stream(buf)
    return buf.getvalue()


def frame_from_bytes(data: bytes) -> pl.DataFrame:
    return pl.read_ipc_stream(io.BytesIO(data))


TAIL_FRAMES = ("runs", "last_values", "points", "alerts")


def tail_dict(tail) -> dict:
    """A storage.tail.Tail as JSON: its frames as base64 Arrow IPC, its cursors as numbers."""
    out = {name: _b64(frame_bytes(getattr(tail, name))) for name in TAIL_FRAMES}
    out.update(chunk_cursor=tail.chunk_cursor, alert_cursor=tail.alert_cursor)
    return out


def tail_from_dict(data: dict):
    """The Tail a `tail_dict` describes."""
    from ..storage.tail import Tail

    frames = {name: frame_from_bytes(base64.b64decode(data[name])) for name in TAIL_FRAMES}
    return Tail(**frames, chunk_cursor=data["chunk_cursor"], alert_cursor=data["alert_cursor"])


def dumps(obj: object) -> bytes:
    """Compact JSON that keeps NaN and ±Inf."""
    return json.dumps(obj, separators=(",", ":"), allow_nan=True).encode()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def encode_logs(logs: Sequence[LogEntry]) -> list[dict]:
    """Logged steps as groups: {keys, steps, timestamps, values (row-major)} (+ texts for one step)."""
    groups = []
    i, n = 0, len(logs)
    while i < n:
        numbers, texts = logs[i][2], logs[i][3]
        keys = tuple(numbers)
        j = i + 1
        if texts is None:
            while j < n and logs[j][3] is None and tuple(logs[j][2]) == keys:
                j += 1
        chunk = logs[i:j]
        group = {
            "keys": list(keys),
            "steps": _b64(pack_ints([e[0] for e in chunk])),
            "timestamps": _b64(pack_floats([e[1] for e in chunk])),
            "values": _b64(pack_floats([v for e in chunk for v in e[2].values()])),
        }
        if texts is not None:
            group["texts"] = texts
        groups.append(group)
        i = j
    return groups


def _unb64(group: dict, field: str, where: str) -> bytes:
    raw = group.get(field)
    if not isinstance(raw, str):
        raise InvalidValue(f"{where}.{field} must be a base64 string")
    try:
        data = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidValue(f"{where}.{field} is not valid base64") from None
    if len(data) % 8:
        raise InvalidValue(f"{where}.{field} must hold 8-byte numbers")
    return data


def _decode_groups(groups: object) -> list[PackedGroup]:
    """Every group of `encode_logs`' output as arrays, checking every field; InvalidValue names the bad one."""
    if not isinstance(groups, list):
        raise InvalidValue("'logs' must be a list of groups")
    out: list[PackedGroup] = []
    for g, group in enumerate(groups):
        where = f"logs[{g}]"
        if not isinstance(group, dict):
            raise InvalidValue(f"{where} must be a JSON object")
        keys = group.get("keys")
        if not isinstance(keys, list) or not all(isinstance(k, str) and k for k in keys) or len(set(keys)) != len(keys):
            raise InvalidValue(f"{where}.keys must be a list of distinct non-empty metric names")
        steps = np.frombuffer(_unb64(group, "steps", where), dtype="<i8")
        stamps = np.frombuffer(_unb64(group, "timestamps", where), dtype="<f8")
        values = np.frombuffer(_unb64(group, "values", where), dtype="<f8")
        if len(stamps) != len(steps) or len(values) != len(keys) * len(steps):
            raise InvalidValue(f"{where}: steps, timestamps and values do not line up with the keys")
        if len(steps) and steps.min() < 0:
            raise InvalidValue(f"{where}: steps must be >= 0")
        texts = group.get("texts")
        bad_texts = not isinstance(texts, dict) or not all(isinstance(v, str) for v in texts.values())
        if texts is not None and (len(steps) != 1 or bad_texts):
            raise InvalidValue(f"{where}.texts must be {{metric: JSON text}} on a one-step group")
        # Native byte order (a no-op on little-endian machines) so arrays add and compare as numbers.
        steps, stamps = steps.astype(np.int64, copy=False), stamps.astype(np.float64, copy=False)
        values = values.astype(np.float64, copy=False).reshape(len(steps), len(keys))
        out.append(PackedGroup(tuple(keys), steps, stamps, values, texts))
    return out


def decode_packed(groups: object) -> PackedLogs:
    """`encode_logs`' output back as packed arrays (what the server stores), every field checked."""
    return PackedLogs(_decode_groups(groups))


def decode_logs(groups: object) -> list[LogEntry]:
    """The inverse of `encode_logs`, checking every field; InvalidValue names the bad one."""
    return list(decode_packed(groups))
