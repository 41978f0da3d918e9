"""A tiny training script for notebooks/agent_loop.ipynb: linear regression by SGD in NumPy.

    python train_tiny.py --project agent --name lr-0.05 --lr 0.05 --steps 80

Watchers stop a diverging run (NaN/Inf or loss above 1e3); the run then ends `failed`.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import trackio_nb as tnb


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--project", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--lr", type=float, required=True)
    parser.add_argument("--steps", type=int, default=80)
    parser.add_argument("--sleep", type=float, default=0.02)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 8))
    w_true = rng.normal(size=8)
    y = x @ w_true + 0.1 * rng.normal(size=256)
    w = np.zeros(8)
    tnb.init(args.project, name=args.name, config={"lr": args.lr, "steps": args.steps})
    tnb.watch("loss", nan=True, max_value=1e3)
    for _ in range(args.steps):
        batch = rng.integers(0, 256, size=32)
        err = x[batch] @ w - y[batch]
        w -= args.lr * 2 * x[batch].T @ err / len(batch)
        tnb.log({"loss": float(np.mean(err**2))})
        if tnb.should_stop():
            tnb.finish(status="failed")
            return
        time.sleep(args.sleep)
    tnb.finish()


if __name__ == "__main__":
    main()
