"""A simulated training run whose only safety logic is trackio_nb watchers.

    python examples/autonomous/simulate_training.py --project P --name N --lr 0.1 --steps 200

The loss depends on the learning rate: near 0.1 it converges lowest; from --diverge-lr on
it grows until the max_value watcher stops the run; from --overflow-lr on it overflows
to NaN and the NaN watcher stops it. --nan-at-step and --spike-at-step inject a NaN or a
spike at that step (0 included); --plateau-at-step flattens the validation loss there so
the patience watcher stops the run early.

Exit codes (the status stored matches):
  0  finished all steps                    status finished
  3  stopped: NaN/Inf or max_value         status failed
  4  stopped early: no improvement         status finished (early stopping is a result)
  5  stopped by an outside stop request    status failed
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time

import trackio_nb as tnb

EXIT_FINISHED, EXIT_DIVERGED, EXIT_PLATEAU, EXIT_STOPPED = 0, 3, 4, 5


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--project", required=True)
    p.add_argument("--name", default=None)
    p.add_argument("--group", default=None, help="the sweep this run belongs to")
    p.add_argument("--lr", type=float, required=True)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--sleep", type=float, default=0.0, help="seconds per step (for live monitoring)")
    p.add_argument("--diverge-lr", type=float, default=0.8)
    p.add_argument("--overflow-lr", type=float, default=2.0)
    p.add_argument("--max-loss", type=float, default=20.0)
    p.add_argument("--patience", type=int, default=30)
    p.add_argument("--nan-at-step", type=int, default=None)
    p.add_argument("--spike-at-step", type=int, default=None)
    p.add_argument("--plateau-at-step", type=int, default=None)
    p.add_argument("--stderr-bytes", type=int, default=0, help="write this much noise to stderr (pipe tests)")
    args = p.parse_args(argv)
    if args.steps < 1:
        p.error("--steps must be >= 1")
    if args.lr <= 0:
        p.error("--lr must be > 0")
    return args


def train_loss(step: int, lr: float, args: argparse.Namespace, rng: random.Random) -> float:
    """The simulated training loss at `step`."""
    if lr >= args.overflow_lr and step >= 2:
        return math.inf - math.inf  # the update overflowed: NaN from here on, as in real training
    if lr >= args.diverge_lr:
        return 2.0 * (1.0 + lr) ** step
    floor = 0.05 + 0.3 * abs(math.log10(lr / 0.1))
    return floor + 2.0 * math.exp(-step * lr / 2.0) + rng.gauss(0.0, 0.005)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.stderr_bytes:
        sys.stderr.write("x" * args.stderr_bytes + "\n")
        sys.stderr.flush()
    rng = random.Random(args.seed)
    run = tnb.init(
        args.project, args.name, group=args.group, config={"lr": args.lr, "steps": args.steps, "seed": args.seed}
    )
    print(f"run_id {run.id}", flush=True)  # the launcher looks the run up by this id, never by its name
    tnb.watch("train/loss", nan=True, max_value=args.max_loss, spike_factor=3.0, window=10)
    tnb.watch("val/loss", nan=True, patience=args.patience, mode="min", min_delta=1e-4)
    best_val = math.inf
    for step in range(args.steps):
        loss = train_loss(step, args.lr, args, rng)
        if args.nan_at_step is not None and step == args.nan_at_step:
            loss = math.nan
        if args.spike_at_step is not None and step == args.spike_at_step:
            loss = loss * 10.0 + 5.0
        val = loss * 1.05 + 0.01
        if args.plateau_at_step is not None and step >= args.plateau_at_step:
            val = best_val  # no further improvement
        best_val = min(best_val, val) if val == val else best_val
        tnb.log({"train/loss": loss, "val/loss": val, "train/accuracy": 1.0 / (1.0 + loss) if loss == loss else 0.0})
        if tnb.should_stop():
            return _stop(run)
        if args.sleep:
            time.sleep(args.sleep)
    tnb.finish()
    return EXIT_FINISHED


def _stop(run: tnb.Run) -> int:
    """End a run a watcher or a stop request halted; the exit code says which."""
    run.flush()
    reasons = {a["data"].get("reason") for a in tnb.Api().run(run.project, run.id).alerts() if a["data"]}
    if reasons & {tnb.AlertReason.NAN_INF, tnb.AlertReason.MAX_EXCEEDED}:
        tnb.finish("failed")
        return EXIT_DIVERGED
    if run.stop_requested:
        tnb.finish("failed")
        return EXIT_STOPPED
    tnb.finish()  # the patience watcher stopped it: early stopping is a result
    return EXIT_PLATEAU


if __name__ == "__main__":
    sys.exit(main())
