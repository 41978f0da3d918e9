"""A program written for trackio 0.43, run unchanged on trackio_nb through compat.install.

Prints one line `OBS <json>` with what it saw in-process; tests/test_compat_corpus.py checks
that and what was stored. Run from a scratch directory (it writes files there).
"""

import json
import os
import sys
import warnings
from pathlib import Path

import numpy as np

import trackio_nb.compat

trackio_nb.compat.install("trackio")

import trackio  # noqa: E402
import trackio.context_vars  # noqa: E402
from trackio import AlertLevel, Api  # noqa: E402

obs = {"version": trackio.__version__, "same_context_vars": trackio.context_vars is sys.modules["trackio.context_vars"]}

# init with every trackio keyword at its "nothing remote" value
run = trackio.init(
    project="corpus",
    name="first",
    group="g1",
    space_id=None,
    server_url=None,
    dataset_id=None,
    bucket_id=None,
    config={"lr": 0.01, "path": Path("/data/x"), "np": np.float32(0.5)},
    resume="never",
    settings=None,
    private=None,
    embed=False,
    auto_log_gpu=False,
    gpu_log_interval=10.0,
    auto_log_cpu=False,
    cpu_log_interval=10.0,
    webhook_url=None,
    webhook_min_level=None,
)
obs["run_name"] = run.name
obs["current_project"] = trackio.context_vars.current_project.get()
obs["current_space_id"] = trackio.context_vars.current_space_id.get()
obs["current_run_is_run"] = trackio.context_vars.current_run.get() is run
trackio.config["batch"] = 8
trackio.config.update({"epochs": 3}, allow_val_change=True)

for step in range(3):
    trackio.log({"loss": 1.0 / (step + 1), "acc": 0.5 + step / 10})
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    trackio.log({"step": 99, "timestamp": 5, "loss": 0.2})
obs["rename_warning"] = [str(w.message) for w in caught]
trackio.log({"loss": 0.1}, step=10)
trackio.log({"text_note": "hello"})

trackio.alert("first alert", "text one", AlertLevel.INFO)
trackio.alert("second alert", level=AlertLevel.ERROR)

trackio.log(
    {
        "image": trackio.Image(np.zeros((4, 4, 3), dtype=np.uint8), caption="black"),
        "table": trackio.Table(columns=["a", "b"], data=[[1, 2], [3, 4]]),
        "hist": trackio.Histogram([1, 2, 2, 3, 3, 3]),
        "md": trackio.Markdown("# title"),
        "html": trackio.Html("<b>bold</b>"),
        "trace": trackio.Trace(messages=[{"role": "user", "content": "hi"}]),
    }
)
try:
    obs["object3d"] = trackio.Object3D
except AttributeError as exc:
    obs["object3d"] = str(exc)

Path("weights.bin").write_bytes(b"\x00\x01weights")
Path("ckpt").mkdir(exist_ok=True)
Path("ckpt/config.json").write_text('{"hidden": 4}')
obs["save_dir"] = trackio.save("weights.bin")

trackio.log_system({"gpu/0/utilization": 12.5})
obs["log_cpu_keys"] = sorted(trackio.log_cpu())[:3]
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    obs["log_gpu"] = trackio.log_gpu()
obs["log_gpu_warning"] = [str(w.message) for w in caught]

artifact = trackio.Artifact("model", type="model", description="tiny", metadata={"epoch": 1})
artifact.add_dir("ckpt")
logged = trackio.log_artifact(artifact, aliases=["best"])
obs["artifact"] = [logged.qualified_name, list(logged.aliases), logged.size]
again = trackio.Artifact("model", type="model")
again.add_dir("ckpt")
obs["artifact_again"] = trackio.log_artifact(again).qualified_name
trackio.finish()

for keyword, value in (("space_id", "me/space"), ("dataset_id", "me/data"), ("bucket_id", "me/bucket")):
    try:
        trackio.init(project="corpus", **{keyword: value})
    except ValueError as exc:
        obs[f"refused_{keyword}"] = str(exc)

resumed = trackio.init(project="corpus", name="first", resume="allow", embed=False)
obs["resumed_next"] = resumed.name
used = trackio.use_artifact("model:best", type="model")
obs["used"] = [used.qualified_name, Path(used.download("restored")).joinpath("config.json").read_text()]
trackio.log({"loss": 0.05})
trackio.finish()

second = trackio.init(project="corpus", name="second", embed=False)
trackio.alert("third alert", "from second")
Path("ckpt/config.json").write_text('{"hidden": 8}')
newer = trackio.Artifact("model", type="model")
newer.add_dir("ckpt")
obs["artifact_overwrite"] = trackio.log_artifact(newer, overwrite=True).qualified_name
for name in ("Plotly", "import_tf_events"):
    try:
        getattr(trackio, name)
    except AttributeError as exc:
        obs[f"unsupported_{name}"] = str(exc)
second.finish()

Path("metrics.csv").write_text("step,loss,acc,comment\n0,0.9,0.1,x\n1,0.8,,y\n2,0.7,0.3,z\n")
trackio.import_csv("metrics.csv", project="csv-project")

api = Api()
obs["runs"] = [r.name for r in api.runs("corpus")]
obs["config_keys"] = sorted(api.runs("corpus")[0].config)
obs["alerts"] = [(a["title"], a["run"], a["level"]) for a in api.alerts("corpus")]
obs["alerts_second"] = [a["title"] for a in api.alerts("corpus", run="second")]
obs["alerts_unknown_run"] = api.alerts("corpus", run="nope")
try:
    api.runs("no-such-project")
except ValueError as exc:
    obs["missing_project"] = str(exc)
obs["show_outside_notebook"] = trackio.show("corpus")
for call in (trackio.sync, trackio.freeze):
    try:
        call(project="corpus")
    except NotImplementedError as exc:
        obs[f"refused_{call.__name__}"] = str(exc)

from trackio.sqlite_storage import SQLiteStorage  # noqa: E402

obs["storage_projects"] = SQLiteStorage.get_projects()
obs["storage_runs"] = SQLiteStorage.get_runs("corpus")
logs = SQLiteStorage.get_logs("corpus", "first")
obs["storage_first_log"] = logs[0]
obs["storage_count"] = SQLiteStorage.get_log_count("corpus", "first")
obs["storage_sampled_steps"] = [r["step"] for r in SQLiteStorage.get_logs("corpus", "first", max_points=3)]
obs["storage_scalar_only"] = sorted(SQLiteStorage.get_logs("corpus", "first", scalar_only=True)[5])
obs["storage_missing"] = [SQLiteStorage.get_logs("corpus", "nope"), SQLiteStorage.get_runs("nope")]
obs["cwd_files"] = sorted(os.listdir("."))
print("OBS " + json.dumps(obs))
