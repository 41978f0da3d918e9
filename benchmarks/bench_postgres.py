"""`bench_remote.py --db postgres`: the tracking server on PostgreSQL next to the SQLite server.

Run through bench_remote.py (it parses the flags). Starts a throwaway PostgreSQL cluster
(Debian's binaries, tests/pg_support.py), then prints medians of:
- ingest values/s from N clients: SQLite server | one PostgreSQL replica | two replicas;
- the same three servers fed by a load generator (bench_replay.py: pre-encoded batches of
  REPLAY_STEPS steps, REPLAY_VOLUME times as many values, from REPLAY_SENDERS light
  processes, the runs split between the replicas as the clients are): what a server
  ingests when the clients' own CPU is not shared with it;
- the final-values query (100 runs x 20 metrics x 5,000 steps) through each server;
- the PostgreSQL read path both ways: psycopg binary rows vs ADBC Arrow (what chose psycopg).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from bench_remote import _CHECKS, ingest_round
from bench_replay import encoded_batches, open_runs, replay

from tests.pg_support import PostgresCluster
from tests.remote_support import TOKEN, ServerProcess

RUNS, METRICS, STEPS, BATCH = 100, 20, 5_000, 1_000
REPLAY_STEPS, REPLAY_SENDERS = 1_000, 4
REPLAY_VOLUME = 5  # the replay sends 5x the clients' values: rounds of seconds, not fractions of one


def _median_ms(fn, repeat: int = 21) -> float:
    fn()  # warm: connections, prepared statements, caches
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _populate(store) -> None:
    """RUNS runs of METRICS metrics x STEPS steps, written through the store's own batch path."""
    from trackio_nb.remote.store import check_batch
    from trackio_nb.remote.wire import encode_logs

    names = [f"metric/{m:02d}" for m in range(METRICS)]
    for r in range(RUNS):
        run_id = f"run{r:09d}"
        base = {"project": "final", "run_id": run_id}
        store.apply(
            check_batch(
                {**base, "id": f"o{r}", "kind": "open", "name": f"r{r}", "config": {}, "resume": "never"}
                | {"created_at": 1000.0 + r}
            )
        )
        for b in range(STEPS // BATCH):
            logs = [
                (s, 1000.0 + s, {n: (r + 1) / (s + 1) + i for i, n in enumerate(names)}, None)
                for s in range(b * BATCH, (b + 1) * BATCH)
            ]
            store.apply(check_batch({**base, "id": f"w{r}-{b}", "kind": "write", "logs": encode_logs(logs)}))
        store.apply(check_batch({**base, "id": f"s{r}", "kind": "status", "status": "finished", "finished_at": 2e3}))


def _final_through(server: ServerProcess) -> float:
    from trackio_nb.remote.client_reader import RemoteReader

    reader = RemoteReader(server.url, TOKEN)
    try:
        assert reader.final_values("final").height == RUNS * METRICS
        return _median_ms(lambda: reader.final_values("final"))
    finally:
        reader.close()


def _read_paths(url: str) -> dict[str, float]:
    """The final-values rows and one run's history chunks, fetched with psycopg (binary) and with ADBC."""
    import adbc_driver_postgresql.dbapi as adbc
    import polars as pl
    import psycopg

    final_sql = (
        "SELECT r.id, m.name, s.last_value, s.last_step FROM summaries s JOIN runs r ON r.key = s.run_key"
        ' JOIN metric_names m ON m.key = s.metric_key WHERE r.project_key = 1 ORDER BY s.run_key, m.name COLLATE "C"'
    )
    chunk_sql = 'SELECT metric_key, steps, timestamps, "values" FROM chunks WHERE run_key = 1 ORDER BY project_key, id'
    schema = {"run_id": pl.String, "metric": pl.String, "value": pl.Float64, "step": pl.Int64}
    out = {}
    with psycopg.connect(url, autocommit=True) as conn:
        out["final psycopg"] = _median_ms(
            lambda: pl.DataFrame(conn.execute(final_sql, binary=True).fetchall(), schema=schema, orient="row")
        )
        out["history psycopg"] = _median_ms(lambda: conn.execute(chunk_sql, binary=True).fetchall())
    with adbc.connect(url) as conn, conn.cursor() as cur:

        def arrow(sql: str):
            cur.execute(sql)
            return pl.from_arrow(cur.fetch_arrow_table())

        out["final ADBC"] = _median_ms(lambda: arrow(final_sql))
        out["history ADBC"] = _median_ms(lambda: arrow(chunk_sql))
    return out


def replay_round(root: Path, runs: list[list[bytes]], values: int, metrics: int, database: str | None, replicas: int):
    """(sender wall seconds, server window seconds) for replaying `runs` through `replicas` servers."""
    servers = [ServerProcess(root / f"server{r}", database=database).start() for r in range(replicas)]
    try:
        open_runs(servers[0].url, "bench", len(runs))
        wall = replay(root, [s.url for s in servers], runs, REPLAY_SENDERS)
        if database is None:
            with servers[0].db("bench") as conn:
                stored, counts, (first, last) = (tuple(conn.execute(q).fetchone()) for q in _CHECKS)
        else:
            import psycopg

            with psycopg.connect(database) as conn:
                stored, counts, (first, last) = (tuple(conn.execute(q).fetchone()) for q in _CHECKS)
        per_series = values // (len(runs) * metrics)
        if stored != (values,) or counts != (len(runs) * metrics, per_series, per_series):
            raise RuntimeError(f"lost or duplicated values: stored {stored}, summaries {counts}")
        return wall, last - first
    finally:
        for server in servers:
            server.stop()


def main(args) -> None:
    from trackio_nb.names import new_run_name
    from trackio_nb.storage.postgres import open_store

    cluster = PostgresCluster().start()
    try:
        values = args.clients * args.steps * args.metrics
        rows: dict[str, list[float]] = {"sqlite": [], "postgres x1": [], "postgres x2": []}
        for i in range(args.repeat):
            for label, replicas in (("sqlite", 0), ("postgres x1", 1), ("postgres x2", 2)):
                database = cluster.new_database("bench") if replicas else None
                with tempfile.TemporaryDirectory() as tmp:
                    wall, window = ingest_round(
                        Path(tmp), args.clients, args.steps, args.metrics, database, max(replicas, 1)
                    )
                rows[label].append(values / window)
                print(f"  round {i + 1} {label}: wall {wall:.2f} s, server window {window:.2f} s", flush=True)
        print(f"ingest: {args.clients} clients x {args.steps} steps x {args.metrics} metrics = {values:,} values")
        print("  server window (first to last batch applied), median values/s; every value stored exactly once:")
        for label, rates in rows.items():
            print(f"    {label:12s} {statistics.median(rates):>12,.0f}")
        print("  target: >= 1,000,000 values/s with two replicas")

        batches = max(args.steps * REPLAY_VOLUME // REPLAY_STEPS, 1)
        runs = encoded_batches("bench", args.clients, batches, REPLAY_STEPS, args.metrics)
        replayed = args.clients * batches * REPLAY_STEPS * args.metrics
        replay_rows: dict[str, list[tuple[float, float]]] = {label: [] for label in rows}
        for i in range(args.repeat):
            for label, replicas in (("sqlite", 0), ("postgres x1", 1), ("postgres x2", 2)):
                database = cluster.new_database("replay") if replicas else None
                with tempfile.TemporaryDirectory() as tmp:
                    wall, window = replay_round(Path(tmp), runs, replayed, args.metrics, database, max(replicas, 1))
                replay_rows[label].append((replayed / wall, replayed / window))
                print(f"  replay round {i + 1} {label}: wall {wall:.2f} s, server window {window:.2f} s", flush=True)
        print(
            f"replay: {args.clients} runs x {batches} pre-encoded batches of {REPLAY_STEPS} steps x {args.metrics}"
            f" metrics = {replayed:,} values from {REPLAY_SENDERS} sender processes"
        )
        print("  median values/s (sender wall | server window); every value stored exactly once:")
        for label, rates in replay_rows.items():
            by_wall = statistics.median(r[0] for r in rates)
            by_window = statistics.median(r[1] for r in rates)
            print(f"    {label:12s} {by_wall:>12,.0f} | {by_window:>12,.0f}")

        print(f"final values, {RUNS} runs x {METRICS} metrics x {STEPS:,} steps, through the server (median ms):")
        with tempfile.TemporaryDirectory() as tmp:
            from trackio_nb.readers import LocalReader
            from trackio_nb.storage.sqlite_server import SqliteServerStore

            root = Path(tmp) / "sqlite"
            root.mkdir()
            store = SqliteServerStore(root, LocalReader, new_run_name)
            _populate(store)
            store.close()
            url = cluster.new_database("final")
            store = open_store(url, new_run_name)
            _populate(store)
            store.close()
            for label, server in (
                ("sqlite", ServerProcess(root)),
                ("postgres", ServerProcess(Path(tmp) / "pg", database=url)),
            ):
                server.start()
                try:
                    print(f"    {label:12s} {_final_through(server):8.2f} ms (target <= 50 ms)")
                finally:
                    server.stop()
            print("PostgreSQL read path in-process (median ms): psycopg binary rows vs ADBC Arrow")
            for label, ms in _read_paths(url).items():
                print(f"    {label:16s} {ms:8.2f}")
    finally:
        cluster.stop()
