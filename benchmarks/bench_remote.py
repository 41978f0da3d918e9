"""Remote mode benchmark: one server's ingest rate from concurrent clients, and log() cost.

    python benchmarks/bench_remote.py [--clients 8] [--steps 20000] [--metrics 10] [--repeat 3]
    python benchmarks/bench_remote.py --db postgres [--clients 8] [--steps 20000] [--repeat 3]

Prints medians over `--repeat` rounds:
- ingest: values/s a server on loopback stores from N client processes logging at once
  (wall time from the clients' start until every value is stored, checked exactly);
- log(): microseconds per call in the calling thread, remote vs local, and their ratio.
Targets (issue 7): >= 200,000 values/s ingested; remote log() as cheap as local.

With `--db postgres` (a throwaway PostgreSQL cluster from Debian's binaries, as the tests
start it): ingest side by side for the SQLite server, one replica and two replicas on one
PostgreSQL database (clients split between replicas); the same three servers fed by a
load generator replaying pre-encoded batches (bench_replay.py: what a server ingests when
it does not share its CPU with 8 training processes); then the final-values query over
100 runs x 20 metrics x 5,000 steps through each server, and the read path measured both
ways (psycopg binary rows vs ADBC Arrow). Targets (issue 16): >= 1 M values/s with two
replicas; final values <= 50 ms through the server.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.remote_support import TOKEN, ServerProcess

CLIENT = textwrap.dedent(
    """
    import sys, trackio_nb as tnb
    steps, metrics = int(sys.argv[1]), int(sys.argv[2])
    names = [f"m{i}" for i in range(metrics)]
    run = tnb.init("bench", name=sys.argv[3])
    for step in range(steps):
        tnb.log({name: step + i / 10 for i, name in enumerate(names)})
    tnb.finish()
    """
)


_CHECKS = (
    "SELECT sum(n) FROM chunks",
    "SELECT count(*), min(count), max(count) FROM summaries",
    "SELECT min(applied_at), max(applied_at) FROM applied_batches",
)


def ingest_round(
    root: Path, clients: int, steps: int, metrics: int, database: str | None = None, replicas: int = 1
) -> tuple[float, float]:
    """(seconds from starting `clients` processes until every value is stored,
    seconds from the server applying the first write batch to applying the last).

    With `database` (a PostgreSQL URL), `replicas` servers share it; client i talks to replica i % replicas.
    """
    servers = [ServerProcess(root / f"server{r}", database=database).start() for r in range(replicas)]
    try:
        start = time.perf_counter()
        procs = []
        for i in range(clients):
            env = {**os.environ, "TRACKIO_NB_DIR": str(root / "client"), "TRACKIO_NB_SERVER": servers[i % replicas].url}
            env["TRACKIO_NB_TOKEN"] = TOKEN
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-c", CLIENT, str(steps), str(metrics), f"c{i}"], env=env, stderr=subprocess.PIPE
                )
            )
        for proc in procs:
            _, err = proc.communicate(600)
            if proc.returncode != 0:
                raise RuntimeError(err.decode())
        elapsed = time.perf_counter() - start
        if database is None:
            with servers[0].db("bench") as conn:
                stored, counts, (first, last) = (tuple(conn.execute(q).fetchone()) for q in _CHECKS)
        else:
            import psycopg

            with psycopg.connect(database) as conn:
                stored, counts, (first, last) = (tuple(conn.execute(q).fetchone()) for q in _CHECKS)
        if stored != (clients * steps * metrics,) or counts != (clients * metrics, steps, steps):
            raise RuntimeError(f"lost or duplicated values: stored {stored}, summaries {counts}")
        return elapsed, last - first
    finally:
        for server in servers:
            server.stop()


def log_cost(root: Path, server_url: str | None, calls: int, metrics: int) -> float:
    """Median microseconds per log() call over 5 blocks of `calls` calls, in this thread."""
    code = textwrap.dedent(
        f"""
        import time, statistics, trackio_nb as tnb
        names = [f"m{{i}}" for i in range({metrics})]
        run = tnb.init("cost")
        rows = [{{name: s + i / 10 for i, name in enumerate(names)}} for s in range({calls})]
        blocks = []
        for _ in range(5):
            start = time.perf_counter()
            for row in rows:
                tnb.log(row)
            blocks.append((time.perf_counter() - start) / {calls} * 1e6)
        tnb.finish()
        print(statistics.median(blocks))
        """
    )
    env = {**os.environ, "TRACKIO_NB_DIR": str(root)}
    env.pop("TRACKIO_NB_SERVER", None)
    if server_url:
        env.update(TRACKIO_NB_SERVER=server_url, TRACKIO_NB_TOKEN=TOKEN)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(done.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--metrics", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args()
    if args.db == "postgres":
        from bench_postgres import main as postgres_main

        postgres_main(args)
        return
    values = args.clients * args.steps * args.metrics
    walls, windows = [], []
    for i in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            wall, window = ingest_round(Path(tmp), args.clients, args.steps, args.metrics)
        walls.append(wall)
        windows.append(window)
        print(f"  round {i + 1}: wall {wall:.2f} s, server window {window:.2f} s", flush=True)
    wall, window = statistics.median(walls), statistics.median(windows)
    print(f"ingest: {args.clients} clients x {args.steps} steps x {args.metrics} metrics = {values:,} values")
    print(f"  wall (client start-up included) median {wall:.2f} s -> {values / wall:,.0f} values/s")
    print(
        f"  server (first to last batch) median {window:.2f} s -> {values / window:,.0f} values/s (target >= 200,000)"
    )
    print("  every value stored exactly once")

    local, remote = [], []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            local.append(log_cost(Path(tmp) / "local", None, 20_000, args.metrics))
            server = ServerProcess(Path(tmp) / "server").start()
            try:
                remote.append(log_cost(Path(tmp) / "client", server.url, 20_000, args.metrics))
            finally:
                server.stop()
    lm, rm = statistics.median(local), statistics.median(remote)
    print(f"log() in the calling thread, {args.metrics} metrics: local {lm:.2f} us, remote {rm:.2f} us")
    print(f"remote/local ratio: {rm / lm:.2f} (target ~1.0)")


if __name__ == "__main__":
    main()
