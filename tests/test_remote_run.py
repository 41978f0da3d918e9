"""Remote runs from real client processes against a real server: status, alerts, stop, no local db (B1, B2)."""

from __future__ import annotations

import json
import signal
import textwrap

import pytest

import trackio_nb as tnb
from tests.remote_support import TOKEN, ServerProcess, client_env, local_files, spawn, wait_for_line, wait_until
from trackio_nb.cli import main as cli_main
from trackio_nb.errors import RunNotFound


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    proc = ServerProcess(tmp_path_factory.mktemp("remote-run") / "server", cli=True).start()  # `trackio-nb serve`
    yield proc
    proc.stop()


def _stored_run(server, project, run_id):
    with server.db(project) as conn:
        row = conn.execute("SELECT status, finished_at FROM runs WHERE id = ?", (run_id,)).fetchone()
    return row


def test_remote_run_lifecycle_no_local_db_and_alert_data(server, data_dir, tmp_path):
    code = textwrap.dedent(
        """
        import sys, trackio_nb as tnb
        run = tnb.init("lifecycle", name="r1", config={"lr": 0.5, "layers": [1, 2]})
        for i in range(40):
            tnb.log({"loss": 1.0 / (i + 1), "acc": i / 40})
        run.flush()
        print("id", run.id, flush=True)
        sys.stdin.readline()
        tnb.alert("diverged", "loss went up", level="error",
                  data={"metric": "loss", "nested": {"values": [1.5, None, {"deep": True}], "n": 3}})
        tnb.finish()
        print("done", flush=True)
        """
    )
    proc, out, err = spawn(code, client_env(server, data_dir), tmp_path, "client")
    run_id = wait_for_line(out, "id ", proc).split()[1]
    api = tnb.Api(server.url, TOKEN)
    view = api.run("lifecycle", run_id)
    assert (view.name, view.status, view.config) == ("r1", "running", {"lr": 0.5, "layers": [1, 2]})
    assert view.history("loss")["loss"].to_list() == [1.0 / (i + 1) for i in range(40)]
    assert _stored_run(server, "lifecycle", run_id) == ("running", None)
    proc.stdin.write("go\n")
    proc.stdin.flush()
    assert proc.wait(30) == 0, err.read_text()
    view = api.run("lifecycle", run_id)
    assert view.status == "finished"
    assert view.final_metrics() == {"acc": 39 / 40, "loss": 1.0 / 40}
    [alert] = api.alerts("lifecycle", run="r1")
    assert (alert["title"], alert["text"], alert["level"], alert["step"]) == ("diverged", "loss went up", "error", 39)
    assert alert["data"] == {"metric": "loss", "nested": {"values": [1.5, None, {"deep": True}], "n": 3}}
    # B1: nothing was written locally, not even an outbox (the server was up throughout).
    assert local_files(data_dir, "*.db*") == []
    assert local_files(data_dir, "*.jsonl") == []


def test_exit_without_finish_is_failed_on_the_server(server, data_dir):
    code = textwrap.dedent(
        """
        import trackio_nb as tnb
        run = tnb.init("exits", name="no-finish")
        tnb.log({"loss": 2.0})
        print(run.id)
        """
    )
    proc, out, err = spawn(code, client_env(server, data_dir), data_dir.parent / "logs", "exit")
    assert proc.wait(30) == 0, err.read_text()
    run_id = out.read_text().split()[0]
    status, finished_at = _stored_run(server, "exits", run_id)
    assert status == "failed" and finished_at is not None  # the stored row, not a stale-heartbeat guess
    assert tnb.Api(server.url, TOKEN).run("exits", run_id).final_metrics() == {"loss": 2.0}
    assert local_files(data_dir, "*.db*") == []
    assert "Traceback" not in err.read_text()


