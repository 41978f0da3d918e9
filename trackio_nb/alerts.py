"""Checking an alert's arguments and telling the person at the terminal about it."""

from __future__ import annotations

import sys
import time

from .enums import parse_level
from .presentation import printable
from .storage.records import AlertRecord
from .validation import check_alert_text, check_alert_title, encode_alert_data

# ANSI colours per level, used only when stderr is a terminal.
_COLOURS = {"info": "\033[36m", "warn": "\033[33m", "error": "\033[1;31m"}
_DIM = "\033[2m"
_RESET = "\033[0m"


def make_alert(title: object, text: object, level: object, data: object, step: int | None) -> AlertRecord:
    """Validate `alert()` arguments (trackio_nb.validation); InvalidValue names the bad one."""
    return AlertRecord(
        time.time(),
        step,
        parse_level(level),
        check_alert_title(title),
        check_alert_text(text),
        encode_alert_data(data),
    )


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
    """One line of `text` whose control characters (ESC, CR, C1 ...) show as U+FFFD, as in the CLI."""
    return " ".join(printable(text).split())


def announce(run_name: str, alert: AlertRecord) -> None:
    """Print the alert once on stderr, coloured when stderr is a terminal."""
    stream = sys.stderr
    if stream is None:  # pythonw and some embedded interpreters have no stderr
        return
    isatty = getattr(stream, "isatty", None)
    colour = bool(isatty and isatty())
    print(format_line(run_name, alert, colour=colour), file=stream, flush=True)
