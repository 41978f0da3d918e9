"""Load: 8 client processes log 20,000 steps x 10 metrics each into one server at once.

Every value arrives once: no step lost, none stored twice (full size, ~15-25 s on 2 cores;
the timed version is benchmarks/bench_remote.py).
"""

from __future__ import annotations

import textwrap

import polars as pl

import trackio_nb as tnb
from tests.remote_support import TOKEN, ServerProcess, client_env, local_files, spawn

CLIENTS, STEPS, METRICS = 8, 20_000, 10

CODE = textwrap.dedent(
    f"""
    import sys, trackio_nb as tnb
    names = [f"m{{i}}" for i in range({METRICS})]
    run = tnb.init("load", name=sys.argv[1] if len(sys.argv) > 1 else None)
    for step in range({STEPS}):
        tnb.log({{name: step * 10.0 + i for i, name in enumerate(names)}})
    tnb.finish()
    print(run.id, flush=True)
    """
)


def test_eight_clients_at_once_lose_and_duplicate_nothing(tmp_path, data_dir):
    server = ServerProcess(tmp_path / "server").start()
    try:
        procs = [spawn(CODE, client_env(server, data_dir), tmp_path / "logs", f"c{i}") for i in range(CLIENTS)]
        run_ids = []
        for proc, out, err in procs:
            assert proc.wait(120) == 0, err.read_text()
            run_ids.append(out.read_text().strip())
        assert len(set(run_ids)) == CLIENTS
        names = [f"m{i}" for i in range(METRICS)]
        expected = pl.DataFrame(
            {"step": range(STEPS), **{name: [s * 10.0 + i for s in range(STEPS)] for i, name in enumerate(names)}},
            schema={"step": pl.Int64, **dict.fromkeys(names, pl.Float64)},
        )
        api = tnb.Api(server.url, TOKEN)
        for run_id in run_ids:
            view = api.run("load", run_id)
            assert view.status == "finished"
            assert view.history().drop("timestamp").equals(expected)
        with server.db("load") as conn:
            assert conn.execute("SELECT sum(n) FROM chunks").fetchone() == (CLIENTS * STEPS * METRICS,)
            assert conn.execute("SELECT count(*), min(count), max(count) FROM summaries").fetchone() == (
                CLIENTS * METRICS,
                STEPS,
                STEPS,
            )
        assert local_files(data_dir, "*.db*") == [] and local_files(data_dir, "*.jsonl") == []
    finally:
        server.stop()
