"""The benchmark projects, built identically in trackio_nb and in trackio 0.43.

Shapes: "small" = 20 runs x 10 metrics x 1,000 steps, "large" = 100 runs x 20 metrics x
5,000 steps. Values are deterministic (metric m of run r at step s), so both trackers hold
the same numbers. Built once per machine under benchmarks/.data/ and reused.
"""

from __future__ import annotations

import math
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / ".data"
SHAPES = {"small": (20, 10, 1000), "large": (100, 20, 5000)}
PROJECT = "bench"


def value(run: int, metric: int, step: int) -> float:
    """The value both trackers store for (run, metric, step)."""
    return (metric + 1) * math.exp(-step / (200.0 + 10 * run)) + 0.001 * ((step * 7919 + run * 31 + metric) % 97)


def tnb_dir(shape: str) -> Path:
    """A TRACKIO_NB_DIR holding project 'bench' of this shape (built on first use)."""
    root = DATA / f"tnb-{shape}"
    marker = root / ".complete"
    if marker.exists():
        return root
    shutil.rmtree(root, ignore_errors=True)
    import trackio_nb as tnb

    runs, metrics, steps = SHAPES[shape]
    names = [f"metric_{m}" for m in range(metrics)]
    print(f"building trackio_nb {shape} project ...", file=sys.stderr)
    for r in range(runs):
        run = tnb.init(PROJECT, f"run-{r}", config={"lr": 10 ** -(1 + r % 4), "seed": r}, dir=root)
        for s in range(steps):
            run.log({names[m]: value(r, m, s) for m in range(metrics)})
        run.finish()
    marker.touch()
    return root


TRACKIO_BUILD = """
import sys, math
from datetime import datetime, timezone
from trackio.sqlite_storage import SQLiteStorage
sys.path.insert(0, {here!r})
from datasets import value
runs, metrics, steps = {shape!r}
stamp = datetime.now(timezone.utc).isoformat()
for r in range(runs):
    rows = [{{f"metric_{{m}}": value(r, m, s) for m in range(metrics)}} for s in range(steps)]
    for start in range(0, steps, 1000):
        SQLiteStorage.bulk_log("{project}", f"run-{{r}}", rows[start:start + 1000],
                               steps=list(range(start, min(steps, start + 1000))),
                               timestamps=[stamp] * len(rows[start:start + 1000]),
                               config={{"lr": 10 ** -(1 + r % 4), "seed": r}})
"""


def trackio_dir(shape: str) -> Path:
    """A TRACKIO_DIR holding project 'bench' of this shape, written with trackio's own storage."""
    from peers import run_in_trackio

    root = DATA / f"trackio-{shape}"
    marker = root / ".complete"
    if marker.exists():
        return root
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    print(f"building trackio {shape} project ...", file=sys.stderr)
    code = TRACKIO_BUILD.format(here=str(HERE), shape=SHAPES[shape], project=PROJECT)
    run_in_trackio(code, env={"TRACKIO_DIR": str(root)}, timeout=3600)
    marker.touch()
    return root