def test_sigterm_marks_the_remote_run_failed(server, data_dir):
    code = textwrap.dedent(
        """
        import time, trackio_nb as tnb
        run = tnb.init("exits", name="terminated")
        tnb.log({"loss": 3.0})
        run.flush()
        print("id", run.id, flush=True)
        time.sleep(60)
        """
    )
    proc, out, _err = spawn(code, client_env(server, data_dir), data_dir.parent / "logs", "term")
    run_id = wait_for_line(out, "id ", proc).split()[1]
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == -signal.SIGTERM
    assert _stored_run(server, "exits", run_id)[0] == "failed"
    assert local_files(data_dir, "*.db*") == []


def test_stop_request_through_the_server_reaches_the_run(server, data_dir):
    code = textwrap.dedent(
        """
        import time, trackio_nb as tnb
        run = tnb.init("stops", name="long")
        print("id", run.id, flush=True)
        start = time.monotonic()
        step = 0
        while not tnb.should_stop() and time.monotonic() - start < 20:
            tnb.log({"x": float(step)})
            step += 1
            time.sleep(0.005)
        print("stopped", tnb.should_stop(), flush=True)
        tnb.finish()
        """
    )
    proc, out, err = spawn(code, client_env(server, data_dir), data_dir.parent / "logs", "stop")
    run_id = wait_for_line(out, "id ", proc).split()[1]
    api = tnb.Api(server.url, TOKEN)
    wait_until(lambda: api.run("stops", run_id).metrics() == ["x"])
    assert cli_main(["stop", "--project", "stops", "--run", "long", "--server", server.url, "--token", TOKEN]) == 0
    assert wait_for_line(out, "stopped", proc, timeout=5) == "stopped True"
    assert proc.wait(30) == 0, err.read_text()
    assert api.run("stops", run_id).status == "finished"


def test_in_process_remote_run_resume_and_config(server, data_dir, monkeypatch):
    run = tnb.init("inproc", name="again", config={"a": 1}, server_url=server.url, token=TOKEN)
    run.log({"m": 1.0})
    run.log({"m": 2.0})
    run.finish()
    resumed = tnb.init("inproc", name="again", resume="allow", config={"b": 2}, server_url=server.url, token=TOKEN)
    assert (resumed.id, resumed.resumed, dict(resumed.config)) == (run.id, True, {"a": 1, "b": 2})
    resumed.log({"m": 0.5})
    resumed.config["c"] = [3]
    resumed.finish()
    view = tnb.Api(server.url, TOKEN).run("inproc", run.id)
    assert view.history("m").select("step", "m").rows() == [(0, 1.0), (1, 2.0), (2, 0.5)]
    assert view.config == {"a": 1, "b": 2, "c": [3]}
    assert view.final_metrics("max") == {"m": 2.0}
    with pytest.raises(RunNotFound, match="resume='must' but project 'inproc' has no run named 'nobody'"):
        tnb.init("inproc", name="nobody", resume="must", server_url=server.url, token=TOKEN)
    assert local_files(data_dir, "*") == []
    # M9: with TRACKIO_NB_SERVER set, a plain Api() reads the server, never an empty local directory.
    monkeypatch.setenv("TRACKIO_NB_SERVER", server.url)
    monkeypatch.setenv("TRACKIO_NB_TOKEN", TOKEN)
    assert [(v.id, v.status) for v in tnb.Api().runs("inproc")] == [(run.id, "finished")]
    assert local_files(data_dir, "*") == []


def test_text_values_and_nan_travel_exactly(server, data_dir):
    run = tnb.init("values", server_url=server.url, token=TOKEN)
    run.log({"loss": float("nan"), "note": "hello", "cfg": {"k": [1, 2]}})
    run.log({"loss": float("inf")})
    run.log({"loss": -float("inf")})
    run.finish()
    hist = tnb.Api(server.url, TOKEN).run("values", run.id).history("loss")["loss"].to_list()
    assert [json.dumps(v) for v in hist] == ["NaN", "Infinity", "-Infinity"]
    assert tnb.Api(server.url, TOKEN).run("values", run.id).metrics() == ["cfg", "loss", "note"]
