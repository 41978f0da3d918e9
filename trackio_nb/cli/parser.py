"""The `trackio-nb` command line: argparse only, so `--help` loads nothing else.

Flag values (directions, levels, ids, dates) are checked by the commands, not here, so a
bad value is an input error (exit 1) with a message naming the flag; argparse only
rejects bad usage (exit 2): unknown commands or flags, missing required flags.
"""

from __future__ import annotations

import argparse

from .errors import UsageError

DESCRIPTION = """Query and control trackio_nb experiments from a terminal or an agent loop.

Data comes from TRACKIO_NB_DIR (default ~/.cache/trackio_nb), or from a tracking server
with --server URL (or TRACKIO_NB_SERVER). Every command takes --json: one JSON document
on stdout (NaN and infinities are written as the strings "NaN", "Infinity", "-Infinity").
Errors: one line on stderr, exit code 1 (2 for bad usage). See docs/cli.md."""

EPILOG = """examples:
  trackio-nb list runs --project mnist
  trackio-nb best --project mnist --metric val/loss --direction min --json
  trackio-nb compare --project mnist --metrics val/loss,val/acc --mode min
  trackio-nb list alerts --project mnist --after-id 41 --json
  trackio-nb stop --project mnist --run 3f2a9c01b7de"""


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Paragraphs re-flowed to the terminal (COLUMNS), example lines kept whole unless too wide."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        import textwrap

        out = []
        for paragraph in text.split("\n\n"):
            lines = paragraph.split("\n")
            if any(line.startswith("  ") for line in lines):  # examples: one command a line
                for line in lines:
                    lead = indent + line[: len(line) - len(line.lstrip())]
                    out += textwrap.wrap(
                        line.strip(),
                        width,
                        initial_indent=lead,
                        subsequent_indent=lead + "    ",
                        break_on_hyphens=False,
                    )
            else:
                out += textwrap.wrap(
                    " ".join(lines), width, initial_indent=indent, subsequent_indent=indent, break_on_hyphens=False
                )
            out.append("")
        return "\n".join(out[:-1])


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors become a one-line UsageError (exit 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("output and source")
    group.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    group.add_argument("--server", metavar="URL", help="read from a tracking server (env TRACKIO_NB_SERVER)")
    group.add_argument("--token", metavar="T", help="token for the tracking server (env TRACKIO_NB_TOKEN)")
    return common


def _leaf(subparsers, name: str, command: str, help_text: str, common) -> argparse.ArgumentParser:
    leaf = subparsers.add_parser(name, help=help_text, description=help_text, parents=[common])
    leaf.set_defaults(command=command)
    return leaf


def _alert_filters(leaf: argparse.ArgumentParser) -> None:
    leaf.add_argument("--project", required=True, help="project name")
    leaf.add_argument("--run", help="only this run (id, or a name that is unique in the project)")
    leaf.add_argument("--level", metavar="{info,warn,error}", help="only alerts of this level")
    leaf.add_argument("--reason", metavar="REASON", help="only watcher alerts for this reason (nan_inf, spike, ...)")
    leaf.add_argument("--since", metavar="ISO", help="only alerts at or after this ISO-8601 time (no zone = UTC)")
    leaf.add_argument("--after-id", metavar="N", help="only alerts with id > N (a cursor: pass the last id seen)")


def _list(commands, common) -> None:
    listing = commands.add_parser("list", help=HELP["list"], description=HELP["list"])
    kinds = listing.add_subparsers(title="what", metavar="WHAT", dest="kind", required=True)
    _leaf(kinds, "projects", "list_projects", "list the projects", common)
    leaf = _leaf(kinds, "runs", "list_runs", "list the runs of a project (id, name, status)", common)
    leaf.add_argument("--project", required=True, help="project name")
    leaf = _leaf(kinds, "metrics", "list_metrics", "list the metric names of a project or a run", common)
    leaf.add_argument("--project", required=True, help="project name")
    leaf.add_argument("--run", help="only metrics this run logged (id or unique name)")
    _alert_filters(_leaf(kinds, "alerts", "list_alerts", "list alerts, oldest first, with their ids", common))
    leaf = _leaf(kinds, "media", "list_media", "list logged media (images, tables, ...), oldest first", common)
    leaf.add_argument("--project", required=True, help="project name")
    leaf.add_argument("--run", help="only this run (id or unique name)")
    leaf.add_argument("--key", help="only media logged under this key")


def _get(commands, common) -> None:
    getting = commands.add_parser("get", help=HELP["get"], description=HELP["get"])
    kinds = getting.add_subparsers(title="what", metavar="WHAT", dest="kind", required=True)
    leaf = _leaf(kinds, "run", "get_run", "a run's status, config and last metric values", common)
    leaf.add_argument("--project", required=True, help="project name")
    leaf.add_argument("--run", required=True, help="run id, or a name that is unique in the project")
    leaf = _leaf(kinds, "metric", "get_metric", "every logged value of one metric of one run", common)
    leaf.add_argument("--project", required=True, help="project name")
    leaf.add_argument("--run", required=True, help="run id, or a name that is unique in the project")
    leaf.add_argument("--metric", required=True, help="metric name")
    leaf = _leaf(kinds, "history", "get_history", "a run's metrics, each cut to at most --max-points points", common)
    leaf.add_argument("--project", required=True, help="project name")
    leaf.add_argument("--run", required=True, help="run id, or a name that is unique in the project")
    leaf.add_argument("--metric", help="only this metric (default: all the run logged)")
    leaf.add_argument(
        "--max-points", default="500", metavar="N", help="points kept per metric: first, last, min, max (500)"
    )
    _alert_filters(_leaf(kinds, "alerts", "get_alerts", "alerts, oldest first (same as 'list alerts')", common))
    leaf = _leaf(kinds, "media", "get_media", "write one logged media object to a file", common)
    leaf.add_argument("--project", required=True, help="project name")
    leaf.add_argument("--run", required=True, help="run id, or a name that is unique in the project")
    leaf.add_argument("--key", required=True, help="the key it was logged under")
    leaf.add_argument("--step", metavar="N", help="the step (default: the latest)")
    leaf.add_argument("-o", "--output", required=True, metavar="FILE", help="file to write")


def _best(commands, common) -> None:
    leaf = _leaf(commands, "best", "best", HELP["best"], common)
    leaf.add_argument("--project", required=True, help="project name")
    leaf.add_argument("--metric", required=True, help="metric to rank by")
    leaf.add_argument("--direction", default="min", metavar="{min,max}", help="lower or higher is better (min)")
    leaf.add_argument("--mode", default="last", metavar="{last,min,max}", help="which value of each run (last)")
    leaf.add_argument("--include-all", action="store_true", help="also rank running and failed runs")


def _compare(commands, common) -> None:
    leaf = _leaf(commands, "compare", "compare", HELP["compare"], common)
    leaf.add_argument("--project", required=True, help="project name")
    leaf.add_argument("--runs", metavar="A,B", help="comma-separated run ids or unique names (taken as given)")
    leaf.add_argument("--metrics", metavar="M1,M2", help="comma-separated metric names (default: all)")
    leaf.add_argument("--mode", default="last", metavar="{last,min,max}", help="which value of each run (last)")
    leaf.add_argument("--include-all", action="store_true", help="also compare running and failed runs")


def _summary(commands, common) -> None:
    leaf = _leaf(commands, "summary", "summary", HELP["summary"], common)
    leaf.add_argument("--project", required=True, help="project name")
    leaf.add_argument("--metric", help="show only this metric's last values")


def _stop(commands, common) -> None:
    leaf = _leaf(commands, "stop", "stop", HELP["stop"], common)
    leaf.add_argument("--project", required=True, help="project name")
    leaf.add_argument("--run", required=True, help="run id, or a name that is unique in the project")


def _delete(commands, common) -> None:
    deleting = commands.add_parser("delete", help=HELP["delete"], description=HELP["delete"])
    kinds = deleting.add_subparsers(title="what", metavar="WHAT", dest="kind", required=True)
    yes = "delete for real; without it, say what would be deleted and exit 1"
    leaf = _leaf(kinds, "run", "delete_run", "delete one ended run and everything it logged", common)
    leaf.add_argument("--project", required=True, help="project name")
    leaf.add_argument("--run", required=True, help="run id, or a name that is unique in the project")
    leaf.add_argument("--yes", action="store_true", help=yes)
    leaf = _leaf(kinds, "project", "delete_project", "delete a project whose runs have all ended", common)
    leaf.add_argument("--project", required=True, help="project name")
    leaf.add_argument("--yes", action="store_true", help=yes)


def _rename(commands, common) -> None:
    renaming = commands.add_parser("rename", help=HELP["rename"], description=HELP["rename"])
    kinds = renaming.add_subparsers(title="what", metavar="WHAT", dest="kind", required=True)
    leaf = _leaf(kinds, "run", "rename_run", "give a run a new name (its id stays)", common)
    leaf.add_argument("--project", required=True, help="project name")
    leaf.add_argument("--run", required=True, help="run id, or a name that is unique in the project")
    leaf.add_argument("--to", required=True, metavar="NAME", help="the new name")


def _move(commands, common) -> None:
    moving = commands.add_parser("move", help=HELP["move"], description=HELP["move"])
    kinds = moving.add_subparsers(title="what", metavar="WHAT", dest="kind", required=True)
    leaf = _leaf(kinds, "run", "move_run", "move an ended run, with its id and all it logged", common)
    leaf.add_argument("--project", required=True, help="project the run is in")
    leaf.add_argument("--run", required=True, help="run id, or a name that is unique in the project")
    leaf.add_argument("--to-project", required=True, metavar="P", help="project to move it to (created if missing)")


def _report(commands, common) -> None:
    leaf = _leaf(commands, "report", "report", HELP["report"], common)
    leaf.add_argument("--project", required=True, help="project name")
    leaf.add_argument("-o", "--output", default="report.html", metavar="PATH", help="file to write (report.html)")
    leaf.add_argument("--runs", metavar="A,B", help="comma-separated run ids or unique names (default: all)")
    leaf.add_argument("--metrics", metavar="M1,M2", help="comma-separated metric names (default: all)")
    leaf.add_argument("--title", help="page title")


def _export(commands, common) -> None:
    leaf = _leaf(commands, "export", "export", HELP["export"], common)
    leaf.add_argument("notebook", help="the .ipynb file")
    leaf.add_argument("-o", "--output", metavar="PATH", help="file to write (default: the notebook's name, .html)")
    leaf.add_argument("--execute", action="store_true", help="run the notebook first (saves its widget state)")


def _serve(commands, common) -> None:
    leaf = _leaf(commands, "serve", "serve", HELP["serve"], common)
    leaf.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    leaf.add_argument("--port", default="8080", metavar="N", help="port (8080; 0 picks a free one)")
    leaf.add_argument("--dir", metavar="D", help="data directory (default TRACKIO_NB_DIR)")
    leaf.add_argument("--public-read", action="store_true", help="allow reads without the token")
    leaf.add_argument(
        "--db",
        metavar="URL",
        help="keep every project in this PostgreSQL database (env TRACKIO_NB_DB) instead of --dir",
    )


def _migrate(commands, common) -> None:
    leaf = _leaf(commands, "migrate", "migrate", HELP["migrate"], common)
    leaf.add_argument("--db", metavar="URL", help="the PostgreSQL database (env TRACKIO_NB_DB)")


def _push(commands, common) -> None:
    leaf = _leaf(commands, "push", "push", HELP["push"], common)
    leaf.add_argument("--project", required=True, help="the local project to upload")
    leaf.add_argument("--dir", metavar="D", help="data directory holding it (default TRACKIO_NB_DIR)")


def _mcp(commands, common) -> None:
    leaf = commands.add_parser("mcp", help=HELP["mcp"], description=HELP["mcp"])
    leaf.set_defaults(command="mcp", json=False, token=None)
    leaf.add_argument("--server", metavar="URL", help="read from a tracking server (env TRACKIO_NB_SERVER)")
    leaf.add_argument("--dir", metavar="D", help="data directory (default TRACKIO_NB_DIR)")


def _sync(commands, common) -> None:
    leaf = _leaf(commands, "sync", "sync", HELP["sync"], common)
    leaf.add_argument("--dir", metavar="D", help="data directory holding outbox/ (default TRACKIO_NB_DIR)")


HELP = {
    "list": "list projects, runs, metrics, alerts or media",
    "get": "get one run, one metric's values, a run's history, alerts, or a media file",
    "best": "the best run by a metric, with the full ranking",
    "compare": "runs side by side: one value per run and metric",
    "summary": "a project at a glance: runs, status, alerts, last values",
    "stop": "ask a run to stop (its should_stop() turns True)",
    "delete": "delete an ended run or a whole project (asks for --yes)",
    "rename": "rename a run",
    "move": "move an ended run to another project",
    "report": "write a self-contained HTML report",
    "export": "export a notebook with its widgets to offline HTML",
    "serve": "run a tracking server over the local data directory",
    "sync": "deliver what the local outbox holds to the server",
    "migrate": "bring a PostgreSQL database to the current schema",
    "push": "upload a local project to a tracking server (run ids kept; pushing again adds nothing)",
    "mcp": "serve the queries to an agent over the Model Context Protocol (stdio)",
}
BUILDERS = {
    "list": _list,
    "get": _get,
    "best": _best,
    "compare": _compare,
    "summary": _summary,
    "stop": _stop,
    "delete": _delete,
    "rename": _rename,
    "move": _move,
    "report": _report,
    "export": _export,
    "serve": _serve,
    "sync": _sync,
    "migrate": _migrate,
    "push": _push,
    "mcp": _mcp,
}


def build_parser(argv: list[str] | None = None) -> Parser:
    """The parser. With `argv`, only the command it names gets its flags (start-up time);
    the others are listed by name and help text, which is all `--help` shows of them."""
    common = _common()
    parser = Parser(
        prog="trackio-nb",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", dest="group")
    named = next((a for a in argv if not a.startswith("-")), None) if argv is not None else None
    for name, build in BUILDERS.items():
        if named is None or named == name or named not in BUILDERS:
            build(commands, common)
        else:
            commands.add_parser(name, help=HELP[name])
    return parser
