"""What the compat layer costs: log() through trackio_nb.compat.trackio / .wandb vs trackio_nb itself,
and vs trackio 0.43 running the same program.

    python benchmarks/bench_compat.py [--repeats 3]

The workload is bench_core's (20,000 log() calls of 10 floats, only the call timed); every
figure is a median over processes, measured in the same run for all four.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_core import COUNT_TNB, COUNT_TRACKIO, N_LOGS, N_METRICS, _log_once  # noqa: E402
from peers import trackio_python  # noqa: E402

TRACKERS = (
    ("trackio_nb", "trackio_nb"),
    ("compat.trackio", "trackio_nb.compat.trackio"),
    ("compat.wandb", "trackio_nb.compat.wandb"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    results = {}
    for label, module in TRACKERS:
        runs = [_log_once(sys.executable, module, COUNT_TNB) for _ in range(args.repeats)]
        results[label] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    runs = [_log_once(str(trackio_python()), "trackio", COUNT_TRACKIO) for _ in range(args.repeats)]
    results["trackio 0.43"] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}

    print(f"\nlog(): {N_LOGS:,} calls of {N_METRICS} floats, median of {args.repeats} processes each")
    print(f"  {'tracker':<16} {'call median':>12} {'call p99':>10} {'CPU/log':>9} {'finish':>8} {'stored':>10}")
    base = results["trackio_nb"]["median_us"]
    for label, r in results.items():
        print(
            f"  {label:<16} {r['median_us']:>10.2f}us {r['p99_us']:>8.2f}us {r['cpu_us']:>7.2f}us"
            f" {r['finish_s']:>7.3f}s {int(r['stored']):>10,}   x{r['median_us'] / base:.2f} of trackio_nb"
        )


if __name__ == "__main__":
    main()
