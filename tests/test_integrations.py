"""Real training through the framework integrations, on tiny models built here (no downloads).

Each scenario is a script in tests/compat_scripts run in its own interpreter (all started at
once, then read): Trainer with report_to="trackio" (and "wandb") after compat.install, TrackioNbCallback
with a NaN watcher, a Trainer that raises (in a script, and in an IPython cell), Lightning
fit + validate, Lightning raising, and a NaN watcher stopping Lightning's fit.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

import trackio_nb as tnb

SCRIPTS = Path(__file__).parent / "compat_scripts"
SCENARIOS = {
    "hf_report": ("hf_report_to_trackio.py", "report"),
    "hf_nan": ("hf_report_to_trackio.py", "nan"),
    "hf_raise": ("hf_report_to_trackio.py", "raise"),
    "hf_ipython": ("hf_report_to_trackio.py", "ipython"),
    "hf_wandb": ("hf_report_to_trackio.py", "wandb"),
    "lightning_ok": ("lightning_fit.py", "ok"),
    "lightning_raise": ("lightning_fit.py", "raise"),
    "lightning_nan": ("lightning_fit.py", "nan"),
}
OFFLINE = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "OMP_NUM_THREADS": "1",
    "PYTHONWARNINGS": "ignore",
}


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """Run every scenario (concurrently); returns {scenario: (data_dir, CompletedProcess-like)}."""
    procs = {}
    for key, (script, mode) in SCENARIOS.items():
        root = tmp_path_factory.mktemp(key)
        env = {**os.environ, **OFFLINE, "TRACKIO_NB_DIR": str(root / "data")}
        procs[key] = (
            root / "data",
            subprocess.Popen(
                [sys.executable, str(SCRIPTS / script), mode, str(root / "out")],
                env=env,
                cwd=root,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            ),
        )
    results = {}
    for key, (root, proc) in procs.items():
        out, err = proc.communicate(timeout=240)
        results[key] = (root, proc.returncode, out, err)
    return results


def only_run(root: Path, project: str):
    runs = tnb.Api(dir=str(root)).runs(project)
    assert len(runs) == 1, [r.name for r in runs]
    return runs[0]


def marker(out: str, name: str) -> str:
    return next(line.split(" ", 1)[1] for line in out.splitlines() if line.startswith(name + " "))


def rows_by_step(view) -> dict[int, dict]:
    return {row.pop("step"): row for row in view.history().drop("timestamp").to_dicts()}


def test_trainer_report_to_trackio_stores_every_metric_and_finishes(finished):
    root, code, out, err = finished["hf_report"]
    assert code == 0, err[-3000:]
    run = only_run(root, "hf-compat")
    # train() finished the run, evaluate()/predict() re-opened it and nobody finished it: a clean exit does.
    assert (run.name, run.status) == ("report-run", "finished")
    assert run.config["learning_rate"] == 0.001
    assert run.config["num_hidden_layers"] == 2
    assert run.config["model/num_parameters"] > 0
    history = json.loads(marker(out, "LOG_HISTORY"))
    rows = list(rows_by_step(run).values())
    summary_keys = {"train_runtime", "train_samples_per_second", "train_steps_per_second", "train_loss", "total_flos"}
    # Every dict HF logged (TrackioCallback drops its one-off summary scalars) is one stored row,
    # in order, with HF's global step beside it as trackio stores it.
    logged = [{k: v for k, v in h.items() if k not in summary_keys} for h in history]
    assert len(rows) == len(logged) + 1  # + predict()'s test metrics
    for row, entry in zip(rows, logged, strict=False):  # the last row is predict()'s
        assert row["train/global_step"] == entry["step"]
        for key, value in entry.items():
            if key == "step":
                continue
            name = "eval/" + key[5:] if key.startswith("eval_") else "train/" + key
            assert row[name] == pytest.approx(value), (name, row, entry)
    assert rows[-1]["test/loss"] == pytest.approx(history[-1]["eval_loss"])
    train_steps = [int(r["train/global_step"]) for r in rows if r.get("train/loss") is not None]
    assert train_steps == list(range(1, 9))


def test_trainer_report_to_wandb_through_compat(finished):
    root, code, out, err = finished["hf_wandb"]
    assert code == 0, err[-3000:]
    [run] = tnb.Api(dir=str(root)).runs("huggingface")  # WANDB_PROJECT's default in Transformers
    assert (run.name, run.status) == ("wandb-run", "finished")  # left open by Transformers: clean exit
    assert run.config["learning_rate"] == 0.001 and run.config["model/num_parameters"] > 0
    history = json.loads(marker(out, "LOG_HISTORY"))
    rows = list(rows_by_step(run).values())
    train = [(int(r["train/global_step"]), r["train/loss"]) for r in rows if r.get("train/loss") is not None]
    assert train == [(h["step"], pytest.approx(h["loss"])) for h in history if "loss" in h]
    # the one-off scalars go to wandb.summary, which stores them too
    final = run.final_metrics()
    summary = next(h for h in history if "train_runtime" in h)
    assert final["train_loss"] == pytest.approx(summary["train_loss"])
    assert final["test/loss"] == pytest.approx(history[-1]["eval_loss"])


def test_callback_nan_watcher_stops_training_early(finished):
    root, code, out, err = finished["hf_nan"]
    assert code == 0, err[-3000:]
    assert int(marker(out, "GLOBAL_STEP")) == 3  # 5 epochs x 4 steps planned; stopped at the NaN
    run = only_run(root, "hf-compat")
    assert run.status == "finished"
    rows = rows_by_step(run)
    assert sorted(rows) == [1, 2, 3]  # logged at the Trainer's global step
    assert math.isnan(rows[3]["loss"]) and rows[2]["loss"] > 0
    assert run.config["learning_rate"] == 0.001 and run.config["model/num_parameters"] > 0
    [alert] = run.alerts()
    assert (alert["level"], alert["step"], alert["data"]["reason"], alert["data"]["metric"]) == (
        "error",
        3,
        "nan_inf",
        "loss",
    )


def test_trainer_that_raises_leaves_the_run_failed(finished):
    root, code, _out, err = finished["hf_raise"]
    assert code == 1 and "boom at step 3" in err
    run = only_run(root, "hf-compat")
    assert run.status == "failed"
    assert sorted(rows_by_step(run)) == [1, 2]


def test_training_that_raises_in_an_ipython_cell_fails_the_run_at_once(finished):
    root, code, out, err = finished["hf_ipython"]
    assert code == 0, err[-3000:]
    assert marker(out, "CELL_ERROR") == "RuntimeError"
    assert marker(out, "STATUS_AFTER_CELL") == "failed"  # the process lives on: the cell hook failed it
    runs = {r.name: r.status for r in tnb.Api(dir=str(root)).runs("hf-compat")}
    # a later unrelated failing cell does not fail a compat run at the clean exit
    assert runs == {"ipython-run": "failed", "later": "finished"}


def test_lightning_fit_validate_stores_metrics_and_hyperparameters(finished):
    root, code, out, err = finished["lightning_ok"]
    assert code == 0, err[-3000:]
    assert int(marker(out, "GLOBAL_STEP")) == 8
    run = only_run(root, "lightning-compat")
    assert (run.name, run.status) == ("tiny", "finished")
    assert run.config == {"dataset": "random", "hidden": 8, "lr": 0.05}
    rows = rows_by_step(run)
    assert sorted(rows) == list(range(9))
    assert all(rows[s]["train_loss"] > 0 for s in range(8))
    assert [s for s in rows if rows[s]["val_loss"] is not None] == [3, 7, 8]  # end of each epoch, then validate()
    assert rows[8]["val_loss"] == pytest.approx(rows[7]["val_loss"])  # same weights validated again


def test_lightning_failure_marks_the_run_failed(finished):
    root, code, _out, err = finished["lightning_raise"]
    assert code == 1 and "boom in training_step" in err
    run = only_run(root, "lightning-compat")
    assert run.status == "failed"
    assert sorted(rows_by_step(run)) == [0, 1, 2]


def test_lightning_nan_watcher_stops_fit_early(finished):
    root, code, out, err = finished["lightning_nan"]
    assert code == 0, err[-3000:]
    # 2 epochs x 4 batches planned; the NaN at step 2 is logged after that batch, the next
    # batch's end sees the stop and Lightning ends fit there.
    assert int(marker(out, "GLOBAL_STEP")) == 4
    run = only_run(root, "lightning-compat")
    assert run.status == "finished"
    [alert] = run.alerts()
    assert (alert["level"], alert["step"], alert["data"]["reason"], alert["data"]["metric"]) == (
        "error",
        2,
        "nan_inf",
        "train_loss",
    )
