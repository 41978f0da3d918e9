"""`trackio-nb mcp`: the CLI's queries as Model Context Protocol tools, on stdio, for agents.

Each tool calls the function of `trackio_nb.documents` that the matching `--json` command
calls and returns the same JSON text, so an agent gets the same answer from either. Input
errors (unknown project, run or metric, a bad value) come back as tool errors (`isError`)
with the CLI's one-line message; the server keeps serving.
"""

import argparse
from collections.abc import Callable
from typing import Annotated, Any, Literal

from . import analysis, documents
from .errors import MissingExtra
from .presentation import dumps, parse_since
from .readers import Reader, reader_for

INSTRUCTIONS = """Experiment tracking data (trackio_nb): projects hold runs; runs log metrics and raise alerts.
Start with list_projects, then list_runs or summary for a project. Watch a running experiment by
calling alerts with after_id = the last_id of the previous answer (a cursor: nothing seen twice or
missed). Rank finished runs with best, put runs side by side with compare, read curves with history,
and stop a bad run with stop_run (its training loop sees should_stop() turn True). Runs are named by
id or by a name unique in the project; prefer the ids the answers give. Every tool returns one JSON
document, the same as the `trackio-nb ... --json` command of the same purpose."""

Direction = Literal[analysis.DIRECTIONS]  # type: ignore[valid-type]
Mode = Literal[analysis.MODES]  # type: ignore[valid-type]
Level = Literal["info", "warn", "error"]
# Each tool argument's description, published in the tool's input schema (pydantic `Field`, imported with the
# extra: this module has no `from __future__ import annotations`, so the tools' annotations, made inside
# build_server, are evaluated there).
DESCRIPTIONS = {
    "project": "a project name, as list_projects returns them",
    "run": "a run id, or a run name that is unique in the project (prefer the ids answers give)",
    "metric": "a metric name, as summary lists them",
    "metric_filter": "only this metric (default: all of them)",
    "direction": "min: lower is better (losses); max: higher is better (accuracies)",
    "mode": "which value of each run: its last, or its min or max over all steps",
    "include_all": "also rank runs that did not finish (running or failed)",
    "runs": "run ids or unique names (default: the finished runs, all of them with include_all)",
    "metrics": "metric names (default: all)",
    "level": "only alerts of this level",
    "reason": "only watcher alerts with this data.reason: nan_inf, max_exceeded, min_exceeded, spike, stagnation,"
    " custom",
    "since": "an ISO-8601 time (UTC when it has no zone): only alerts at or after it",
    "after_id": "a cursor: only alerts with a larger id (the last_id of the previous answer)",
    "max_points": "at most this many points per metric (>= 5), keeping first, last, min, max and non-finite ones",
}


