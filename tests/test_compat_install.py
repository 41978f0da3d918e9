"""`trackio_nb.compat.install`: the alias, its submodules, the refusal when the real package is loaded."""

from __future__ import annotations

import sys
import types

import pytest

import trackio_nb.compat
import trackio_nb.compat.trackio as compat_trackio
import trackio_nb.compat.wandb as compat_wandb


@pytest.fixture(autouse=True)
def clean_modules():
    saved = {k: v for k, v in sys.modules.items() if k.split(".")[0] in ("trackio", "wandb")}
    for key in saved:
        del sys.modules[key]
    yield
    for key in [k for k in sys.modules if k.split(".")[0] in ("trackio", "wandb")]:
        del sys.modules[key]
    sys.modules.update(saved)


def test_install_aliases_the_module_and_its_submodules():
    assert trackio_nb.compat.install("trackio") is compat_trackio
    import trackio
    import trackio.context_vars
    from trackio import context_vars

    assert trackio is compat_trackio
    assert trackio.context_vars is context_vars is sys.modules["trackio_nb.compat.trackio.context_vars"]
    assert trackio_nb.compat.install("trackio") is compat_trackio  # twice is harmless
    trackio_nb.compat.uninstall("trackio")
    assert "trackio" not in sys.modules and "trackio.context_vars" not in sys.modules


def test_install_wandb():
    trackio_nb.compat.install("wandb")
    import wandb
    from wandb.sdk.lib.config_util import ConfigError  # Transformers' WandbCallback imports it

    assert wandb is compat_wandb and wandb.run is None
    assert issubclass(ConfigError, ValueError)
    trackio_nb.compat.uninstall("wandb")
    assert not [m for m in sys.modules if m.split(".")[0] == "wandb"]


@pytest.mark.parametrize("name", ["trackio", "wandb"])
def test_install_refuses_when_the_real_package_is_imported(name):
    real = types.ModuleType(name)
    real.__file__ = f"/site-packages/{name}/__init__.py"
    sys.modules[name] = real
    with pytest.raises(RuntimeError, match=f"the real '{name}' package is already imported"):
        trackio_nb.compat.install(name)
    assert sys.modules[name] is real  # left as it was


def test_install_unknown_name():
    with pytest.raises(ValueError, match="install\\(\\) takes 'trackio' or 'wandb', got 'mlflow'"):
        trackio_nb.compat.install("mlflow")


def test_space_keywords_refused_before_anything_is_stored(data_dir):
    with pytest.raises(ValueError, match="not to a Hugging Face Space: space_id='me/space'"):
        compat_trackio.init("p", space_id="me/space")
    assert not data_dir.exists() or not list(data_dir.glob("*.db"))


def test_auto_log_cpu_samples_until_the_run_ends(data_dir):
    import time

    import trackio_nb as tnb

    run = compat_trackio.init("sampled", embed=False, auto_log_cpu=True, cpu_log_interval=0.2)
    sampled_steps, calls = [], []
    run.subscribe(lambda entries: sampled_steps.extend(e[0] for e in entries if "cpu/utilization" in e[2]))
    inner, log = run._run, run._run.log
    inner.log = lambda metrics, step=None: (calls.append(step), log(metrics, step))[1]
    run.log({"loss": 1.0})
    time.sleep(1.1)
    compat_trackio.finish()
    count = len(calls)
    time.sleep(0.5)
    assert len(calls) == count  # the sampler stopped with the run
    assert count == len(sampled_steps) + 1  # (its calls, and the one above)
    assert 3 <= len(sampled_steps) <= 6 and set(sampled_steps) == {0}  # sampling does not advance the step
    [row] = tnb.Api().run("sampled", run.name).history().to_dicts()
    assert row["loss"] == 1.0 and 0 <= row["memory/percent"] <= 100
