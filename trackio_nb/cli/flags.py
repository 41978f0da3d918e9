"""Checking flag values: each bad value is a CliError naming the flag (exit 1)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
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


@contextmanager
def named(argument: str, flag: str) -> Iterator[None]:
    """An InvalidValue about `argument` (the Python and MCP name, e.g. max_points) raised inside
    re-raised naming the command line's `flag` (--max-points): the rule stays with its owner."""
    try:
        yield
    except InvalidValue as exc:
        message = str(exc)
        if not message.startswith(f"{argument} "):
            raise
        raise CliError(flag + message[len(argument) :]) from None


def since(value: str | None) -> datetime | None:
    """An ISO 8601 date or date-time (the one `since` parser); without a zone it is UTC."""
    with named("since", "--since"):
        return parse_since(value)
