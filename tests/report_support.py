"""Shared seeding helpers for the report and export tests (holds no tests)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import trackio_nb as tnb


def seed_vision(root: Path) -> tuple[dict[str, str], subprocess.Popen]:
    """Project "vision": two finished runs, a failed run sharing a name, a run that never logs.

    Returns run ids by role; the "pending" run is held by a process (`stop_pending` ends it).
    """
    ids = {}
    base = tnb.init("vision", "baseline", config={"lr": 0.1, "batch": 32, "seed": 0, "opt": {"name": "sgd"}}, dir=root)
    for step in range(50):
        base.log({"loss": 2.0 - 0.02 * step, "acc": 0.01 * step})
    base.alert("warmup done", "lr reached 0.1", level=tnb.AlertLevel.INFO, data={"reason": "custom", "lr": 0.1})
    base.finish()
    ids["baseline"] = base.id
    wide = tnb.init("vision", "wide", config={"lr": 0.1, "batch": 64, "seed": 0, "opt": {"name": "adam"}}, dir=root)
    for step in range(50):
        wide.log({"loss": 1.5 - 0.02 * step, "acc": 0.015 * step})
    wide.finish()
    ids["wide"] = wide.id
    hot = tnb.init("vision", "wide", config={"lr": 0.3, "batch": 64, "seed": 0, "opt": {"name": "adam"}}, dir=root)
    hot.watch("loss", nan=True)
    for step in range(31):
        hot.log({"loss": 1.0 - 0.01 * step if step < 30 else float("nan"), "acc": 0.02 * step})
    hot.finish(status="failed")
    ids["hot"] = hot.id
    proc, ids["pending"] = start_pending(root, "vision", "pending")
    return ids, proc


PENDING = """
import sys, trackio_nb as tnb
run = tnb.init(sys.argv[1], sys.argv[2], config={"lr": 0.1, "batch": 32, "seed": 0, "opt": {"name": "sgd"}})
print(run.id, flush=True)
sys.stdin.read()
run.finish()
"""


def start_pending(root: Path, project: str, name: str) -> tuple[subprocess.Popen, str]:
    """A real process holding a run that never logs and stays `running` until `stop_pending`."""
    env = {**os.environ, "TRACKIO_NB_DIR": str(root)}
    proc = subprocess.Popen(
        [sys.executable, "-c", PENDING, project, name],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    run_id = proc.stdout.readline().strip()
    if len(run_id) != 12:
        proc.kill()
        raise RuntimeError(f"the pending-run process printed {run_id!r}")
    return proc, run_id


def stop_pending(proc: subprocess.Popen) -> None:
    proc.stdin.close()
    proc.wait(timeout=30)


@contextlib.contextmanager
def data_dir_env(root: Path) -> Iterator[None]:
    """TRACKIO_NB_DIR pointing at `root` for a block (module-scoped fixtures)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRACKIO_NB_DIR", str(root))
        mp.delenv("TRACKIO_NB_SERVER", raising=False)
        yield
