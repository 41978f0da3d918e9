"""Run status through every way a run can end, with real processes where one must die."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import trackio_nb as tnb
from tests.conftest import run_python
from trackio_nb.errors import InvalidValue, RunNotFound
from trackio_nb.storage import connect, project_path, queries


def _status(project: str, name: str) -> str:
    return tnb.Api().run(project, name).status


def _spawn(code: str, root) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        env={**os.environ, "TRACKIO_NB_DIR": str(root)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_line(proc: subprocess.Popen, expected: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if line.strip() == expected:
            return
        if not line and proc.poll() is not None:
            break
    raise AssertionError(f"child never said {expected!r}; rc={proc.poll()}")


def test_run_is_visible_before_its_first_log(data_dir):
    run = tnb.init("vis", "fresh")
    views = tnb.Api().runs("vis")
    assert [(v.name, v.status, v.id) for v in views] == [("fresh", "running", run.id)]
    run.finish()
    assert _status("vis", "fresh") == "finished"


def test_exit_without_finish_is_failed_and_keeps_logs(data_dir):
    done = run_python(
        "import trackio_nb as tnb\ntnb.init('ex', 'quitter')\nfor i in range(50): tnb.log({'x': i})\n", data_dir
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    view = tnb.Api().run("ex", "quitter")
    assert view.status == "failed"
    assert view.history("x")["x"].to_list() == [float(i) for i in range(50)]


def test_sigterm_marks_failed_within_two_seconds_without_stdout(data_dir):
    proc = _spawn(
        """
        import sys, time, trackio_nb as tnb
        tnb.init('term', 'victim')
        for i in range(20): tnb.log({'x': i})
        print('ready', file=sys.stderr, flush=True)
        while True:
            tnb.log({'x': 1.0}); time.sleep(0.001)
        """,
        data_dir,
    )
    _wait_for_line(proc, "ready")
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=10)
    elapsed = time.monotonic() - sent
    assert proc.returncode == -signal.SIGTERM  # the default action still happens after we record the failure
    assert out == ""
    assert elapsed < 2.0
    view = tnb.Api().run("term", "victim")
    assert view.status == "failed"
    assert view.history("x")["x"].to_list()[:20] == [float(i) for i in range(20)]


def test_sigterm_chains_a_previous_handler(data_dir):
    proc = _spawn(
        """
        import signal, sys, time, trackio_nb as tnb
        signal.signal(signal.SIGTERM, lambda s, f: (print('mine', file=sys.stderr, flush=True), sys.exit(3)))
        tnb.init('chain', 'c')
        print('ready', file=sys.stderr, flush=True)
        time.sleep(30)
        """,
        data_dir,
    )
    _wait_for_line(proc, "ready")
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 3
    assert "mine" in err
    assert _status("chain", "c") == "failed"


def test_sigkill_is_reported_failed_once_heartbeat_is_stale(data_dir):
    proc = _spawn(
        """
        import sys, time, trackio_nb as tnb
        run = tnb.init('kill', 'crashy')
        tnb.log({'x': 1.0}); run.flush()
        print('ready', file=sys.stderr, flush=True)
        time.sleep(60)
        """,
        data_dir,
    )
    _wait_for_line(proc, "ready")
    conn = connect(project_path("kill"))
    later = time.time() + 11  # past the 10 s staleness limit
    assert queries.runs(conn, now=later)["status"].to_list() == ["running"]  # alive process: still running
    proc.kill()
    proc.wait()
    assert queries.runs(conn)["status"].to_list() == ["running"]  # heartbeat still fresh
    assert queries.runs(conn, now=later)["status"].to_list() == ["failed"]
    conn.close()


def test_exception_in_with_block_fails_the_run(data_dir):
    with pytest.raises(ZeroDivisionError), tnb.init("with", "boom") as run:
        run.log({"x": 1})
        1 / 0  # noqa: B018
    assert _status("with", "boom") == "failed"
    with tnb.init("with", "fine") as run:
        run.log({"x": 1})
    assert _status("with", "fine") == "finished"


def test_finish_failed_and_second_finish_does_nothing(data_dir):
    run = tnb.init("fin", "r")
    run.finish(status="failed")
    run.finish()
    assert _status("fin", "r") == "failed"
    with pytest.raises(ValueError, match="status must be 'finished' or 'failed'"):
        tnb.init("fin", "r2").finish(status="done")
    with pytest.raises(RuntimeError, match="run 'r' is failed"):
        run.log({"x": 1})


def test_new_init_finishes_previous_run(data_dir):
    first = tnb.init("two", "first")
    first.log({"x": 1})
    tnb.init("two", "second")
    assert first.status == "finished"
    assert [(v.name, v.status) for v in tnb.Api().runs("two")] == [("first", "finished"), ("second", "running")]


def test_stop_request_reaches_should_stop_within_a_second(data_dir):
    run = tnb.init("stop", "target")
    assert tnb.should_stop() is False
    tnb.Api().stop("stop", "target")
    deadline = time.monotonic() + 1.5
    while not tnb.should_stop() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert run.should_stop() is True


def test_resume_modes(data_dir):
    run = tnb.init("res", "long", config={"lr": 1})
    run.log({"x": 1.0})
    run.log({"x": 2.0})
    run.finish()
    again = tnb.init("res", "long", resume="allow", config={"bs": 8})
    assert again.id == run.id and again.resumed
    again.log({"x": 3.0})
    again.finish()
    view = tnb.Api().run("res", run.id)
    assert view.history("x")["step"].to_list() == [0, 1, 2]
    assert view.config == {"lr": 1, "bs": 8}
    fresh = tnb.init("res", "long", resume="never")
    assert fresh.id != run.id
    fresh.finish()
    with pytest.raises(RunNotFound, match="resume='must' but project 'res' has no run named 'other'"):
        tnb.init("res", "other", resume="must")
    with pytest.raises(ValueError, match="resume must be one of never, allow, must"):
        tnb.init("res", "long", resume="sometimes")


def test_four_processes_logging_at_once_lose_nothing(data_dir):
    code = textwrap.dedent(
        """
        import sys, trackio_nb as tnb
        run = tnb.init('many', f'w{sys.argv[1]}')
        for i in range(3000):
            tnb.log({'x': float(i), 'y': i * 2.0})
        tnb.finish()
        """
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(i)], env={**os.environ, "TRACKIO_NB_DIR": str(data_dir)})
        for i in range(4)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    api = tnb.Api()
    views = api.runs("many")
    assert sorted(v.name for v in views) == ["w0", "w1", "w2", "w3"]
    for view in views:
        hist = view.history()
        assert hist.height == 3000
        assert hist["x"].sum() == sum(range(3000))
        assert view.final_metrics() == {"x": 2999.0, "y": 5998.0}
        assert view.status == "finished"


def test_a_step_logged_twice_keeps_the_later_value(data_dir):
    run = tnb.init("dup", "r")
    run.log({"x": 5.0}, step=0)
    run.log({"x": 1.0}, step=1)
    run.flush()
    run.log({"x": 9.0}, step=1)  # replaces the stored minimum in a later batch
    run.log({"x": 2.0}, step=2)
    run.finish()
    view = tnb.Api().run("dup", "r")
    assert view.history("x")["x"].to_list() == [5.0, 9.0, 2.0]
    assert view.final_metrics("min") == {"x": 2.0}
    assert view.final_metrics("max") == {"x": 9.0}


@pytest.mark.parametrize(
    ("metrics", "step", "error", "message"),
    [
        ({"": 1.0}, None, ValueError, "metric names must not be empty"),
        ({3: 1.0}, None, ValueError, "metric names must be strings"),
        ({"ok": 1.0, "bad": object()}, None, InvalidValue, "value of 'bad' cannot be stored: object is not JSON"),
        ({"x": 1.0}, -1, ValueError, "step must be >= 0"),
        ({"x": 1.0}, 1.5, ValueError, "step must be an integer"),
        ([("x", 1.0)], None, InvalidValue, "log\\(\\) takes a dict of metrics"),
    ],
)
def test_bad_log_calls_raise_and_store_nothing(data_dir, metrics, step, error, message):
    run = tnb.init("bad", "r")
    with pytest.raises(error, match=message):
        run.log(metrics, step=step)
    run.finish()
    assert tnb.Api().run("bad", "r").metrics() == []


def test_module_functions_need_a_run(data_dir):
    for call in (lambda: tnb.log({"x": 1}), tnb.should_stop, lambda: tnb.watch("x"), tnb.finish):
        with pytest.raises(RuntimeError, match=r"no current run: call trackio_nb.init\(project\) first"):
            call()
    with pytest.raises(AttributeError, match="no current run"):
        _ = tnb.config


def test_config_changes_are_stored(data_dir):
    run = tnb.init("cfg", "r", config={"lr": 0.1})
    tnb.config["bs"] = 16
    tnb.config.update(epochs=3)
    with pytest.raises(ValueError, match=r"cannot store config\['f'\]: a value of type object is not JSON"):
        tnb.config["f"] = object()
    run.finish()
    assert tnb.Api().run("cfg", "r").config == {"lr": 0.1, "bs": 16, "epochs": 3}
    with pytest.raises(TypeError, match="config must be a dict or an object with attributes"):
        tnb.init("cfg", config=[1])


def test_data_dir_env_is_read_by_a_subprocess_api(data_dir, tmp_path):
    other = tmp_path / "elsewhere"
    run_python("import trackio_nb as tnb\ntnb.init('envp', 'r').finish()", other)
    done = run_python("import trackio_nb as tnb\nprint(tnb.Api().projects())", other)
    assert done.stdout.strip() == "['envp']"
    assert list(other.glob("*.db")) == [other / "envp.db"]
    assert not data_dir.exists() or list(data_dir.glob("*.db")) == []


def test_a_forked_child_dying_does_not_fail_the_parents_run(data_dir):
    proc = _spawn(
        """
        import os, signal, sys, time, trackio_nb as tnb
        run = tnb.init('fork', 'parent')
        tnb.log({'x': 1.0})
        ready_r, ready_w = os.pipe()
        child = os.fork()
        if child == 0:
            os.write(ready_w, b"up")  # a signal sent before the child runs Python code can be lost
            time.sleep(30)
            os._exit(0)
        os.read(ready_r, 2)
        os.kill(child, signal.SIGTERM)
        os.waitpid(child, 0)
        print('after child:', tnb.Api().run('fork', 'parent').status, file=sys.stderr, flush=True)
        tnb.log({'x': 2.0})
        tnb.finish()
        """,
        data_dir,
    )
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "after child: running" in err.splitlines()
    view = tnb.Api().run("fork", "parent")
    assert view.status == "finished"
    assert view.history("x")["x"].to_list() == [1.0, 2.0]
