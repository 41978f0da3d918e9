"""`trackio-nb` as real processes: TRACKIO_NB_DIR, stop reaching a live run, imports, no tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import trackio_nb as tnb
from tests.conftest import run_python

PROJECT = "proc"


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cli-proc")
    for name, loss in (("a", 1.0), ("b", 0.5)):
        run = tnb.init(PROJECT, name, dir=root)
        run.log({"loss": loss})
        run.finish()
    return root


def cli(root: Path, *argv: str, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {**os.environ, "TRACKIO_NB_DIR": str(root), "COLUMNS": "100"}
    env.pop("TRACKIO_NB_SERVER", None)
    return subprocess.run(
        [sys.executable, "-m", "trackio_nb", *argv], env=env, capture_output=True, text=True, timeout=timeout
    )


def test_trackio_nb_dir_is_honoured(root, tmp_path):
    done = cli(root, "list", "projects", "--json")
    assert (done.returncode, done.stderr, json.loads(done.stdout)) == (0, "", {"projects": [PROJECT]})
    other = cli(tmp_path / "empty", "list", "projects", "--json")
    assert (other.returncode, json.loads(other.stdout)) == (0, {"projects": []})
    best = cli(root, "best", "--project", PROJECT, "--metric", "loss", "--json")
    assert json.loads(best.stdout)["best_run"] == "b"


def test_console_script_runs(root):
    script = Path(sys.executable).parent / "trackio-nb"
    assert script.exists(), f"{script}: the console script is installed with the package (pip install -e .[test])"
    env = {**os.environ, "TRACKIO_NB_DIR": str(root)}
    done = subprocess.run(
        [str(script), "summary", "--project", PROJECT, "--json"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0 and json.loads(done.stdout)["num_runs"] == 2


def test_errors_in_a_process_are_one_line(root):
    done = cli(root, "summary", "--project", "missing")
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == f"trackio-nb: error: no project named 'missing' in {root.resolve()}\n"
    usage = cli(root, "compare")
    assert usage.returncode == 2 and usage.stderr.count("\n") == 1 and "Traceback" not in usage.stderr


def test_stop_reaches_a_live_run(root, tmp_path):
    trainer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time, trackio_nb as tnb\n"
            f"run = tnb.init({PROJECT!r}, 'live')\n"
            "print(run.id, flush=True)\n"
            "step = 0\n"
            "deadline = time.monotonic() + 60\n"
            "while not run.should_stop() and time.monotonic() < deadline:\n"
            "    run.log({'loss': 1.0 / (step + 1)}); step += 1; time.sleep(0.01)\n"
            "print('stopped' if run.should_stop() else 'timeout', flush=True)\n"
            "run.finish()\n",
        ],
        env={**os.environ, "TRACKIO_NB_DIR": str(root)},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        run_id = trainer.stdout.readline().strip()
        done = cli(root, "stop", "--project", PROJECT, "--run", "live", "--json")
        assert (done.returncode, done.stderr) == (0, "")
        assert json.loads(done.stdout) == {
            "project": PROJECT,
            "run": "live",
            "run_id": run_id,
            "status": "running",
            "stop_requested": True,
        }
        assert trainer.stdout.readline().strip() == "stopped"
        assert trainer.wait(timeout=30) == 0
    finally:
        trainer.kill()
    runs = json.loads(cli(root, "list", "runs", "--project", PROJECT, "--json").stdout)["runs"]
    assert [(r["run"], r["status"]) for r in runs if r["id"] == run_id] == [("live", "finished")]


HEAVY = ("altair", "anywidget", "ipywidgets", "starlette", "uvicorn", "httpx", "vl_convert", "IPython", "sqlite_utils")


def test_a_query_imports_no_widget_report_or_server_code(root):
    code = (
        "import sys\n"
        "from trackio_nb.cli import main\n"
        "codes = [main(['summary', '--project', 'proc', '--json']), main(['compare', '--project', 'proc', '--json'])]\n"
        f"heavy = sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))\n"
        "print(codes, heavy, file=sys.stderr)\n"
    )
    done = run_python(code, root)
    assert done.stderr.strip() == "[0, 0] []"


def test_help_imports_no_polars(root):
    code = (
        "import sys\n"
        "from trackio_nb.cli import main\n"
        "code = main(['--help'])\n"
        "print(code, 'polars' in sys.modules, 'numpy' in sys.modules, file=sys.stderr)\n"
    )
    done = run_python(code, root)
    assert done.stderr.strip() == "0 False False"
    assert "usage: trackio-nb" in done.stdout


def test_serve_then_read_and_stop_through_it(root, tmp_path):
    env = {**os.environ, "TRACKIO_NB_DIR": str(tmp_path / "client")}
    server = subprocess.Popen(
        [sys.executable, "-m", "trackio_nb", "serve", "--port", "0", "--dir", str(root), "--token", "secret"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = server.stdout.readline()
        assert first.startswith("trackio-nb server on http://127.0.0.1:"), first + server.stderr.read()
        url = first.split()[3]
        local = cli(root, "summary", "--project", PROJECT, "--json")
        remote = cli(
            tmp_path / "client", "summary", "--project", PROJECT, "--json", "--server", url, "--token", "secret"
        )
        assert (remote.returncode, remote.stderr) == (0, "")
        assert json.loads(remote.stdout) == json.loads(local.stdout)
        refused = cli(
            tmp_path / "client", "stop", "--project", PROJECT, "--run", "a", "--server", url, "--token", "bad"
        )
        assert refused.returncode == 1 and refused.stderr.startswith("trackio-nb: error: ")
        assert refused.stderr.count("\n") == 1 and "refused the token" in refused.stderr
        assert not (tmp_path / "client").exists() or not list((tmp_path / "client").rglob("*.db"))
    finally:
        server.terminate()
        server.wait(timeout=30)
