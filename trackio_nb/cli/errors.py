"""The two ways a command fails on purpose: bad input (exit 1) and bad usage (exit 2)."""

from __future__ import annotations


class CliError(Exception):
    """A problem with the user's input or data: one line on stderr, exit code 1."""

    exit_code = 1


class UsageError(CliError):
    """The command line itself is wrong (unknown command or flag, missing flag): exit code 2."""

    exit_code = 2
