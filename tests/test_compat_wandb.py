"""wandb compat semantics: `id` is the run's id (and resumes it from another process), `run.dir`,
`wandb.run` after finish, `wandb.config`/`wandb.summary` before init, a step that goes back."""

from __future__ import annotations

import pytest

import trackio_nb as tnb
import trackio_nb.compat.wandb as wandb
from tests.conftest import run_python
from trackio_nb.compat._shared import _noticed, files_dir
from trackio_nb.errors import AmbiguousRun, RunNotFound


@pytest.fixture(autouse=True)
def no_current_wandb_run():
    """Each test starts and ends without a current wandb run or values set before init()."""
    wandb.finish()
    wandb._preinit_config.clear()
    yield
    wandb.finish()
    wandb._preinit_config.clear()


def _resume_elsewhere(data_dir, wandb_id: str, resume: str, value: float):
    """Resume the run with `wandb_id` in a fresh interpreter and log x there; returns what it saw."""
    code = (
        "import trackio_nb.compat.wandb as wandb\n"
        f"run = wandb.init(project='wi', id={wandb_id!r}, resume={resume!r})\n"
        f"wandb.log({{'x': {value}}})\n"
        "print(run.id, run.name)\n"
        "wandb.finish()\n"
    )
    done = run_python(code, data_dir)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_the_id_passed_is_run_id_and_resumes_that_run_in_another_process(data_dir):
    run = wandb.init(project="wi", id="abc")
    assert (wandb.run.id, run.name) == ("abc", "abc")
    wandb.log({"x": 1.0})
    wandb.finish()
    assert _resume_elsewhere(data_dir, "abc", "must", 2.0) == ["abc", "abc"]
    assert _resume_elsewhere(data_dir, "abc", "allow", 3.0) == ["abc", "abc"]
    [view] = tnb.Api().runs("wi")
    assert view.id == run._run.id and view.config == {"wandb/id": "abc"}
    assert view.history("x")["x"].to_list() == [1.0, 2.0, 3.0]


def test_an_id_with_a_name_and_the_generated_id_both_resume_their_run(data_dir):
    named = wandb.init(project="wi", name="nice", id="xyz")
    assert (named.id, named.name) == ("xyz", "nice")
    wandb.finish()
    plain = wandb.init(project="wi", name="plain")
    saved = wandb.run.id  # no id given: trackio_nb's own id, which resumes it too
    assert saved == plain._run.id
    wandb.finish()
    assert _resume_elsewhere(data_dir, "xyz", "must", 1.0) == ["xyz", "nice"]
    assert _resume_elsewhere(data_dir, saved, "must", 2.0) == [saved, "plain"]
    runs = {v.name: v for v in tnb.Api().runs("wi")}
    assert sorted(runs) == ["nice", "plain"]  # both resumed, no new run
    assert runs["nice"].id == named._run.id and runs["nice"].history("x")["x"].to_list() == [1.0]


def test_resume_by_id_never_picks_another_run(data_dir):
    with pytest.raises(RunNotFound, match="resume='must' but project 'wi' has no run with id 'nope'"):
        wandb.init(project="wi", id="nope", resume="must")
    old = wandb.init(project="wi", name="same")
    wandb.finish()
    fresh = wandb.init(project="wi", name="same", id="new1", resume="allow")  # unknown id: a new run
    assert fresh._run.id != old._run.id and fresh.id == "new1"
    wandb.finish()
    wandb.init(project="wi", name="same")  # a later run of that name: resuming new1 by name would pick it
    wandb.finish()
    with pytest.raises(AmbiguousRun, match=r"wandb id 'new1' is run .* named 'same', but a later run"):
        wandb.init(project="wi", id="new1", resume="must")


def test_run_dir_is_a_real_folder_of_the_run(data_dir):
    run = wandb.init(project="wd", id="d1")
    folder = files_dir("wd", data_dir) / "runs" / run._run.id
    assert not folder.exists()
    assert run.dir == str(folder) and folder.is_dir()  # created on access
    (folder / "notes.txt").write_text("kept")
    assert wandb.run.dir == str(folder)


@pytest.mark.parametrize("how", ["module", "run", "with"])
def test_wandb_run_is_none_after_finish(how):
    run = wandb.init(project="wf")
    if how == "module":
        wandb.finish()
    elif how == "run":
        wandb.run.finish()
    else:
        with run:
            pass
    assert wandb.run is None
    assert tnb.Api().run("wf", run.name).status == "finished"
    with pytest.raises(RuntimeError, match=r"You must call wandb.init\(\) before wandb.log\(\)"):
        wandb.log({"x": 1.0})


def test_config_before_init_is_carried_into_the_next_run_and_summary_is_empty():
    assert wandb.run is None
    wandb.config.lr = 0.1
    wandb.config.update({"layers": 2, "opt": "sgd"})
    assert (wandb.config.lr, dict(wandb.config)) == (0.1, {"lr": 0.1, "layers": 2, "opt": "sgd"})
    assert dict(wandb.summary) == {} and "loss" not in wandb.summary
    with pytest.raises(RuntimeError, match=r"wandb.summary: call wandb.init\(\) first"):
        wandb.summary["loss"] = 1.0
    run = wandb.init(project="wp", config={"opt": "adam"})  # init's own config wins on a clash
    assert dict(wandb.config) == {"lr": 0.1, "layers": 2, "opt": "adam"}
    wandb.finish()
    assert tnb.Api().run("wp", run.name).config == {"lr": 0.1, "layers": 2, "opt": "adam"}
    assert dict(wandb.config) == {}  # consumed: the next run starts without them
    second = wandb.init(project="wp")
    assert dict(second.config) == {}


def test_a_step_below_the_current_one_is_dropped_with_one_warning(capfd):
    _noticed.discard("wandb-step-back")
    run = wandb.init(project="ws")
    wandb.log({"x": 5.0}, step=5)
    wandb.log({"x": 3.0}, step=3)
    wandb.log({"x": 4.0}, step=4)
    wandb.log({"y": 5.5}, step=5)  # the current step itself: joined to it, as wandb does
    wandb.log({"x": 6.0}, step=6)
    wandb.finish()
    err = capfd.readouterr().err
    assert err.count("is below the current step") == 1
    assert "wandb.log(step=3) is below the current step 5: steps must increase, so this data is ignored" in err
    history = tnb.Api().run("ws", run.name).history()
    assert history.select("step", "x", "y").rows() == [(5, 5.0, 5.5), (6, 6.0, None)]
    assert run.summary["x"] == 6.0


def test_config_update_takes_an_argparse_namespace_and_stores_its_fields():
    import argparse

    run = wandb.init(project="wns")
    wandb.config.update(argparse.Namespace(lr=0.1, bs=8, _hidden=1), allow_val_change=True)
    assert dict(wandb.config) == {"lr": 0.1, "bs": 8}
    wandb.finish()
    assert tnb.Api().run("wns", run.name).config == {"lr": 0.1, "bs": 8}
