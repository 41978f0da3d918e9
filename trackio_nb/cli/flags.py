"""Checking flag values: each bad value is a CliError naming the flag (exit 1)."""

from __future__ import annotations

from datetime import datetime

from ..errors import InvalidValue
from ..presentation import parse_since
from .errors import CliError


def choice(flag: str, value: str | None, allowed: tuple[str, ...]) -> str | None:
    """`value` if it is one of `allowed` (or None)."""
    if value is None or value in allowed:
        return value
    raise CliError(f"{flag} must be one of {', '.join(allowed)}, got {value!r}")


def names(flag: str, value: str | None) -> list[str] | None:
    """A comma-separated list of names (None when the flag was not given)."""
    if value is None:
        return None
    items = [item.strip() for item in value.split(",")]
    if not any(items) or not all(items):
        raise CliError(f"{flag} takes comma-separated names, got {value!r}")
    return items


def non_negative_int(flag: str, value: str | None) -> int | None:
    """An integer >= 0 (None when the flag was not given)."""
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        raise CliError(f"{flag} must be an integer, got {value!r}") from None
    if number < 0:
        raise CliError(f"{flag} must be >= 0, got {number}")
    return number


def port(value: str) -> int:
    """A TCP port number (0: any free port)."""
    number = non_negative_int("--port", value)
    if number is None or number > 65535:
        raise CliError(f"--port must be between 0 and 65535, got {value!r}")
    return number


def since(value: str | None) -> datetime | None:
    """An ISO 8601 date or date-time (the one `since` parser); without a zone it is UTC."""
    try:
        return parse_since(value)
    except InvalidValue as exc:
        raise CliError(f"--{exc}") from None
