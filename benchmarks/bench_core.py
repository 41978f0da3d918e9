"""Core benchmark: log() cost, finish(), queries and database size, trackio_nb vs trackio 0.43.

    python benchmarks/bench_core.py [--quick]

Every figure is a median over repeats, measured in the same run for both trackers.
--quick skips the large query shape (100 runs x 20 metrics x 5,000 steps).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from datasets import PROJECT, tnb_dir, trackio_dir  # noqa: E402
from peers import run_in_trackio, trackio_python  # noqa: E402

N_LOGS, N_METRICS = 20_000, 10

LOG_SCRIPT = """
import json, os, sqlite3, sys, time, contextlib, io
names = [f"metric_{{i}}" for i in range(%(m)d)]
n = %(n)d
quiet = io.StringIO()
with contextlib.redirect_stdout(quiet):
    import {module} as T
    T.init(project="logbench", name="r")
clock = time.perf_counter_ns


def loop(log):
    # A training loop builds each step's dict fresh (so it is hot in cache when logged);
    # only the log() call is timed.
    lat = []
    for i in range(n):
        row = {{name: (i + 1) * 0.5 + j for j, name in enumerate(names)}}
        t0 = clock()
        log(row)
        lat.append(clock() - t0)
    return lat


cpu0 = time.process_time()
floor = sorted(loop(lambda row: None))  # the same loop without logging: its CPU is subtracted below
baseline = time.process_time() - cpu0
cpu0 = time.process_time()
lat = loop(T.log)
t0 = time.perf_counter()
with contextlib.redirect_stdout(quiet):
    T.finish()
