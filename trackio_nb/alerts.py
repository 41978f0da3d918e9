"""Checking an alert's arguments and telling the person at the terminal about it."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping

from .enums import parse_level
from .storage.records import AlertRecord

# ANSI colours per level, used only when stderr is a terminal.
_COLOURS = {"info": "\033[36m", "warn": "\033[33m", "error": "\033[1;31m"}
_DIM = "\033[2m"
_RESET = "\033[0m"


def encode_data(data: object) -> str | None:
    """`data` as strict JSON text; TypeError for anything that would not read back as itself."""
    if data is None:
        return None
    if not isinstance(data, dict):
        raise TypeError(f"alert data must be a dict (a JSON object) or None, got {type(data).__name__}")
    _check_keys(data, "data")
    try:
        return json.dumps(data, allow_nan=False)
    except (TypeError, ValueError) as exc:
        # NaN/Infinity are not JSON: SQLite's json_extract (the reason filter) rejects them.
        raise TypeError(f"alert data must be JSON-serialisable (no NaN or Infinity): {exc}") from None


def _check_keys(value: object, path: str) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"alert {path} has a non-string key {key!r}: JSON object keys are strings")
            _check_keys(item, f"{path}[{key!r}]")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _check_keys(item, f"{path}[{index}]")


def make_alert(title: object, text: object, level: object, data: object, step: int | None) -> AlertRecord:
    """Validate `alert()` arguments; TypeError/ValueError name the bad one."""
    if not isinstance(title, str):
        raise TypeError(f"alert title must be a string, got {type(title).__name__}")
    if not title.strip():
        raise ValueError("alert title must not be empty")
    if text is not None and not isinstance(text, str):
        raise TypeError(f"alert text must be a string or None, got {type(text).__name__}")
    return AlertRecord(time.time(), step, parse_level(level), title, text, encode_data(data))


def format_line(run_name: str, alert: AlertRecord, *, colour: bool) -> str:
    """The one-line form of an alert: `[trackio_nb WARN] run @ step 12: title — text`."""
    where = f" @ step {alert.step}" if alert.step is not None else ""
    title = _one_line(alert.title)
    text = f" — {_one_line(alert.text)}" if alert.text else ""
    label = f"[trackio_nb {alert.level.upper()}]"
    if colour:
        return f"{_COLOURS[alert.level]}{label}{_RESET} {run_name}{where}: {title}{_DIM}{text}{_RESET}"
    return f"{label} {run_name}{where}: {title}{text}"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def announce(run_name: str, alert: AlertRecord) -> None:
    """Print the alert once on stderr, coloured when stderr is a terminal."""
    stream = sys.stderr
    if stream is None:  # pythonw and some embedded interpreters have no stderr
        return
    isatty = getattr(stream, "isatty", None)
    colour = bool(isatty and isatty())
    print(format_line(run_name, alert, colour=colour), file=stream, flush=True)
