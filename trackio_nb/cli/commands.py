"""The read commands (list, get, best, compare, summary) and stop: flags in, JSON document out.

Each turns its parsed flags into typed arguments (a bad value is a CliError naming the flag)
and calls the function of `trackio_nb.documents` that builds the document, the same one
the MCP server calls, so `--json` and the MCP tools return the same text.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from .. import analysis, documents
from ..enums import LEVELS, REASONS
from ..readers import Reader, reader_for
from . import flags
from .errors import CliError
from .features import require


def open_reader(args: argparse.Namespace) -> Reader:
    """The local data directory, or the tracking server of --server / TRACKIO_NB_SERVER."""
    server = args.server or os.environ.get("TRACKIO_NB_SERVER") or None
    if server:
        require("trackio_nb.remote.client_reader", "RemoteReader", "--server (reading from a tracking server)")
    return reader_for(server, args.token or os.environ.get("TRACKIO_NB_TOKEN") or None)


def list_projects(reader: Reader, args: argparse.Namespace) -> dict[str, Any]:
    return documents.list_projects(reader)


def list_runs(reader: Reader, args: argparse.Namespace) -> dict[str, Any]:
    return documents.list_runs(reader, args.project)


def list_metrics(reader: Reader, args: argparse.Namespace) -> dict[str, Any]:
    return documents.list_metrics(reader, args.project, args.run)


def list_alerts(reader: Reader, args: argparse.Namespace) -> dict[str, Any]:
    return documents.alerts(
        reader,
        args.project,
        run=args.run,
        level=flags.choice("--level", args.level, LEVELS),
        reason=flags.choice("--reason", args.reason, REASONS),
        since=flags.since(args.since),
        after_id=flags.non_negative_int("--after-id", args.after_id),
    )


get_alerts = list_alerts


def list_media(reader: Reader, args: argparse.Namespace) -> dict[str, Any]:
    return documents.list_media(reader, args.project, args.run, args.key)


def get_media(reader: Reader, args: argparse.Namespace) -> dict[str, Any]:
    step = flags.non_negative_int("--step", args.step)
    return documents.get_media(reader, args.project, args.run, args.key, step, args.output)


def get_run(reader: Reader, args: argparse.Namespace) -> dict[str, Any]:
    return documents.get_run(reader, args.project, args.run)


def get_metric(reader: Reader, args: argparse.Namespace) -> dict[str, Any]:
    return documents.get_metric(reader, args.project, args.run, args.metric)


def get_history(reader: Reader, args: argparse.Namespace) -> dict[str, Any]:
    max_points = flags.non_negative_int("--max-points", args.max_points)
    with flags.named("max_points", "--max-points"):  # the minimum is documents.history's rule
        return documents.history(reader, args.project, args.run, args.metric, max_points)


def best(reader: Reader, args: argparse.Namespace) -> dict[str, Any]:
    direction = flags.choice("--direction", args.direction, analysis.DIRECTIONS)
    mode = flags.choice("--mode", args.mode, analysis.MODES)
    return documents.best(reader, args.project, args.metric, direction, mode, args.include_all)


def compare(reader: Reader, args: argparse.Namespace) -> dict[str, Any]:
    mode = flags.choice("--mode", args.mode, analysis.MODES)
    runs = flags.names("--runs", args.runs)
    metrics = flags.names("--metrics", args.metrics)
    return documents.compare(reader, args.project, runs, metrics, mode, args.include_all)


def summary(reader: Reader, args: argparse.Namespace) -> dict[str, Any]:
    return documents.summary(reader, args.project, args.metric)


def stop(reader: Reader, args: argparse.Namespace) -> dict[str, Any]:
    return documents.stop_run(reader, args.project, args.run)


def delete_run(reader: Reader, args: argparse.Namespace) -> dict[str, Any]:
    doc = documents.delete_run(reader, args.project, args.run, confirmed=args.yes)
    if not args.yes:
        raise _unconfirmed(
            args,
            doc,
            f"not deleted: run {doc['run']!r} (id {doc['run_id']}) of project {args.project!r} holds"
            f" {documents.describe_counts(doc, runs=False)}; pass --yes to delete it",
        )
    return doc


def delete_project(reader: Reader, args: argparse.Namespace) -> dict[str, Any]:
    doc = documents.delete_project(reader, args.project, confirmed=args.yes)
    if not args.yes:
        raise _unconfirmed(
            args,
            doc,
            f"not deleted: project {args.project!r} holds {documents.describe_counts(doc)}; pass --yes to delete it",
        )
    return doc


def _unconfirmed(args: argparse.Namespace, doc: dict[str, Any], message: str) -> CliError:
    """The refusal of a delete without --yes; with --json, what it would delete ("deleted": false)
    is first printed on stdout as the command's one document (the exit code stays 1)."""
    if args.json:
        from ..presentation import dumps

        print(dumps(doc))
    return CliError(message)


def rename_run(reader: Reader, args: argparse.Namespace) -> dict[str, Any]:
    return documents.rename_run(reader, args.project, args.run, args.to)


def move_run(reader: Reader, args: argparse.Namespace) -> dict[str, Any]:
    return documents.move_run(reader, args.project, args.run, args.to_project)
