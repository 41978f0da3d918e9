"""Checking an alert's arguments and telling the person at the terminal about it."""

from __future__ import annotations

import json
import sys
import time

from .enums import parse_level
from .storage.records import AlertRecord


def make_alert(title: object, text: object, level: object, data: object, step: int | None) -> AlertRecord:
    """Validate `alert()` arguments; TypeError/ValueError name the bad one."""
    if not isinstance(title, str):
        raise TypeError(f"alert title must be a string, got {type(title).__name__}")
    if not title.strip():
        raise ValueError("alert title must not be empty")
    if text is not None and not isinstance(text, str):
        raise TypeError(f"alert text must be a string or None, got {type(text).__name__}")
    if data is not None and not isinstance(data, dict):
        raise TypeError(f"alert data must be a dict (a JSON object) or None, got {type(data).__name__}")
    encoded = None
    if data is not None:
        try:
            encoded = json.dumps(data, allow_nan=True)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"alert data must be JSON-serialisable: {exc}") from None
    return AlertRecord(time.time(), step, parse_level(level), title, text, encoded)


def announce(run_name: str, alert: AlertRecord) -> None:
    """One line on stderr per alert."""
    where = f" at step {alert.step}" if alert.step is not None else ""
    text = f": {alert.text}" if alert.text else ""
    print(f"[trackio_nb {alert.level.upper()}] {run_name}{where} — {alert.title}{text}", file=sys.stderr)
