"""A program written for wandb, run unchanged on trackio_nb through compat.install.

Prints `OBS <json>` with what it saw in-process; tests/test_compat_corpus.py checks that and
what was stored. The last run is left open: a clean exit finishes it, as wandb does.
"""

import argparse
import contextlib
import io
import json
import os
from pathlib import Path

import numpy as np

import trackio_nb.compat

trackio_nb.compat.install("wandb")

import wandb  # noqa: E402

obs = {}
stderr = io.StringIO()
with contextlib.redirect_stderr(stderr):
    obs["login"] = wandb.login(key="not-used")
    obs["run_before_init"] = wandb.run is None

    parser = argparse.ArgumentParser()
    parser.add_argument("--lr", type=float, default=0.001)
    parser.add_argument("--layers", type=int, default=2)
    args = parser.parse_args([])

    run = wandb.init(
        config=args,
        entity="my-team",
        tags=["baseline", "cpu"],
        notes="first try",
        job_type="train",
        group="sweep-1",
        reinit=True,
        mode="online",
        settings=wandb.Settings(start_method="thread"),
    )
    obs["run_is_current"] = wandb.run is run
    obs["project"] = run.project
    obs["name_id"] = [isinstance(wandb.run.name, str), wandb.run.id == run.id]
    wandb.config.batch_size = 16
    wandb.config.update({"optimizer": "sgd"}, allow_val_change=True)
    obs["config_attr"] = [wandb.config.lr, wandb.config["layers"], wandb.config.batch_size]
    wandb.define_metric("val_acc", summary="max")
    wandb.watch(object(), log="all")
    wandb.watch(object())
    for step in range(4):
        wandb.log({"train_loss": 1.0 / (step + 1)}, commit=False)
        wandb.log({"lr": 0.1 * (step + 1)}, commit=False)
        wandb.log({"val_acc": [0.5, 0.8, 0.7, 0.6][step]})
    table = wandb.Table(columns=["x", "y"], data=[[1, 2]])
    table.add_data(3, 4)
    try:
        table.add_data(5)
    except ValueError as exc:
        obs["add_data_error"] = str(exc)
    wandb.log(
        {
            "hist": wandb.Histogram(np.arange(10)),
            "table": table,
            "img": wandb.Image(np.ones((2, 2, 3), dtype=np.uint8) * 255, caption="white"),
        }
    )
    obs["summary"] = {k: wandb.run.summary[k] for k in ("train_loss", "val_acc", "lr")}
    wandb.summary["best_epoch"] = 1
    obs["summary_set"] = wandb.summary["best_epoch"]
    wandb.alert(title="slow", text="epoch took long", level=wandb.AlertLevel.WARN, wait_duration=300)
    wandb.alert(title="slow", text="again, within wait_duration", wait_duration=300)
    wandb.alert(title="done", text="no wait_duration")
    Path("model.pt").write_bytes(b"weights")
    obs["saved"] = [Path(p).name for p in wandb.save("model.pt")]
    wandb.finish(exit_code=0)
    obs["run_after_finish"] = wandb.run is None

    crashed = wandb.init(project="wandb-corpus", id="crashy", reinit="finish_previous")
    wandb.log({"x": 1}, step=5)
    wandb.finish(exit_code=3)
    obs["crashed_status"] = trackio_nb.Api().run("wandb-corpus", "crashy").status

    resumed = wandb.init(project="wandb-corpus", id="crashy", resume="allow")
    obs["resumed_name"] = resumed.name
    wandb.log({"x": 2})
    obs["return_previous"] = wandb.init(project="wandb-corpus", reinit="return_previous") is resumed
    wandb.finish()

    disabled = wandb.init(project="wandb-corpus", mode="disabled", config={"a": 1})
    wandb.log({"never": 1})
    obs["disabled"] = [disabled.name, wandb.config["a"], dict(wandb.summary)]
    wandb.finish()

    with wandb.init(
        project="wandb-corpus", name="ctx", config={"a": 1, "b": 2, "c": 3}, config_exclude_keys=["b"]
    ) as ctx:
        wandb.define_metric("acc", summary="best", goal="maximize")
        wandb.define_metric("err", summary="best", goal="minimize")
        wandb.define_metric("avg", summary="mean")
        for acc, err in ((0.2, 0.9), (0.6, 0.4), (0.5, 0.7)):
            ctx.log({"y": 1, "acc": acc, "err": err, "avg": acc})
        obs["best_mean"] = [ctx.summary["acc"], ctx.summary["err"], round(ctx.summary["avg"], 6)]
        try:
            wandb.define_metric("acc", summary="median")
        except ValueError as exc:
            obs["bad_summary"] = str(exc)

    wandb.init(project="wandb-corpus", name="left-open")
    wandb.log({"z": 3})
    wandb.log({"pending": 4}, commit=False)  # never committed: stored at the clean exit
obs["notices"] = stderr.getvalue().count("wandb.watch()")
obs["cwd_files"] = sorted(os.listdir("."))
print("OBS " + json.dumps(obs))
