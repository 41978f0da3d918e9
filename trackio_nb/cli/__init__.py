"""`trackio-nb`: the command line for people at a terminal and for agents running experiments.

`main(argv)` parses, runs one command and returns the exit code: 0 on success, 1 for bad
input or data (one line on stderr), 2 for bad usage. Only what the command needs is
imported: `--help` loads argparse alone; queries load the readers (Polars) and nothing of
the widgets, reports or server.
"""

from __future__ import annotations

import sys

from .errors import CliError, UsageError

PROG = "trackio-nb"
FEATURE_COMMANDS = ("report", "export", "serve", "sync", "mcp", "migrate", "push")


def input_error_message(exc: BaseException, project: str | None = None, remote: bool = False) -> str | None:
    """The one-line message for an error caused by input or data, or None for a bug (CLI and MCP)."""
    import sqlite3

    from ..errors import TrackioNbError

    if isinstance(exc, sqlite3.Error):
        where = f"project {project!r}" if project else "the database"
        return f"cannot read {where}: {exc}"
    if isinstance(exc, (TrackioNbError, LookupError, ValueError, OSError)) or (remote and isinstance(exc, TypeError)):
        return str(exc) or type(exc).__name__
    httpx = sys.modules.get("httpx")
    if httpx is not None and isinstance(exc, httpx.HTTPError):
        return f"tracking server: {exc}"
    if type(exc).__module__.startswith("trackio_nb.remote"):
        return str(exc) or type(exc).__name__
    return None


def _input_error(exc: BaseException, args) -> str | None:
    import os

    remote = bool(getattr(args, "server", None) or os.environ.get("TRACKIO_NB_SERVER"))
    return input_error_message(exc, getattr(args, "project", None), remote)


def _fail(message: str, code: int) -> int:
    print(f"{PROG}: error: {' '.join(message.split())}", file=sys.stderr)
    return code


def _execute(args) -> int:
    from ..presentation import dumps
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
    print(dumps(result) if args.json else fit(getattr(human, args.command)(result)))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run `trackio-nb` with `argv` (default: sys.argv[1:]); returns the exit code."""
    from .parser import build_parser

    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    args = None
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
    except Exception as exc:
        message = _input_error(exc, args)
        if message is None:
            raise
        return _fail(message, 1)


__all__ = ["CliError", "UsageError", "input_error_message", "main"]
