"""Commands backed by optional parts of the package: report, export, serve, sync (and --server reads).

Each looks its implementation up when run; when that part is missing the command fails
with one clear line (exit 1) instead of a traceback or a silent fallback to local data.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from importlib import import_module
from importlib.util import find_spec
from typing import Any

from . import flags
from .errors import CliError


def require(module: str, attr: str, feature: str) -> Callable[..., Any]:
    """`module.attr`, or a CliError saying `feature` is not available in this installation."""
    try:
        found = find_spec(module) is not None
    except ImportError:
        found = False
    target = getattr(import_module(module), attr, None) if found else None
    if target is None:
        raise CliError(f"{feature} is not available in this installation ({module}.{attr} is missing)")
    return target


def _token(args: argparse.Namespace) -> str | None:
    return args.token or os.environ.get("TRACKIO_NB_TOKEN") or None


def report(args: argparse.Namespace) -> dict[str, Any]:
    make_report = require("trackio_nb.reports", "report", "report (HTML reports)")
    runs = flags.names("--runs", args.runs)
    metrics = flags.names("--metrics", args.metrics)
    server = args.server or os.environ.get("TRACKIO_NB_SERVER") or None
    if server:
        require("trackio_nb.remote.client_reader", "RemoteReader", "--server (reading from a tracking server)")
    path = make_report(args.project, args.output, runs, metrics, args.title, server_url=server, token=_token(args))
    return {"project": args.project, "path": str(path)}


def serve(args: argparse.Namespace) -> int:
    if args.server:
        raise CliError("serve takes no --server: it is the server (use --host and --port)")
    port = flags.port(args.port)
    run_server = require("trackio_nb.remote.commands", "serve", "serve (the tracking server)")
    return int(run_server(args.host, port, args.dir, _token(args), args.public_read, args.db) or 0)


def migrate(args: argparse.Namespace) -> dict[str, Any]:
    if args.server:
        raise CliError("migrate takes no --server: it works on the database itself (--db URL)")
    run_migrate = require("trackio_nb.remote.commands", "migrate", "migrate (PostgreSQL schema)")
    return dict(run_migrate(args.db))


def push(args: argparse.Namespace) -> dict[str, Any]:
    server = args.server or os.environ.get("TRACKIO_NB_SERVER") or None
    if not server:
        raise CliError("push needs --server URL (or TRACKIO_NB_SERVER)")
    run_push = require("trackio_nb.remote.push", "push", "push (uploading a project to a server)")
    return dict(run_push(args.project, server, _token(args), args.dir))


def sync(args: argparse.Namespace) -> dict[str, Any]:
    server = args.server or os.environ.get("TRACKIO_NB_SERVER") or None
    deliver = require("trackio_nb.remote.commands", "sync", "sync (delivering the outbox to a server)")
    return dict(deliver(server, _token(args), args.dir))


def export(args: argparse.Namespace) -> dict[str, Any]:
    if args.server:
        raise CliError("export takes no --server: it converts a local notebook file")
    export_notebook = require("trackio_nb.export", "export_notebook", "export (notebook to HTML)")
    path = export_notebook(args.notebook, args.output, execute=args.execute)
    return {"notebook": args.notebook, "path": str(path)}


def mcp(args: argparse.Namespace) -> int:
    if args.server:
        require("trackio_nb.remote.client_reader", "RemoteReader", "--server (reading from a tracking server)")
    from ..mcp_server import serve as serve_mcp

    return serve_mcp(args)