finish_s = time.perf_counter() - t0
cpu = time.process_time() - cpu0 - baseline
{count}
lat.sort()
print(json.dumps({{"floor_us": floor[len(floor) // 2] / 1000, "median_us": lat[len(lat) // 2] / 1000, "p99_us": lat[int(len(lat) * 0.99)] / 1000,
                  "cpu_us": cpu / n * 1e6, "finish_s": finish_s, "stored": stored}}))
"""
COUNT_TNB = """
import trackio_nb as tnb
view = tnb.Api().runs("logbench")[0]
h = view.history()
stored = int(sum(h[c].count() for c in h.columns[2:]))
"""
COUNT_TRACKIO = """
from trackio.sqlite_storage import SQLiteStorage
import orjson
conn = sqlite3.connect(SQLiteStorage.get_project_db_path("logbench"))
stored = sum(len(orjson.loads(m)) for (m,) in conn.execute("SELECT metrics FROM metrics"))
"""


def _log_once(python: str, module: str, count: str) -> dict:
    script = (LOG_SCRIPT % {"n": N_LOGS, "m": N_METRICS}).format(module=module, count=count.strip())
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "TRACKIO_NB_DIR": tmp, "TRACKIO_DIR": tmp}
        out = subprocess.run([python, "-c", script], env=env, capture_output=True, text=True, timeout=600)
    if out.returncode:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_logging(repeats: int) -> dict:
    results = {}
    for label, python, module, count in (
        ("trackio_nb", sys.executable, "trackio_nb", COUNT_TNB),
        ("trackio", str(trackio_python()), "trackio", COUNT_TRACKIO),
    ):
        runs = [_log_once(python, module, count) for _ in range(repeats)]
        results[label] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    return results


def _median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench_queries_tnb(shape: str, repeats: int) -> dict:
    from trackio_nb.readers import LocalReader

    root = tnb_dir(shape)
    reader = LocalReader(root)
    first_run = reader.runs(PROJECT)["id"][0]
    final = reader.final_values(PROJECT)

    def best():
        df = reader.final_values(PROJECT, metrics=["metric_0"], mode="min")
        return df.sort("value").row(0)

    out = {
        "final_all_s": _median_time(lambda: reader.final_values(PROJECT), repeats),
        "best_s": _median_time(best, repeats),
        "history_s": _median_time(lambda: reader.history(PROJECT, first_run, ["metric_0"]), repeats),
        "final_rows": final.height,
    }
    reader.close()
    db = root / f"{PROJECT}.db"
    import sqlite3

    sqlite3.connect(db).execute("PRAGMA wal_checkpoint(TRUNCATE)")
    out["db_mb"] = db.stat().st_size / 1e6
    return out


TRACKIO_QUERIES = """
import json, statistics, time, os, sqlite3
from trackio.sqlite_storage import SQLiteStorage as S
P = "bench"
runs = S.get_runs(P)
metrics = [f"metric_{{i}}" for i in range({metrics})]
def final_all():
    return {{(r, m): S.get_metric_values(P, r, m)[-1]["value"] for r in runs for m in metrics}}
def best():
    vals = {{r: min(v["value"] for v in S.get_metric_values(P, r, "metric_0")) for r in runs}}
    return min(vals, key=vals.get)
def history():
    return S.get_metric_values(P, runs[0], "metric_0")
def timed(fn, n):
    ts = []
    for _ in range(n):
        t = time.perf_counter(); fn(); ts.append(time.perf_counter() - t)
    return statistics.median(ts)
out = {{"final_all_s": timed(final_all, {slow}), "best_s": timed(best, {slow}), "history_s": timed(history, {repeats}),
       "final_rows": len(final_all())}}
db = S.get_project_db_path(P)
sqlite3.connect(db).execute("PRAGMA wal_checkpoint(TRUNCATE)")
out["db_mb"] = os.path.getsize(db) / 1e6
print(json.dumps(out))
"""


def bench_queries_trackio(shape: str, repeats: int, slow_repeats: int) -> dict:
    from datasets import SHAPES

    root = trackio_dir(shape)
    code = TRACKIO_QUERIES.format(metrics=SHAPES[shape][1], slow=slow_repeats, repeats=repeats)
    return json.loads(run_in_trackio(code, env={"TRACKIO_DIR": str(root)}).strip().splitlines()[-1])


def bench_import(repeats: int) -> dict:
    def once(python: str, module: str) -> float:
        out = subprocess.run(
            [python, "-c", f"import time; t=time.perf_counter(); import {module}; print(time.perf_counter()-t)"],
            capture_output=True,
            text=True,
            check=True,
        )
        return float(out.stdout.strip().splitlines()[-1])

    # `import trackio_nb` alone loads almost nothing (names resolve lazily); a training
    # script then touches init, which loads the run machinery: both are reported.
    return {
        "trackio_nb": statistics.median(once(sys.executable, "trackio_nb") for _ in range(repeats)),
        "trackio_nb_init": statistics.median(
            once(sys.executable, "trackio_nb; trackio_nb.init") for _ in range(repeats)
        ),
        "trackio": statistics.median(once(str(trackio_python()), "trackio") for _ in range(repeats)),
    }


def _row(label: str, ours: float, theirs: float, unit: str, scale: float = 1.0) -> str:
    ratio = theirs / ours if ours else float("inf")
    return f"  {label:<44} {ours * scale:>12.3f} {theirs * scale:>12.3f} {unit:<4} {ratio:>8.1f}x"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="skip the large query shape")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    header = f"  {'figure (median)':<44} {'trackio_nb':>12} {'trackio':>12} {'':<4} {'faster':>9}"

    print(f"\nimport ({args.repeats} processes each)")
    print(header)
    imp = bench_import(args.repeats)
    print(_row("import trackio_nb", imp["trackio_nb"], imp["trackio"], "s"))
    print(_row("import trackio_nb + resolve trackio_nb.init", imp["trackio_nb_init"], imp["trackio"], "s"))

    print(f"\nlogging: {N_LOGS:,} log() calls of {N_METRICS} floats ({args.repeats // 2 + 1} processes each)")
    print(header)
    log = bench_logging(args.repeats // 2 + 1)
    ours, theirs = log["trackio_nb"], log["trackio"]
    print(_row("timed call of an empty function (machine speed)", ours["floor_us"], theirs["floor_us"], "us"))
    print(_row("log() in the calling thread, median", ours["median_us"], theirs["median_us"], "us"))
    print(_row("log() in the calling thread, p99", ours["p99_us"], theirs["p99_us"], "us"))
    print(_row("process CPU per log() (writer incl., loop excl.)", ours["cpu_us"], theirs["cpu_us"], "us"))
    print(_row("finish() after the loop", ours["finish_s"], theirs["finish_s"], "s"))
    print(f"  values stored: trackio_nb {ours['stored']:,} / trackio {theirs['stored']:,} of {N_LOGS * N_METRICS:,}")

    for shape in ("small",) if args.quick else ("small", "large"):
        print(f"\nqueries, {shape} shape")
        print(header)
        q_ours = bench_queries_tnb(shape, args.repeats)
        q_theirs = bench_queries_trackio(shape, args.repeats, 1 if shape == "large" else 3)
        print(
            _row("final value of every metric of every run", q_ours["final_all_s"], q_theirs["final_all_s"], "ms", 1e3)
        )
        print(_row("best run by one metric (min)", q_ours["best_s"], q_theirs["best_s"], "ms", 1e3))
        print(_row("history of one metric of one run", q_ours["history_s"], q_theirs["history_s"], "ms", 1e3))
        print(_row("database size (smaller is better)", q_ours["db_mb"], q_theirs["db_mb"], "MB"))
        print(f"  (run x metric values returned: trackio_nb {q_ours['final_rows']}, trackio {q_theirs['final_rows']})")


if __name__ == "__main__":
    main()
