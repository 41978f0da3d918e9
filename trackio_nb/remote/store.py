"""The check every batch passes before either server store (SQLite or PostgreSQL) sees it.

One place for the wire-level rules of a batch (kind, ids, resume mode, alerts, logs), so
both storage backends apply exactly the same accepted batches. The stores themselves live
in trackio_nb.storage (sqlite_server, postgres) behind storage.server_store.ServerStore.
"""

from __future__ import annotations

import math

from ..enums import LEVELS, STATUSES
from ..errors import InvalidValue
from ..storage import validate_project
from ..storage.records import RESUME_MODES, AlertRecord
from ..validation import (
    check_alert_data_text,
    check_alert_text,
    check_alert_title,
    check_config,
    check_entries,
    check_label,
    check_step,
)
from .media_wire import decode_media
from .wire import decode_packed

KINDS = ("open", "write", "status")
MAX_ID_LENGTH = 128


# -- validation: every field a batch may carry, with errors that name it ----------------------


def _need(cond: bool, message: str) -> None:
    if not cond:
        raise InvalidValue(message)


def _is_int(value: object) -> bool:
    return type(value) is int


def _is_number(value: object) -> bool:
    return type(value) in (int, float)


def _opt_str(batch: dict, field: str) -> None:
    _need(batch.get(field) is None or isinstance(batch[field], str), f"{field!r} must be a string or null")


def check_batch(batch: object) -> dict:
    """Check a batch's shape and values (trackio_nb.validation's rules); InvalidValue names the first bad one."""
    _need(isinstance(batch, dict), "a batch must be a JSON object")
    kind = batch.get("kind")
    _need(kind in KINDS, f"'kind' must be one of {', '.join(KINDS)}, got {kind!r}")
    for field in ("id", "project", "run_id"):
        value = batch.get(field)
        _need(isinstance(value, str) and 0 < len(value) <= MAX_ID_LENGTH, f"{field!r} must be a non-empty string")
    validate_project(batch["project"])
    if kind == "open":
        _check_open(batch)
    elif kind == "write":
        _check_write(batch)
    else:
        _check_owner(batch)
        _need(batch.get("status") in STATUSES, f"'status' must be one of {', '.join(STATUSES)}")
        finished = batch.get("finished_at")
        _need(finished is None or _is_number(finished), "'finished_at' must be a number or null")
    return batch


def _check_open(batch: dict) -> None:
    _opt_str(batch, "name")
    _opt_str(batch, "group")
    _opt_str(batch, "host")
    for field, what in (("name", "run name"), ("group", "group")):
        if batch.get(field) is not None:
            check_label(batch[field], what)
    _need(batch.get("resume") in RESUME_MODES, f"'resume' must be one of {', '.join(RESUME_MODES)}")
    _need(batch["resume"] == "never" or batch.get("name") is not None, "resuming needs a run 'name'")
    _need(isinstance(batch.get("config"), dict), "'config' must be a JSON object")
    check_config(batch["config"])
    _need(batch.get("pid") is None or _is_int(batch["pid"]), "'pid' must be an integer or null")
    _need(_is_number(batch.get("created_at")), "'created_at' must be a number")
    batch.setdefault("group", None)
    batch.setdefault("host", None)
    batch.setdefault("pid", None)


def _check_write(batch: dict) -> None:
    alerts = batch.setdefault("alerts", [])
    config = batch.setdefault("config", None)
    batch["logs"] = logs = decode_packed(batch.get("logs", []))
    check_entries(logs.outline())  # keys and texts; every step is an int64 >= 0 already
    _need(isinstance(alerts, list), "'alerts' must be a list")
    _need(config is None or isinstance(config, dict), "'config' must be a JSON object or null")
    if config is not None:
        check_config(config)
    batch["alerts"] = [_alert(i, a) for i, a in enumerate(alerts)]
    batch["media"] = decode_media(batch.get("media"), batch.pop("blobs", {}))
    _check_owner(batch)


def _check_owner(batch: dict) -> None:
    """The writing process ([host, pid]): a run another process took over refuses its batches."""
    owner = batch.get("owner")
    _need(
        owner is None
        or (isinstance(owner, list) and len(owner) == 2 and isinstance(owner[0], str) and _is_int(owner[1])),
        "'owner' must be [host, pid] or null",
    )
    batch["owner"] = None if owner is None else tuple(owner)


def _alert(i: int, raw: object) -> AlertRecord:
    _need(isinstance(raw, dict), f"alerts[{i}] must be a JSON object")
    ts, step, level, title = raw.get("timestamp"), raw.get("step"), raw.get("level"), raw.get("title")
    text, data = raw.get("text"), raw.get("data")
    _need(_is_number(ts) and math.isfinite(ts), f"alerts[{i}].timestamp must be a number")
    if step is not None:
        _need(_is_int(step), f"alerts[{i}].step must be an integer >= 0 or null")
        check_step(step)
    _need(level in LEVELS, f"alerts[{i}].level must be one of {', '.join(LEVELS)}")
    check_alert_title(title)
    check_alert_text(text)
    check_alert_data_text(data)
    return AlertRecord(float(ts), step, level, title, text, data)


__all__ = ["KINDS", "RESUME_MODES", "check_batch"]
