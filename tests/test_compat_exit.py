"""How a run left open ends when the interpreter ends (Run.finish_at_exit, session's exit hook).

Runs opened through compat finish at a clean exit, as trackio and wandb do; an uncaught
exception or SIGTERM fails them; runs opened with trackio_nb.init keep trackio_nb's rule.
"""

from __future__ import annotations

import pytest

import trackio_nb as tnb
from tests.conftest import run_python

OPEN = {
    "compat": "import trackio_nb.compat.trackio as T\nT.init('exits', name='r', embed=False)\nT.log({'loss': 1.0})\n",
    "core": "import trackio_nb as T\nT.init('exits', name='r')\nT.log({'loss': 1.0})\n",
}
ENDINGS = {
    "clean": "",
    "exception": "raise RuntimeError('boom')\n",
    "sigterm": "import os, signal\nos.kill(os.getpid(), signal.SIGTERM)\n",
    "sys_exit_3": "import sys\nsys.exit(3)\n",
}


@pytest.mark.parametrize(
    ("opened", "ending", "status"),
    [
        ("compat", "clean", "finished"),
        ("compat", "exception", "failed"),
        ("compat", "sigterm", "failed"),
        ("compat", "sys_exit_3", "finished"),  # atexit hooks get no exit code (docs/compat.md)
        ("core", "clean", "failed"),
    ],
)
def test_status_at_exit(opened, ending, status, data_dir):
    done = run_python(OPEN[opened] + ENDINGS[ending], data_dir)
    assert done.returncode == {"clean": 0, "exception": 1, "sigterm": -15, "sys_exit_3": 3}[ending], done.stderr
    [run] = tnb.Api().runs("exits")
    assert (run.status, run.final_metrics()) == (status, {"loss": 1.0})
