"""`trackio-nb`: the command line for people at a terminal and for agents running experiments.

`main(argv)` parses, runs one command and returns the exit code: 0 on success, 1 for bad
input or data (a `trackio_nb.errors` error: one line on stderr), 2 for bad usage, 70 for a
bug (any other exception: its traceback on stderr). Only what the command needs is
imported: `--help` loads argparse alone; queries load the readers (Polars) and nothing of
the widgets, reports or server.
"""

from __future__ import annotations

import sys

from .errors import CliError, UsageError

PROG = "trackio-nb"
FEATURE_COMMANDS = ("report", "export", "serve", "sync", "mcp", "migrate", "push")
EXIT_BUG = 70  # EX_SOFTWARE: an exception that is not one of trackio_nb.errors


def input_error_message(exc: BaseException, project: str | None = None, remote: bool = False) -> str | None:
    """The one-line message for an error trackio_nb raised on purpose (or the environment
    caused: a file that cannot be written, a locked or failing disk), or None for a bug
    (CLI and MCP). `project` and `remote` are kept for callers; the rule does not need them."""
    import sqlite3

    from ..errors import TrackioNbError

    if isinstance(exc, TrackioNbError):
        return str(exc) or type(exc).__name__
    if isinstance(exc, OSError):
        return str(exc) or type(exc).__name__
    if isinstance(exc, sqlite3.OperationalError):
        return f"cannot read the database: {exc}"
    return None


def _fail(message: str, code: int) -> int:
    print(f"{PROG}: error: {' '.join(message.split())}", file=sys.stderr)
    return code


def _execute(args) -> int:
    from ..presentation import dumps, printable
    from . import human
    from .tables import fit

    if args.command in FEATURE_COMMANDS:
        from . import features

        result = getattr(features, args.command)(args)
        if isinstance(result, int):
            return result
    else:
        from . import commands

        reader = commands.open_reader(args)
        try:
            result = getattr(commands, args.command)(reader, args)
        finally:
            close = getattr(reader, "close", None)
            if close is not None:
                close()
    print(dumps(result) if args.json else fit(getattr(human, args.command)(printable(result))))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run `trackio-nb` with `argv` (default: sys.argv[1:]); returns the exit code."""
    from .parser import build_parser

    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    try:
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:  # --help, or argparse's own exit
            return exc.code if isinstance(exc.code, int) else 0
        if args.version:
            from .. import __version__

            print(f"{PROG} {__version__}")
            return 0
        if getattr(args, "command", None) is None:
            parser.print_help()
            return 2
        return _execute(args)
    except CliError as exc:
        return _fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # noqa: BLE001  (a bug is re-shown with its traceback, exit 70)
        message = input_error_message(exc)
        if message is None:  # a bug: never disguised as bad input
            import traceback

            traceback.print_exc(file=sys.stderr)
            print(f"{PROG}: internal error (a bug in trackio_nb; please report it)", file=sys.stderr)
            return EXIT_BUG
        return _fail(message, 1)


__all__ = ["CliError", "UsageError", "input_error_message", "main"]
