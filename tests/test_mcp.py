"""`trackio-nb mcp` driven by the official SDK's stdio client: each tool returns the CLI's `--json` text.

The server runs as `python -m trackio_nb mcp` (a real subprocess on stdio); the CLI runs as
`python -m trackio_nb ... --json` subprocesses; both read the same seeded data directory.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

import trackio_nb as tnb
from tests.conftest import run_coroutine
from tests.remote_support import TOKEN, ServerProcess

PROJECT = "agents"
TOOLS = {
    "list_projects": set(),
    "list_runs": {"project"},
    "summary": {"project", "metric"},
    "best": {"project", "metric", "direction", "mode", "include_all"},
    "compare": {"project", "runs", "metrics", "mode", "include_all"},
    "alerts": {"project", "run", "level", "reason", "since", "after_id"},
    "history": {"project", "run", "metric", "max_points"},
    "stop_run": {"project", "run"},
}


@pytest.fixture(scope="module")
def seeded(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("mcp")
    for name, losses, status in [
        ("good", [3.0, 2.0, 1.0, 0.5] * 10, "finished"),
        ("bad", [3.0, 4.0, math.nan], "failed"),
        ("other", [2.5, 1.5, 0.9], "finished"),
    ]:
        run = tnb.init(PROJECT, name, config={"lr": len(losses)}, dir=root)
        run.watch("loss", nan=True)
        for loss in losses:
            run.log({"loss": loss, "acc": 1.0 - loss / 10})
        run.alert(f"{name} says hi", level="warn" if name == "bad" else "info")
        run.finish(status=status)
    tnb.init("second", "solo", dir=root).finish()
    return root


def _env(root: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKIO_NB_")}
    return {**env, "TRACKIO_NB_DIR": str(root), "COLUMNS": "100", **extra}


def cli_json(root: Path, *argv: str, **env: str) -> tuple[int, str, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "trackio_nb", *argv, "--json"],
        env=_env(root, **env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    return proc.returncode, proc.stdout, proc.stderr


def mcp_session(server_args: list[str], env: dict[str, str], calls: list[tuple[str, dict]]):
    """Start `python -m trackio_nb mcp ARGS`, list its tools, make `calls` in order; returns (tools, results)."""

    async def go():
        params = StdioServerParameters(command=sys.executable, args=["-m", "trackio_nb", "mcp", *server_args], env=env)
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            tools = (await session.list_tools()).tools
            results = [await session.call_tool(name, arguments) for name, arguments in calls]
            return tools, results

    return run_coroutine(go(), 120)


def _text(result) -> str:
    assert len(result.content) == 1 and result.content[0].type == "text"
    return result.content[0].text


# each tool call and the CLI command that must print the same document
PAIRS = [
    (("list_projects", {}), ["list", "projects"]),
    (("list_runs", {"project": PROJECT}), ["list", "runs", "--project", PROJECT]),
    (("summary", {"project": PROJECT}), ["summary", "--project", PROJECT]),
    (("summary", {"project": PROJECT, "metric": "acc"}), ["summary", "--project", PROJECT, "--metric", "acc"]),
    (("best", {"project": PROJECT, "metric": "loss"}), ["best", "--project", PROJECT, "--metric", "loss"]),
    (
        ("best", {"project": PROJECT, "metric": "acc", "direction": "max", "mode": "min", "include_all": True}),
        ["best", "--project", PROJECT, "--metric", "acc", "--direction", "max", "--mode", "min", "--include-all"],
    ),
    (
        ("compare", {"project": PROJECT, "runs": ["other", "bad"], "metrics": ["loss"], "mode": "max"}),
        ["compare", "--project", PROJECT, "--runs", "other,bad", "--metrics", "loss", "--mode", "max"],
    ),
    (("compare", {"project": PROJECT, "include_all": True}), ["compare", "--project", PROJECT, "--include-all"]),
    (("alerts", {"project": PROJECT}), ["list", "alerts", "--project", PROJECT]),
    (
        ("alerts", {"project": PROJECT, "after_id": 1, "level": "warn"}),
        ["list", "alerts", "--project", PROJECT, "--after-id", "1", "--level", "warn"],
    ),
    (
        ("alerts", {"project": PROJECT, "run": "bad", "reason": "nan_inf"}),
        ["list", "alerts", "--project", PROJECT, "--run", "bad", "--reason", "nan_inf"],
    ),
    (
        ("alerts", {"project": PROJECT, "since": "2000-01-31T12:00:00Z"}),
        ["list", "alerts", "--project", PROJECT, "--since", "2000-01-31T12:00:00Z"],
    ),
    (("history", {"project": PROJECT, "run": "good"}), ["get", "history", "--project", PROJECT, "--run", "good"]),
    (
        ("history", {"project": PROJECT, "run": "good", "metric": "loss", "max_points": 10}),
        ["get", "history", "--project", PROJECT, "--run", "good", "--metric", "loss", "--max-points", "10"],
    ),
    (("stop_run", {"project": PROJECT, "run": "other"}), ["stop", "--project", PROJECT, "--run", "other"]),
]

# bad arguments: each is a tool error with the CLI's message (or the SDK's schema check), then the next call works
ERRORS = [
    (("list_runs", {"project": "nope"}), ["list", "runs", "--project", "nope"]),
    (("best", {"project": PROJECT, "metric": "nope"}), ["best", "--project", PROJECT, "--metric", "nope"]),
    (("history", {"project": PROJECT, "run": "ghost"}), ["get", "history", "--project", PROJECT, "--run", "ghost"]),
    (
        ("history", {"project": PROJECT, "run": "good", "max_points": 3}),
        ["get", "history", "--project", PROJECT, "--run", "good", "--max-points", "3"],
    ),
    (
        ("compare", {"project": PROJECT, "metrics": ["loss", "nope"]}),
        ["compare", "--project", PROJECT, "--metrics", "loss,nope"],
    ),
    (("stop_run", {"project": PROJECT, "run": "ghost"}), ["stop", "--project", PROJECT, "--run", "ghost"]),
    # the CLI names the flag (--since, --max-points), the tool its argument (since, max_points): the rest is the same
    (
        ("alerts", {"project": PROJECT, "since": "yesterday"}),
        ["list", "alerts", "--project", PROJECT, "--since", "yesterday"],
    ),
]
SCHEMA_ERRORS = [
    ("best", {"project": PROJECT, "metric": "loss", "direction": "up"}, "direction"),
    ("alerts", {"project": PROJECT, "after_id": "x"}, "after_id"),
    ("list_runs", {}, "project"),
]


def test_every_tool_returns_the_cli_json_byte_for_byte(seeded):
    tools, results = mcp_session(["--dir", str(seeded)], _env(seeded), [call for call, _ in PAIRS])
    assert {t.name: set(t.input_schema["properties"]) for t in tools} == TOOLS
    assert all(len(t.description) > 80 for t in tools)  # written for an agent: what it returns
    assert "Call this first" in next(t.description for t in tools if t.name == "list_projects")
    for ((name, arguments), argv), result in zip(PAIRS, results, strict=True):
        code, out, err = cli_json(seeded, *argv)
        assert (code, err) == (0, ""), argv
        assert result.is_error is False, (name, arguments, _text(result))
        assert _text(result) + "\n" == out, (name, arguments)


def test_bad_arguments_are_tool_errors_and_the_server_keeps_serving(seeded):
    calls = [call for call, _ in ERRORS] + [(n, a) for n, a, _ in SCHEMA_ERRORS] + [("list_projects", {})]
    _, results = mcp_session(["--dir", str(seeded)], _env(seeded), calls)
    for ((name, _), argv), result in zip(ERRORS, results[: len(ERRORS)], strict=True):
        code, out, err = cli_json(seeded, *argv)
        assert (code, out) == (1, "")
        message = err.removeprefix("trackio-nb: error: ").rstrip("\n")
        if message.startswith("--"):  # the CLI names its flag (--max-points), the tool its argument (max_points)
            flag, rest = message.split(" ", 1)
            message = f"{flag[2:].replace('-', '_')} {rest}"
        assert result.is_error is True
        assert _text(result) == f"Error executing tool {name}: {message}"
    for (name, _, field), result in zip(SCHEMA_ERRORS, results[len(ERRORS) :], strict=False):
        assert result.is_error is True
        assert _text(result).startswith(f"Error executing tool {name}: ") and field in _text(result)
    last = results[-1]
    assert last.is_error is False and _text(last) == '{"projects": ["agents", "second"]}'


def test_server_mode_takes_the_token_from_the_environment(seeded):
    server = ServerProcess(seeded, token=TOKEN).start()
    try:
        calls = [("list_runs", {"project": PROJECT}), ("best", {"project": PROJECT, "metric": "loss"})]
        env = _env(seeded, TRACKIO_NB_TOKEN=TOKEN)
        _, results = mcp_session(["--server", server.url], env, calls)
        for (name, arguments), result in zip(calls, results, strict=True):
            argv = ["list", "runs"] if name == "list_runs" else ["best", "--metric", "loss"]
            code, out, err = cli_json(
                seeded, *argv, "--project", PROJECT, "--server", server.url, TRACKIO_NB_TOKEN=TOKEN
            )
            assert (code, err, result.is_error) == (0, "", False)
            assert _text(result) + "\n" == out, (name, arguments)
        _, (refused,) = mcp_session(["--server", server.url], _env(seeded), calls[:1])
        code, _, err = cli_json(seeded, "list", "runs", "--project", PROJECT, "--server", server.url)
        assert code == 1 and refused.is_error is True
        assert _text(refused) == f"Error executing tool list_runs: {err.removeprefix('trackio-nb: error: ').strip()}"
    finally:
        server.stop()


def test_without_the_mcp_extra_the_command_names_it(seeded):
    code = "import sys; sys.modules['mcp'] = None; from trackio_nb.cli import main; sys.exit(main(['mcp']))"
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env=_env(seeded),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == (
        "trackio-nb: error: trackio-nb mcp (the Model Context Protocol server) needs the [mcp] extra:"
        " pip install 'trackio_nb[mcp]'\n"
    )


def test_every_tool_argument_is_described_in_its_input_schema():
    # Guard: mcp_server annotates each argument with a pydantic Field description; a bare `str` has none.
    from trackio_nb.mcp_server import DESCRIPTIONS, build_server
    from trackio_nb.readers import reader_for

    tools = run_coroutine(build_server(lambda: reader_for()).list_tools())
    described = {t.name: {k: v.get("description") for k, v in t.input_schema["properties"].items()} for t in tools}
    assert described["list_projects"] == {}
    assert described["history"] == {
        "project": DESCRIPTIONS["project"],
        "run": DESCRIPTIONS["run"],
        "metric": DESCRIPTIONS["metric_filter"],
        "max_points": DESCRIPTIONS["max_points"],
    }
    assert described["alerts"]["after_id"].startswith("a cursor: only alerts with a larger id")
    missing = [(tool, arg) for tool, args in described.items() for arg, text in args.items() if not text]
    assert missing == []
