"""A short demo on the embedded default (local SQLite): three runs, one watched, a summary."""

from __future__ import annotations

import math
import random

import trackio_nb as tnb

PROJECT = "demo"


def train(lr: float, steps: int = 200, seed: int = 0) -> str:
    rng = random.Random(seed)
    run = tnb.init(PROJECT, config={"lr": lr, "steps": steps})
    tnb.watch("loss", nan=True, max_value=50.0, spike_factor=4.0, window=10)
    loss = 2.0
    for step in range(steps):
        loss = loss * (1 - lr) + rng.gauss(0, 0.01) if lr < 0.5 else loss * (1 + lr / 4)
        tnb.log({"loss": loss, "accuracy": 1 - math.exp(-step * lr)})
        if tnb.should_stop():
            tnb.finish("failed")
            return run.name
    tnb.finish()
    return run.name


def main() -> None:
    for lr in (0.01, 0.05, 0.9):
        train(lr)
    api = tnb.Api()
    for view in api.runs(PROJECT)[-3:]:
        final = view.final_metrics()
        print(f"{view.name:24} {view.status:9} lr={view.config['lr']:<5} loss={final.get('loss', float('nan')):.4g}")
    print(f"alerts: {len(api.alerts(PROJECT))}; data in {tnb.Api().projects()}")


if __name__ == "__main__":
    main()
