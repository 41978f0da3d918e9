"""CLI start-up and query benchmark: whole-process wall time, trackio_nb vs trackio 0.43.

    python benchmarks/bench_cli.py [--quick] [--repeats N]

For each command, the median over N runs (default 11) of the wall time of a fresh process,
measured in the same run for both tools on the same projects (benchmarks/datasets.py:
small = 20 runs x 10 metrics x 1,000 steps, large = 100 x 20 x 5,000).

trackio has no summary/compare commands; its fastest route to the same numbers (last value
of every metric of every run) is one hand-written `trackio query project --sql` (below).
Its per-run `get` route (one process per run and metric) takes minutes at these shapes
and is not re-measured here.

Both packages run from compiled bytecode (`compileall` first: pip does this on install;
this machine sets PYTHONDONTWRITEBYTECODE, which would otherwise make our editable
install recompile its sources on every start). --quick skips the large shape.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from datasets import PROJECT, tnb_dir, trackio_dir  # noqa: E402
from peers import trackio_python  # noqa: E402

TARGETS = {"--help": 0.10, "summary --json": 0.25, "compare --json": 0.25}

# The last value of every metric of every run, in one statement over trackio's metrics table.
TRACKIO_LAST_VALUES_SQL = (
    "SELECT m.run_name, m.step, m.metrics FROM metrics m JOIN "
    "(SELECT run_name, MAX(step) AS s FROM metrics GROUP BY run_name) l "
    "ON m.run_name = l.run_name AND m.step = l.s"
)


def tnb_command() -> list[str]:
    """The installed console script next to this interpreter, else `python -m trackio_nb`."""
    script = Path(sys.executable).parent / "trackio-nb"
    return [str(script)] if script.exists() else [sys.executable, "-m", "trackio_nb"]


def trackio_command() -> list[str]:
    return [str(Path(trackio_python()).parent / "trackio")]


def wall(argv: list[str], env: dict[str, str], repeats: int, check=None) -> tuple[float, float]:
    """Median wall time and median CPU time (user + sys) of `argv` as a fresh process.

    The first run is a warm-up whose output is checked."""
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr[-2000:]}")
    if check is not None:
        check(done.stdout)
    times, cpus = [], []
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(times), statistics.median(cpus)


def check_summary(runs: int, metrics: int):
    def check(out: str) -> None:
        doc = json.loads(out)
        assert doc["num_runs"] == runs and len(doc["metrics"]) == metrics, (doc["num_runs"], doc["metrics"])

    return check


def check_compare(runs: int, metrics: int):
    def check(out: str) -> None:
        doc = json.loads(out)
        assert len(doc["runs"]) == runs and len(doc["metrics"]) == metrics

    return check


def check_trackio_query(runs: int):
    def check(out: str) -> None:
        doc = json.loads(out)
        rows = doc.get("rows", doc if isinstance(doc, list) else [])
        assert len(rows) == runs, f"trackio query returned {len(rows)} rows, expected {runs}"

    return check


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small shape only")
    parser.add_argument("--repeats", type=int, default=11)
    args = parser.parse_args()
    compileall.compile_dir(str(REPO / "trackio_nb"), quiet=1)
    tnb, peer = tnb_command(), trackio_command()
    base = {k: v for k, v in os.environ.items() if k not in ("TRACKIO_NB_SERVER", "TRACKIO_NB_TOKEN")}
    base["COLUMNS"] = "100"
    rows: list[tuple[str, str, tuple[float, float], tuple[float, float]]] = []

    floor_python = wall([sys.executable, "-c", "pass"], base, args.repeats)
    floor_polars = wall([sys.executable, "-c", "import polars"], base, args.repeats)
    rows.append(
        ("--help", "-", wall([*tnb, "--help"], base, args.repeats), wall([*peer, "--help"], base, args.repeats))
    )

    shapes = ["small"] if args.quick else ["small", "large"]
    from datasets import SHAPES

    for shape in shapes:
        n_runs, n_metrics, _ = SHAPES[shape]
        env_tnb = {**base, "TRACKIO_NB_DIR": str(tnb_dir(shape))}
        env_peer = {**base, "TRACKIO_DIR": str(trackio_dir(shape))}
        peer_query = wall(
            [*peer, "query", "project", "--project", PROJECT, "--sql", TRACKIO_LAST_VALUES_SQL, "--json"],
            env_peer,
            args.repeats,
            check_trackio_query(n_runs),
        )
        summary = wall(
            [*tnb, "summary", "--project", PROJECT, "--json"], env_tnb, args.repeats, check_summary(n_runs, n_metrics)
        )
        compare = wall(
            [*tnb, "compare", "--project", PROJECT, "--json"], env_tnb, args.repeats, check_compare(n_runs, n_metrics)
        )
        rows.append(("summary --json", shape, summary, peer_query))
        rows.append(("compare --json", shape, compare, peer_query))

    load = os.getloadavg()[0]
    print(
        f"\nwhole process, median of {args.repeats}; wall time (CPU time user+sys); load average {load:.1f} on {os.cpu_count()} cores"
    )
    print(
        f"floors: python -c pass {floor_python[0]:.3f}s ({floor_python[1]:.3f}s), "
        f"python -c 'import polars' {floor_polars[0]:.3f}s ({floor_polars[1]:.3f}s)"
    )
    print(f"{'command':<16} {'shape':<6} {'trackio_nb':>18} {'trackio 0.43':>18} {'ratio':>6} {'target':>7}  met")
    for command, shape, ours, theirs in rows:
        target = TARGETS[command]
        print(
            f"{command:<16} {shape:<6} {ours[0]:>8.3f}s ({ours[1]:.3f}s) {theirs[0]:>8.3f}s ({theirs[1]:.3f}s) "
            f"{theirs[0] / ours[0]:>5.1f}x {target:>6.2f}s  {'yes' if ours[0] <= target else 'NO'}"
        )
    print(
        "(ratio = trackio wall time / trackio_nb wall time; trackio's summary/compare route is one `query project --sql`)"
    )


if __name__ == "__main__":
    main()