def build_server(open_reader: Callable[[], Reader], remote: bool = False) -> Any:
    """The MCP server whose tools read through a fresh `open_reader()` each call (as the CLI does)."""
    try:
        from mcp.server.mcpserver import MCPServer
        from mcp.server.mcpserver.exceptions import ToolError
    except ImportError:
        raise MissingExtra("mcp", "trackio-nb mcp (the Model Context Protocol server)") from None
    from pydantic import Field

    from .cli import input_error_message

    def described(kind: Any, name: str) -> Any:
        return Annotated[kind, Field(description=DESCRIPTIONS[name])]

    Project = described(str, "project")
    RunArg = described(str, "run")
    server = MCPServer("trackio-nb", instructions=INSTRUCTIONS, log_level="WARNING")

    def answer(project: str | None, build: Callable[[Reader], dict[str, Any]]) -> str:
        reader = open_reader()
        try:
            return dumps(build(reader))
        except Exception as exc:
            message = input_error_message(exc, project, remote)
            if message is None:
                raise  # a bug: the SDK logs its traceback and answers a generic tool error
            raise ToolError(message) from exc
        finally:
            close = getattr(reader, "close", None)
            if close is not None:
                close()

    def tool(fn: Callable[..., str]) -> None:
        server.add_tool(fn, structured_output=False)

    def list_projects() -> str:
        """Call this first. Returns {"projects": [names]}: every project in the data directory or server."""
        return answer(None, documents.list_projects)

    def list_runs(project: Project) -> str:
        """The runs of a project, oldest first: {"project", "runs": [{"id", "run" (name), "group", "status"
        (running|finished|failed), "created_at", "finished_at"}]}. Use the ids in later calls."""
        return answer(project, lambda r: documents.list_runs(r, project))

    def summary(project: Project, metric: described(str | None, "metric_filter") = None) -> str:
        """A project at a glance: {"project", "num_runs", "status_counts", "total_alerts", "alerts_by_level",
        "metrics", "runs": [{"id", "run", "group", "status", "created_at", "finished_at", "num_alerts",
        "metrics": {name: last value}}]}. With `metric`, only that metric's last values."""
        return answer(project, lambda r: documents.summary(r, project, metric))

    def best(
        project: Project,
        metric: described(str, "metric"),
        direction: described(Direction, "direction") = "min",
        mode: described(Mode, "mode") = "last",
        include_all: described(bool, "include_all") = False,
    ) -> str:
        """The best run by `metric`: lowest (`direction`="min") or highest ("max") of each run's `mode` value
        (last, min or max over its steps). Returns {"project", "metric", "direction", "mode", "include_all",
        "best_run" (name), "best_run_id", "best_value", "best_step", "ranking": [{"run", "run_id", "value",
        "step", "status", "config"}]}, best first. Only finished runs unless include_all is true."""
        return answer(project, lambda r: documents.best(r, project, metric, direction, mode, include_all))

    def compare(
        project: Project,
        runs: described(list[str] | None, "runs") = None,
        metrics: described(list[str] | None, "metrics") = None,
        mode: described(Mode, "mode") = "last",
        include_all: described(bool, "include_all") = False,
    ) -> str:
        """Runs side by side: {"project", "mode", "include_all", "selection", "metrics", "runs": [{"id", "run",
        "status", "config", "metrics": {name: value}, "steps": {name: step}}]}. `runs`: ids or unique names
        (taken as given); without it, the finished runs (all with include_all). `metrics` default: all."""
        return answer(project, lambda r: documents.compare(r, project, runs, metrics, mode, include_all))

    def alerts(
        project: Project,
        run: described(str | None, "run") = None,
        level: described(Level | None, "level") = None,
        reason: described(str | None, "reason") = None,
        since: described(str | None, "since") = None,
        after_id: described(int | None, "after_id") = None,
    ) -> str:
        """Alerts oldest first: {"project", "run", "run_id", "level", "reason", "since", "after_id", "last_id",
        "alerts": [{"id", "run", "run_id", "timestamp", "step", "level", "title", "text", "data"}]}. Poll with
        after_id = the previous answer's last_id to get only new alerts. Watcher alerts carry data.reason
        (nan_inf, max_exceeded, min_exceeded, spike, stagnation, custom); `reason` filters on it. `since`
        (an ISO-8601 time, UTC without a zone) keeps alerts at or after it; prefer the after_id cursor."""
        return answer(project, lambda r: documents.alerts(r, project, run, level, reason, parse_since(since), after_id))

    def history(
        project: Project,
        run: RunArg,
        metric: described(str | None, "metric_filter") = None,
        max_points: described(int, "max_points") = documents.DEFAULT_MAX_POINTS,
    ) -> str:
        """A run's logged values per metric (or only `metric`), each cut to at most max_points (>= 5) points
        that keep the first, last, minimum, maximum and first NaN/Inf of every stretch: {"project", "run",
        "run_id", "max_points", "metrics": [{"metric", "num_values", "values": [{"step", "timestamp",
        "value"}]}]}. Non-finite values are the strings "NaN", "Infinity", "-Infinity"."""
        return answer(project, lambda r: documents.history(r, project, run, metric, max_points))

    def stop_run(project: Project, run: RunArg) -> str:
        """Ask a run to stop: its training loop's should_stop() turns True within about a second and the
        script ends the run. Returns {"project", "run", "run_id", "status", "stop_requested": true}; a run
        whose status is not running has nobody listening."""
        return answer(project, lambda r: documents.stop_run(r, project, run))

    for fn in (list_projects, list_runs, summary, best, compare, alerts, history, stop_run):
        tool(fn)
    return server


def serve(args: argparse.Namespace) -> int:
    """Run the MCP server on stdio until the client closes it."""
    import os

    server_url = args.server or os.environ.get("TRACKIO_NB_SERVER") or None
    token = os.environ.get("TRACKIO_NB_TOKEN") or None
    server = build_server(lambda: reader_for(server_url, token, args.dir), remote=server_url is not None)
    server.run("stdio")
    return 0
