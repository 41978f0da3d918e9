"""Network faults: server down at start, killed mid-run, client killed with an outbox. Every step once."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap

import pytest

import trackio_nb as tnb
from tests.remote_support import (
    TOKEN,
    ServerProcess,
    client_env,
    free_port,
    local_files,
    spawn,
    wait_for_line,
    wait_until,
)
from trackio_nb.errors import ServerError
from trackio_nb.remote.commands import sync
from trackio_nb.remote.outbox import outbox_dir
from trackio_nb.remote.wire import encode_logs


def _assert_exactly_once(server: ServerProcess, project: str, run_id: str, steps: int) -> None:
    """History holds steps 0..steps-1 once each, with the values the client logged (x = 2*step)."""
    view = tnb.Api(server.url, TOKEN).run(project, run_id)
    hist = view.history("x")
    assert hist["step"].to_list() == list(range(steps))
    assert hist["x"].to_list() == [2.0 * s for s in range(steps)]
    with server.db(project) as conn:
        stored = conn.execute("SELECT sum(n) FROM chunks").fetchone()[0]
        count = conn.execute("SELECT count FROM summaries").fetchone()[0]
    assert (stored, count) == (steps, steps)  # no chunk was stored twice


def test_server_down_at_start_then_started(tmp_path, data_dir):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    code = textwrap.dedent(
        """
        import sys, trackio_nb as tnb
        run = tnb.init("late", name="early-bird", config={"k": 1})
        for step in range(100):
            tnb.log({"x": 2.0 * step})
        tnb.alert("offline alert", data={"nested": {"a": [1, 2]}})
        run.flush()
        print("phase1", run.id, run.name, flush=True)
        sys.stdin.readline()
        for step in range(100, 200):
            tnb.log({"x": 2.0 * step})
        tnb.finish()
        print("done", flush=True)
        """
    )
    proc, out, err = spawn(code, client_env(url, data_dir), tmp_path / "logs", "late")
    _, run_id, name = wait_for_line(out, "phase1", proc).split()
    assert name == "early-bird"
    assert local_files(data_dir, "*.db*") == []
    [outbox_file] = local_files(data_dir, "*.jsonl")
    assert outbox_file.startswith("outbox/")
    assert "cannot reach" in err.read_text()
    server = ServerProcess(tmp_path / "server", port=port).start()
    try:
        proc.stdin.write("go\n")
        proc.stdin.flush()
        assert proc.wait(30) == 0, err.read_text()
        _assert_exactly_once(server, "late", run_id, 200)
        view = tnb.Api(server.url, TOKEN).run("late", run_id)
        assert (view.name, view.status, view.config) == ("early-bird", "finished", {"k": 1})
        [alert] = view.alerts()
        assert (alert["title"], alert["step"], alert["data"]) == ("offline alert", 99, {"nested": {"a": [1, 2]}})
        assert local_files(data_dir, "*.jsonl") == []  # delivered by the same process, then removed
        assert local_files(data_dir, "*.db*") == []
    finally:
        server.stop()


def test_server_killed_and_restarted_mid_run(tmp_path, data_dir):
    server = ServerProcess(tmp_path / "server").start()
    stop_file = tmp_path / "stop-now"
    code = textwrap.dedent(
        f"""
        import os, time, trackio_nb as tnb
        run = tnb.init("restart", name="survivor")
        print("id", run.id, flush=True)
        step = 0
        while not os.path.exists({str(stop_file)!r}):
            tnb.log({{"x": 2.0 * step}})
            step += 1
            time.sleep(0.002)
        tnb.finish()
        print("steps", step, flush=True)
        """
    )
    proc, out, err = spawn(code, client_env(server, data_dir), tmp_path / "logs", "restart")
    try:
        run_id = wait_for_line(out, "id ", proc).split()[1]
        api = tnb.Api(server.url, TOKEN)

        def stored_steps() -> int:
            return api.run("restart", run_id).history("x").height if api.run("restart", run_id).metrics() else 0

        wait_until(lambda: stored_steps() >= 200)
        server.kill()
        wait_until(lambda: "cannot reach" in err.read_text(), timeout=15)
        server.start()  # same port, same directory
        before = stored_steps()
        wait_until(lambda: stored_steps() > before + 100, timeout=30)
        stop_file.write_text("")
        steps = int(wait_for_line(out, "steps", proc).split()[1])
        assert proc.wait(30) == 0, err.read_text()
        _assert_exactly_once(server, "restart", run_id, steps)
        assert api.run("restart", run_id).status == "finished"
        assert local_files(data_dir, "*.jsonl") == []
    finally:
        server.stop()
        if proc.poll() is None:
            proc.kill()


_KILLED_CLIENT = textwrap.dedent(
    """
    import time, trackio_nb as tnb
    run = tnb.init("orphans", name="killed", config={"lr": 0.3})
    for step in range(500):
        tnb.log({"x": 2.0 * step})
    tnb.alert("before the kill", level="error", data={"why": ["SIGKILL", 9]})
    run.flush()
    print("queued", run.id, flush=True)
    time.sleep(60)
    """
)


def _cli_sync(url: str, root) -> dict:
    cmd = [sys.executable, "-m", "trackio_nb", "sync", "--server", url, "--token", TOKEN, "--dir", str(root), "--json"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("deliverer", ["sync", "next-run"])
def test_sigkilled_client_outbox_is_delivered_later(tmp_path, data_dir, deliverer):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc, out, _err = spawn(_KILLED_CLIENT, client_env(url, data_dir), tmp_path / "logs", "killed")
    run_id = wait_for_line(out, "queued", proc).split()[1]
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    [outbox_file] = local_files(data_dir, "*.jsonl")
    lines = (data_dir / outbox_file).read_bytes().splitlines()
    header = json.loads(lines[0])
    assert header == {"outbox": 1, "server": url, "project": "orphans", "run_id": run_id}
    assert [json.loads(line)["kind"] for line in lines[1:3]] == ["open", "write"]
    server = ServerProcess(tmp_path / "server", port=port).start()
    try:
        if deliverer == "sync":  # `trackio-nb sync`, the command a user runs
            report = _cli_sync(url, data_dir)
            assert report["delivered"] == len(lines) - 1
            assert (report["duplicates"], report["rejected"], report["remaining"], report["files_done"]) == (0, 0, 0, 1)
            again = _cli_sync(url, data_dir)
            assert (again["delivered"], again["files_done"]) == (0, 0)
        else:
            run = tnb.init("orphans", name="next", server_url=url, token=TOKEN)
            wait_until(lambda: local_files(data_dir, "*.jsonl") == [], timeout=20)
            run.finish()
        _assert_exactly_once(server, "orphans", run_id, 500)
        view = tnb.Api(url, TOKEN).run("orphans", run_id)
        assert (view.name, view.config) == ("killed", {"lr": 0.3})
        [alert] = view.alerts()
        assert (alert["level"], alert["data"]) == ("error", {"why": ["SIGKILL", 9]})
        assert local_files(data_dir, "*.jsonl") == []
        assert local_files(data_dir, "*.db*") == []
    finally:
        server.stop()


def test_sync_skips_a_torn_last_line_and_leaves_live_outboxes(tmp_path, data_dir):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc, out, _err = spawn(_KILLED_CLIENT, client_env(url, data_dir), tmp_path / "logs", "live")
    run_id = wait_for_line(out, "queued", proc).split()[1]
    server = ServerProcess(tmp_path / "server", port=port).start()
    try:
        # The writer is alive (it holds its file's lock, and delivers itself once the server is up);
        # a concurrent sync must neither take the file over nor deliver anything twice.
        report = sync(url, TOKEN, str(data_dir))
        assert report["duplicates"] == 0
        wait_until(lambda: local_files(data_dir, "*.jsonl") == [], timeout=20)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        _assert_exactly_once(server, "orphans", run_id, 500)
        # A file whose writer died mid-line: the complete lines are delivered, the torn one skipped.
        directory = outbox_dir(data_dir)
        directory.mkdir(parents=True, exist_ok=True)
        header = {"outbox": 1, "server": url, "project": "torn", "run_id": "dddddddddddd"}
        opened = {
            "id": "t-0",
            "kind": "open",
            "project": "torn",
            "run_id": "dddddddddddd",
            "name": "torn",
            "config": {},
            "resume": "never",
            "created_at": 1.0,
        }
        write = {"id": "t-1", "kind": "write", "project": "torn", "run_id": "dddddddddddd"}
        logs = encode_logs([(0, 1.0, {"x": 0.0}, None), (1, 1.0, {"x": 2.0}, None)])
        write |= {"logs": logs, "alerts": [], "config": None}
        refused = {"id": "t-bad", "kind": "write", "project": "torn", "run_id": "dddddddddddd", "logs": "oops"}
        lines = (header, opened, refused, write)
        text = "\n".join(json.dumps(x) for x in lines) + '\n{"id": "t-2", "kind": "wri'
        (directory / "1-1-dddddddddddd.jsonl").write_text(text)
        report = sync(None, TOKEN, str(data_dir))  # the server recorded in the file
        assert (report["delivered"], report["rejected"], report["files_done"], report["remaining"]) == (2, 1, 1, 0)
        _assert_exactly_once(server, "torn", "dddddddddddd", 2)
        [kept] = [json.loads(line) for line in (directory / "rejected.jsonl").read_text().splitlines()]
        assert kept == {"reason": "refused before sending: 'logs' must be a list of groups", "batch": refused}
    finally:
        server.stop()
        if proc.poll() is None:
            proc.kill()


def test_finish_while_offline_is_quick_and_says_where_the_data_is(tmp_path, data_dir):
    url = f"http://127.0.0.1:{free_port()}"
    code = textwrap.dedent(
        """
        import time, trackio_nb as tnb
        run = tnb.init("gone", name="lonely")
        for step in range(50):
            tnb.log({"x": 2.0 * step})
        start = time.monotonic()
        tnb.finish()
        print("finish took", round(time.monotonic() - start, 1), flush=True)
        """
    )
    proc, out, err = spawn(code, client_env(url, data_dir), tmp_path / "logs", "offline")
    assert proc.wait(30) == 0, err.read_text()
    took = float(out.read_text().split()[-1])
    assert took <= 4.0
    message = err.read_text()
    [outbox_file] = local_files(data_dir, "*.jsonl")
    assert f"are not on {url} yet; they are kept in {data_dir / outbox_file}" in message
    assert "3 batch(es) (50 steps, 0 alerts)" in message  # open + the logs + the finished status
    assert f"`trackio-nb sync --server {url}`" in message
    kinds = [json.loads(line).get("kind") for line in (data_dir / outbox_file).read_text().splitlines()[1:]]
    assert kinds[0] == "open" and kinds[-1] == "status" and set(kinds[1:-1]) == {"write"}


def test_resume_needs_the_server(data_dir, capsys):
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ServerError, match=f"cannot resume run 'base': the server at {url} is unreachable"):
        tnb.init("offline-resume", name="base", resume="must", server_url=url, token=TOKEN)
    run = tnb.init("offline-resume", name="base", resume="allow", server_url=url, token=TOKEN)
    assert (run.name, run.resumed) == ("base", False)
    assert f"cannot resume 'base' while {url} is unreachable; starting a new run" in capsys.readouterr().err
    assert local_files(data_dir, "*.db*") == []
