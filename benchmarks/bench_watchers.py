"""What a watched metric adds to `log()`: medians of log() with 0 and N watched metrics.

    python benchmarks/bench_watchers.py [--calls 2000] [--repeats 15]

Each case logs dicts of M metrics through the production path (init -> watch -> run.log),
alternating blocks of calls with the run's watchers detached and attached; each call is
timed on its own and the figure is the median over all calls of a side (the background
writer's turns holding the GIL land in the tail, not the median); the clock's own cost is
on both sides and cancels in the differences. Values stay inside every rule, so no alert fires and the
figures are the cost of checking. Target: <= 1 us per watched metric per call, and no cost
that grows with the number of unwatched metrics.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import trackio_nb as tnb
from trackio_nb.watchers import WatcherSet

ALL_RULES = {"nan": True, "max_value": 1e9, "min_value": -1e9, "spike_factor": 3.0, "window": 5, "patience": 10**9}
NAN_ONLY = {"nan": True}


def time_log(n_metrics: int, watched: int, rules: dict, calls: int, repeats: int) -> tuple[float, float]:
    """Median seconds per run.log() of `n_metrics` values, without and with `watched` of them watched.

    One run, watchers registered through `run.watch`; blocks of calls alternate between the
    run with its watchers detached and attached, so machine load hits both sides alike.
    """
    run = tnb.init("bench-watchers")
    for i in range(watched):
        run.watch(f"m{i}", **rules)
    attached = run._watchers
    clock = time.perf_counter_ns
    samples: dict[bool, list[int]] = {False: [], True: []}
    step = 0
    for _ in range(repeats):
        for watching in (False, True):
            run._watchers = attached if watching else None
            batch = [{f"m{i}": 1.0 + 0.001 * ((step + k + i) % 7) for i in range(n_metrics)} for k in range(calls)]
            out = samples[watching]
            for metrics in batch:
                start = clock()
                run.log(metrics)
                out.append(clock() - start)
            step += calls
            run.flush()
    run._watchers = attached
    tnb.finish()
    assert not run.should_stop(), "a rule fired: the benchmark must measure checks only"
    return statistics.median(samples[False]) / 1e9, statistics.median(samples[True]) / 1e9


def time_check(watched: int, rules: dict, calls: int, repeats: int) -> float:
    """Median seconds per WatcherSet.check() alone, each call timed, the clock's own cost subtracted."""
    watchers = WatcherSet()
    for i in range(watched):
        watchers.add(f"m{i}", **rules)
    numbers = {f"m{i}": 1.0 + 0.001 * (i % 7) for i in range(20)}
    check = watchers.check
    clock = time.perf_counter_ns
    samples = []
    for step in range(calls * repeats):
        start = clock()
        check(numbers, step)
        samples.append(clock() - start)
    empty = []
    for _ in range(calls * repeats):
        start = clock()
        empty.append(clock() - start)
    return (statistics.median(samples) - statistics.median(empty)) / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    os.environ["TRACKIO_NB_DIR"] = tempfile.mkdtemp(prefix="bench-watchers-")
    calls, repeats = args.calls, args.repeats
    us = 1e6

    print(f"machine load average (1, 5, 15 min): {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"log() of 20 metrics, {2 * calls} calls x {repeats} repeats; medians in microseconds per call")
    for name, rules in (("nan only", NAN_ONLY), ("all built-in rules", ALL_RULES)):
        for watched in (1, 5, 20):
            without, with_watchers = time_log(20, watched, rules, calls, repeats)
            per = (with_watchers - without) / watched
            print(
                f"  {watched:2d} watched ({name:18s}) 0 watched {without * us:7.3f}, watched {with_watchers * us:7.3f}"
                f"   +{per * us:.3f} us per watched metric"
            )

    print("unwatched metrics cost nothing: 1 watched metric (all rules) in calls of 2 vs 100 metrics")
    for n in (2, 100):
        without, with_one = time_log(n, 1, ALL_RULES, calls, repeats)
        print(
            f"  {n:3d} metrics: 0 watched {without * us:7.3f}, 1 watched {with_one * us:7.3f}, "
            f"added {(with_one - without) * us:.3f} us"
        )

    print("WatcherSet.check() alone (what the rules cost without log() around them)")
    for name, rules in (("nan only", NAN_ONLY), ("all built-in rules", ALL_RULES)):
        for watched in (1, 20):
            t = time_check(watched, rules, calls, repeats)
            print(f"  {watched:2d} watched ({name:18s}) {t * us:8.3f}   {t / watched * us:.3f} us per watched metric")


if __name__ == "__main__":
    main()
