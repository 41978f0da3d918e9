"""One run, one writer (SPEC second part): a second process cannot resume a run another live
process is writing, unless resume="force"; then the first stores nothing more. No step is ever
overwritten, locally or through a tracking server."""

from __future__ import annotations

import json
import textwrap

import pytest

import trackio_nb as tnb
from tests.remote_support import TOKEN, ServerProcess, client_env, spawn, wait_for_line
from trackio_nb import rejected
from trackio_nb.errors import RunInProgress
from trackio_nb.storage import project_path

# The first writer: logs steps 0..99 of `value` 1.0, says so, then logs 100 more when told.
FIRST = textwrap.dedent(
    """
    import sys
    import trackio_nb as tnb
    run = tnb.init("shared", "r")
    for i in range(100):
        run.log({"value": 1.0})
    run.flush()
    print("logged", flush=True)
    sys.stdin.readline()
    for i in range(100):
        run.log({"value": 1.0})
    run.flush()
    import time
    deadline = time.monotonic() + 5
    while not run.should_stop() and time.monotonic() < deadline:
        time.sleep(0.05)
    print("stop", run.should_stop(), flush=True)
    sys.stdin.readline()
    run.finish()
    print("status", run.status, flush=True)
    """
)


def _resume_while_running(tmp_path, env: dict, init_kwargs: dict, rejected_file):
    proc, out, err = spawn(FIRST, env, tmp_path / "logs", "first")
    try:
        wait_for_line(out, "logged", proc)
        with pytest.raises(RunInProgress, match=r"run 'r' is still running in process \d+ .*resume='force'"):
            tnb.init("shared", "r", resume="allow", **init_kwargs)
        with pytest.raises(RunInProgress, match="is still running"):
            tnb.init("shared", "r", resume="must", **init_kwargs)
        second = tnb.init("shared", "r", resume="force", **init_kwargs)
        assert second.resumed and second._next_step == 100
        for _ in range(50):
            second.log({"value": 2.0})
        second.flush()
        proc.stdin.write("go\n")
        proc.stdin.flush()
        assert wait_for_line(out, "stop", proc, timeout=60) == "stop True"  # it learns it was taken over
        proc.stdin.write("go\n")
        proc.stdin.flush()
        assert wait_for_line(out, "status", proc) == "status failed"  # it lost what it logged after
        proc.wait(30)
        second.finish()
    finally:
        if proc.poll() is None:
            proc.kill()
    view = tnb.Api(init_kwargs.get("server_url"), init_kwargs.get("token")).run("shared", "r")
    frame = view.history("value")
    # Steps 0..99 from the first writer, 100..149 from the second: nothing overwritten.
    assert frame["step"].to_list() == list(range(150))
    assert frame["value"].to_list() == [1.0] * 100 + [2.0] * 50
    assert view.status == "finished"  # the second writer's status; the first could not change it
    lines = [json.loads(line) for line in rejected_file.read_text().splitlines()]
    refused = [line for line in lines if line.get("kind") == "log" or "batch" in line]
    assert refused, "the first writer's later rows are kept aside, not stored"
    return err


def test_a_second_local_resumer_is_refused_and_force_takes_over(tmp_path, data_dir):
    env = {"TRACKIO_NB_DIR": str(data_dir)}
    err = _resume_while_running(tmp_path, env, {}, rejected.rejected_path(project_path("shared")))
    assert "taken over" in err.read_text()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_second_remote_resumer_is_refused_and_force_takes_over(tmp_path, data_dir, backend, request):
    database = request.getfixturevalue("postgres").new_database("one_writer") if backend == "postgres" else None
    server = ServerProcess(tmp_path / "server", database=database).start()
    try:
        env = client_env(server, data_dir)
        kwargs = {"server_url": server.url, "token": TOKEN}
        _resume_while_running(tmp_path, env, kwargs, data_dir / "outbox" / "rejected.jsonl")
    finally:
        server.stop()
