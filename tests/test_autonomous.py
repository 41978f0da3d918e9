"""The agent loop end to end: real simulator processes, the real CLI, the stored outcome."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

import pytest

import trackio_nb as tnb
from tests.conftest import REPO

sys.path.insert(0, str(REPO / "examples" / "autonomous"))
import agent_runner


def _demo(root, report):
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "examples/autonomous/agent_runner.py"),
            "--project",
            "auto",
            "--quick",
            "--json",
            "--report",
            str(report),
        ],
        env={**__import__("os").environ, "TRACKIO_NB_DIR": str(root)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def runs_twice(tmp_path_factory):
    """The demo run twice in one data directory: (root, first decisions, second decisions)."""
    root = tmp_path_factory.mktemp("agent")
    first = _demo(root, root / "first.html")
    second = _demo(root, root / "second.html")
    return root, first, second


@pytest.fixture(scope="module")
def agent(runs_twice):
    """The second sweep: every test below holds for it as for a first run in an empty directory."""
    root, _, second = runs_twice
    return root, second


def test_a_second_run_in_the_same_directory_is_a_new_sweep_with_its_own_report(runs_twice):
    root, first, second = runs_twice
    assert first["sweep"] != second["sweep"]
    assert len(first["run_ids"]) == len(second["run_ids"]) == 8
    assert not set(first["run_ids"]) & set(second["run_ids"])
    runs = tnb.Api(dir=root).runs("auto")
    by_group = Counter(r.group for r in runs)
    assert by_group == {first["sweep"]: 8, second["sweep"]: 8}
    assert [r.id for r in runs if r.group == second["sweep"]] == second["run_ids"]
    report = (root / "second.html").read_text(encoding="utf-8")
    assert all(rid in report for rid in second["run_ids"])
    assert not any(rid in report for rid in first["run_ids"])  # the report covers the new sweep only
    assert second["sweep"] in report  # its title


def test_learning_rate_search_picks_the_best_rate(agent):
    _, decisions = agent
    search = decisions["lr_search"]
    assert [(a["lr"], a["exit_code"], a["status"]) for a in search["attempts"]] == [
        (0.3, 0, "finished"),
        (0.1, 0, "finished"),
        (0.03, 0, "finished"),
        (0.01, 0, "finished"),
    ]
    assert (search["best_lr"], search["best_run"]) == (0.1, "search-lr0.1")


def test_failure_recovery_detects_nan_then_divergence_and_records_the_rate_used(agent):
    _, decisions = agent
    recovery = decisions["failure_recovery"]
    assert [(a["run"], a["lr"], a["exit_code"], a["reasons"], a["status"]) for a in recovery["attempts"]] == [
        ("recovery-0", 3.0, 3, ["nan_inf"], "failed"),
        ("recovery-1", 1.5, 3, ["max_exceeded"], "failed"),
        ("recovery-2", 0.75, 0, [], "finished"),
    ]
    assert (recovery["recovered"], recovery["final_lr"]) == (True, 0.75)


def test_live_monitor_stops_the_run_after_the_spike(agent):
    _, decisions = agent
    live = decisions["live_monitor"]
    assert live["stopped_after_spike_at"] == 30
    assert live["alerts_seen"][0]["reason"] == "spike" and live["alerts_seen"][0]["step"] == 30
    assert (live["attempt"]["exit_code"], live["attempt"]["status"]) == (5, "failed")


def test_stored_statuses_and_alerts_match_what_happened(agent):
    root, decisions = agent
    api = tnb.Api(dir=root)
    mine = set(decisions["run_ids"])
    runs = [r for r in api.runs("auto") if r.id in mine]
    assert Counter(r.status for r in runs) == {"finished": 5, "failed": 3}
    alerts = [a for a in api.alerts("auto") if a["run_id"] in mine]
    assert Counter((a["run"], a["data"]["reason"], a["data"]["metric"]) for a in alerts) == {
        ("recovery-0", "nan_inf", "train/loss"): 1,
        ("recovery-0", "nan_inf", "val/loss"): 1,
        ("recovery-1", "max_exceeded", "train/loss"): 1,
        ("live-monitored", "spike", "train/loss"): 1,
    }
    live = api.run("auto", decisions["live_monitor"]["attempt"]["run_id"])
    assert live.history("train/loss").height < 2000  # it really stopped early


def test_a_chatty_child_cannot_block_the_runner():
    size = 1 << 20
    child = agent_runner.Child(
        [sys.executable, "-c", f"import sys; sys.stderr.write('e' * {size}); sys.stdout.write('o' * {size})"]
    )
    assert child.wait(timeout=30) == 0
    assert (len(child.err), len(child.out)) == (size, size)


def test_the_simulator_with_a_megabyte_of_stderr_finishes(data_dir):
    attempt = agent_runner.train("chatty", "noisy", 0.1, 20, "--stderr-bytes", str(1 << 20))
    assert (attempt.exit_code, attempt.status, attempt.reasons) == (0, "finished", [])


def test_unknown_experiment_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        agent_runner.main(["--experiments", "lr_search,teleport"])
    assert exc.value.code == 2
    assert "unknown experiment(s): teleport" in capsys.readouterr().err


def _simulate(*args: str) -> int:
    import simulate_training

    return simulate_training.main(["--project", "sim", *args])


def test_simulator_flags_work_for_step_zero(data_dir):
    assert _simulate("--name", "nan0", "--lr", "0.1", "--steps", "10", "--nan-at-step", "0") == 3
    assert [(a["step"], a["data"]["reason"]) for a in tnb.Api().run("sim", "nan0").alerts()] == [
        (0, "nan_inf"),
        (0, "nan_inf"),
    ]
    # A spike injected at step 0 is 10x + 5 of the first loss: over max_value 20, so it stops there.
    assert _simulate("--name", "spike0", "--lr", "0.1", "--steps", "10", "--spike-at-step", "0") == 3
    view = tnb.Api().run("sim", "spike0")
    assert [(a["step"], a["data"]["reason"]) for a in view.alerts()] == [(0, "max_exceeded")]
    assert (view.status, view.history("train/loss")["step"].to_list()) == ("failed", [0])


def test_simulator_plateau_is_an_early_stop_that_finishes(data_dir):
    code = _simulate("--name", "flat", "--lr", "0.1", "--steps", "100", "--plateau-at-step", "20", "--patience", "5")
    assert code == 4
    view = tnb.Api().run("sim", "flat")
    assert view.status == "finished"
    assert [(a["step"], a["data"]["reason"]) for a in view.alerts()] == [(24, "stagnation")]
