"""Programs written for trackio and for wandb (tests/compat_corpus) run unchanged through
`trackio_nb.compat.install`, one interpreter each; checked: what they saw and what was stored."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import trackio_nb as tnb
from trackio_nb.compat._shared import files_dir

CORPUS = Path(__file__).parent / "compat_corpus"


def run_corpus(script: str, tmp: Path) -> tuple[dict, Path, str]:
    cwd, data = tmp / "cwd", tmp / "data"
    cwd.mkdir()
    env = {**os.environ, "TRACKIO_NB_DIR": str(data)}
    env.pop("WANDB_MODE", None)
    env.pop("WANDB_PROJECT", None)
    proc = subprocess.run(
        [sys.executable, str(CORPUS / script)], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    line = next(line for line in proc.stdout.splitlines() if line.startswith("OBS "))
    return json.loads(line[4:]), data, proc.stderr


@pytest.fixture(scope="module")
def trackio_program(tmp_path_factory):
    return run_corpus("trackio_calls.py", tmp_path_factory.mktemp("trackio"))


@pytest.fixture(scope="module")
def wandb_program(tmp_path_factory):
    return run_corpus("wandb_calls.py", tmp_path_factory.mktemp("wandb"))


def history(view) -> dict[int, dict]:
    rows = view.history().drop("timestamp").to_dicts()
    return {row.pop("step"): {k: v for k, v in row.items() if v is not None} for row in rows}


def test_trackio_module_surface(trackio_program):
    obs, _data, _err = trackio_program
    assert obs["version"].startswith("0.43.0+trackio.nb.")
    assert obs["same_context_vars"] is True
    assert (obs["run_name"], obs["current_project"], obs["current_space_id"]) == ("first", "corpus", None)
    assert obs["current_run_is_run"] is True
    assert obs["rename_warning"] == [
        "Reserved keys renamed: ['step', 'timestamp'] → '{key}_' (trackio_nb keeps step, timestamp and _names for itself)"
    ]
    assert "Object3D is not supported" in obs["object3d"]
    for name in ("Plotly", "import_tf_events"):
        assert (
            obs[f"unsupported_{name}"]
            == f"trackio.{name} is not supported by trackio_nb (docs/compat.md lists what is)"
        )
    for keyword, what in (("space_id", "Space"), ("dataset_id", "dataset"), ("bucket_id", "bucket")):
        assert f"not to a Hugging Face {what}: {keyword}=" in obs[f"refused_{keyword}"]
    assert obs["log_gpu"] == {}
    assert obs["log_gpu_warning"] == ["log_gpu(): trackio_nb does not sample GPU metrics; nothing was logged"]
    assert obs["log_cpu_keys"][0] == "cpu/0/utilization"


# trackio 0.43.0's `init` parameters, read from the package (inspect.signature(trackio.init)).
TRACKIO_043_INIT = [
    "project",
    "name",
    "group",
    "space_id",
    "server_url",
    "dataset_id",
    "bucket_id",
    "config",
    "resume",
    "settings",
    "private",
    "embed",
    "auto_log_gpu",
    "gpu_log_interval",
    "auto_log_cpu",
    "cpu_log_interval",
    "webhook_url",
    "webhook_min_level",
]


def test_init_takes_trackio_043_parameters_in_order():
    import inspect

    from trackio_nb.compat import trackio

    assert list(inspect.signature(trackio.init).parameters) == TRACKIO_043_INIT


def test_trackio_program_stored_runs_metrics_media_and_config(trackio_program):
    obs, data, _err = trackio_program
    api = tnb.Api(dir=str(data))
    first = api.run("corpus", "first")
    assert (first.status, first.group) == ("finished", "g1")
    assert first.config == {"lr": 0.01, "path": "/data/x", "np": 0.5, "batch": 8, "epochs": 3}
    rows = history(first)
    assert [rows[s]["loss"] for s in (0, 1, 2)] == [1.0, 0.5, pytest.approx(1 / 3)]
    assert rows[3] == {"loss": 0.2, "step_": 99.0, "timestamp_": 5.0}  # reserved keys renamed, values kept
    assert rows[10] == {"loss": 0.1} and rows[11] == {"text_note": "hello"}
    # media, system metrics and artifact records at the same step: log_system does not advance it
    assert rows[12]["gpu/0/utilization"] == 12.5 and 0 <= rows[12]["cpu/utilization"] <= 100
    assert rows[12]["artifact/model"] == "model:v0" and rows[12]["used_artifact/model"] == "model:v0"
    assert rows[13] == {"loss": 0.05}  # the resumed run continued after the last step
    media = sorted((m["step"], m["key"], m["kind"]) for m in first.media())
    assert media == [
        (12, k, kind)
        for k, kind in sorted(
            [
                ("hist", "histogram"),
                ("html", "html"),
                ("image", "image"),
                ("md", "markdown"),
                ("table", "table"),
                ("trace", "trace"),
            ]
        )
    ]
    assert obs["config_keys"] == ["_Created", "_Group", "_Username", "batch", "epochs", "lr", "np", "path"]


def test_trackio_api_orderings_and_errors(trackio_program):
    obs, _data, _err = trackio_program
    assert obs["runs"] == ["first", "second"]
    assert obs["alerts"] == [  # newest first, as trackio lists them
        ["third alert", "second", "warn"],
        ["second alert", "first", "error"],
        ["first alert", "first", "info"],
    ]
    assert obs["alerts_second"] == ["third alert"]
    assert obs["alerts_unknown_run"] == []
    assert obs["missing_project"] == "Project 'no-such-project' does not exist"


def test_trackio_sqlite_storage_reads(trackio_program):
    obs, _data, _err = trackio_program
    assert obs["storage_projects"] == ["corpus", "csv-project"]
    assert obs["storage_runs"] == ["first", "second"]
    first = obs["storage_first_log"]
    assert (first["step"], first["loss"], first["acc"]) == (0, 1.0, 0.5)
    assert first["timestamp"].endswith("Z")
    assert obs["storage_count"] == 8  # steps 0, 1, 2, 3, 10, 11, 12, 13
    assert obs["storage_sampled_steps"] == [0, 10, 13]
    assert obs["storage_scalar_only"] == ["step", "timestamp"]  # step 11 held only the text "hello"
    assert obs["storage_missing"] == [[], []]


def test_trackio_dashboard_calls(trackio_program):
    obs, _data, err = trackio_program
    assert obs["show_outside_notebook"] is None
    assert "trackio_nb has no web dashboard" in err and "trackio-nb summary --project corpus" in err
    for call in ("sync", "freeze"):
        assert obs[f"refused_{call}"].startswith(f"trackio.{call}() publishes to a Hugging Face Space")


def test_trackio_files_artifacts_and_csv(trackio_program):
    obs, data, _err = trackio_program
    folder = files_dir("corpus", data)
    assert obs["save_dir"] == str(folder)
    assert (folder / "weights.bin").read_bytes() == b"\x00\x01weights"
    assert obs["artifact"] == ["model:v0", ["best", "latest"], len('{"hidden": 4}')]
    assert obs["artifact_again"] == "model:v0"  # same files: no new version
    assert obs["used"] == ["model:v0", '{"hidden": 4}']
    assert obs["artifact_overwrite"] == "model:v1"  # new files: a new version; overwrite dropped v0
    [manifest] = (folder / "artifacts" / "model").glob("v*.json")
    stored = json.loads(manifest.read_text())
    assert (manifest.name, stored["run"], stored["type"], stored["aliases"]) == (
        "v1.json",
        "second",
        "model",
        ["latest"],
    )
    csv_run = tnb.Api(dir=str(data)).run("csv-project", "metrics")
    assert csv_run.status == "finished"
    assert history(csv_run) == {0: {"loss": 0.9, "acc": 0.1}, 1: {"loss": 0.8}, 2: {"loss": 0.7, "acc": 0.3}}


def test_wandb_program(wandb_program):
    obs, data, _err = wandb_program
    assert obs["login"] is True and obs["run_before_init"] is True and obs["run_is_current"] is True
    assert obs["project"] == "uncategorized"
    assert obs["name_id"] == [True, True]
    assert obs["config_attr"] == [0.001, 2, 16]
    assert obs["summary"] == {"train_loss": 0.25, "val_acc": 0.8, "lr": 0.4}  # val_acc: max per define_metric
    assert obs["summary_set"] == 1
    assert obs["saved"] == ["model.pt"] and obs["run_after_finish"] is True
    assert obs["crashed_status"] == "failed"  # finish(exit_code=3)
    assert obs["resumed_name"] == "crashy" and obs["return_previous"] is True
    assert obs["disabled"] == ["disabled", 1, {"never": 1}]
    assert obs["notices"] == 1  # watch(): one notice however often it is called

    api = tnb.Api(dir=str(data))
    assert sorted(api.projects()) == ["uncategorized", "wandb-corpus"]  # mode="disabled" stored nothing
    [first] = api.runs("uncategorized")
    assert (first.status, first.group) == ("finished", "sweep-1")
    assert first.config == {
        "lr": 0.001,
        "layers": 2,
        "wandb/tags": ["baseline", "cpu"],
        "wandb/notes": "first try",
        "wandb/job_type": "train",
        "wandb/entity": "my-team",
        "batch_size": 16,
        "optimizer": "sgd",
    }
    rows = history(first)
    # commit=False values joined the next committed call: one row per step
    assert [rows[s] for s in range(4)] == [
        {"train_loss": 1.0 / (s + 1), "lr": pytest.approx(0.1 * (s + 1)), "val_acc": [0.5, 0.8, 0.7, 0.6][s]}
        for s in range(4)
    ]
    assert rows[4] == {"best_epoch": 1.0}
    media = {m["key"]: m for m in first.media()}
    assert sorted(media) == ["hist", "img", "table"]
    assert media["table"]["value"] == {"columns": ["x", "y"], "data": [[1, 2], [3, 4]]}  # add_data's row kept
    assert obs["add_data_error"] == "add_data() takes 2 cells (one per column), got 1"
    assert (media["img"]["caption"], media["hist"]["kind"]) == ("white", "histogram")
    assert [(a["title"], a["level"]) for a in first.alerts()] == [("slow", "warn"), ("done", "info")]
    runs = {r.name: r for r in api.runs("wandb-corpus")}
    assert sorted(runs) == ["crashy", "ctx", "left-open"]
    assert history(runs["crashy"]) == {5: {"x": 1.0}, 6: {"x": 2.0}}
    assert runs["ctx"].config == {"a": 1, "c": 3}  # config_exclude_keys
    assert obs["best_mean"] == [0.6, 0.4, round((0.2 + 0.6 + 0.5) / 3, 6)]
    assert obs["bad_summary"].startswith("define_metric summary must be among min, max, mean")
    assert all(r.status == "finished" for r in runs.values())  # left-open: finished by the clean exit
    assert history(runs["left-open"]) == {0: {"z": 3.0}, 1: {"pending": 4.0}}
    assert (files_dir("uncategorized", data) / "model.pt").read_bytes() == b"weights"


@pytest.fixture(scope="module")
def trackio_manage_program(tmp_path_factory):
    return run_corpus("trackio_manage.py", tmp_path_factory.mktemp("trackio_manage"))


def test_trackio_run_management(trackio_manage_program):
    obs, data, _err = trackio_manage_program
    assert obs["renamed"] == "second-renamed"
    assert obs["moved"] is True
    assert obs["runs_after_move"] == ["keep"]
    assert obs["moved_runs"] == ["second-renamed"]
    assert obs["deleted"] is True
    api = tnb.Api(dir=str(data))
    assert [r.name for r in api.runs("corpus-moved")] == []
    assert obs["delete_missing_project"] is False and obs["delete_csv_project"] is True
    assert obs["saved_files_removed"] == ["csv-project-copy.files", False]  # save()'d files went with it
    assert sorted(api.projects()) == ["corpus", "corpus-moved"]
