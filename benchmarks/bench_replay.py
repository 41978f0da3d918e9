"""What a server ingests when clients cost nothing: pre-encoded batches replayed over keep-alive HTTP.

Used by bench_postgres.py next to the end-to-end figure (8 real client processes). The
batches are built once, before the clock starts, by the real client encoder
(trackio_nb.remote.wire.encode_logs + dumps, as RemoteBackend sends them), each with its
own batch id; a few light sender processes (httpx, one keep-alive connection each) POST
them as fast as the server answers. Every value is checked stored exactly once after.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from tests.remote_support import HTTP, TOKEN

SENDER = textwrap.dedent(
    """
    import pickle, sys, httpx
    url, path = sys.argv[1], sys.argv[2]
    with open(path, "rb") as f:
        bodies = pickle.load(f)
    headers = {"Authorization": "Bearer " + sys.argv[3], "Content-Type": "application/json"}
    with httpx.Client(base_url=url + "/api/v1", headers=headers, timeout=120) as client:
        sys.stdout.write("ready\\n"); sys.stdout.flush()
        sys.stdin.readline()
        for body in bodies:
            r = client.post("/batches", content=body)
            if r.status_code != 200 or not r.json()["applied"]:
                raise SystemExit(f"batch refused: {r.status_code} {r.text}")
    """
)


def encoded_batches(project: str, runs: int, batches: int, steps: int, metrics: int) -> list[list[bytes]]:
    """For each run: `batches` write bodies of `steps` consecutive steps x `metrics` metrics."""
    from trackio_nb.remote import wire

    names = [f"m{i}" for i in range(metrics)]
    out = []
    for r in range(runs):
        bodies = []
        for b in range(batches):
            logs = [
                (s, 1.7e9 + s / 100, {n: s + i / 10 for i, n in enumerate(names)}, None)
                for s in range(b * steps, (b + 1) * steps)
            ]
            batch = {"id": f"replay-{r}-{b}", "kind": "write", "project": project, "run_id": f"run{r:04d}"}
            batch |= {"owner": ["bench", r], "logs": wire.encode_logs(logs), "alerts": [], "config": None}
            bodies.append(wire.dumps(batch))
        out.append(bodies)
    return out


def open_runs(url: str, project: str, runs: int) -> None:
    from trackio_nb.remote import wire

    for r in range(runs):
        body = {"id": f"open-{r}", "kind": "open", "project": project, "run_id": f"run{r:04d}", "name": f"r{r}"}
        body |= {"config": {}, "resume": "never", "created_at": 1.7e9, "host": "bench", "pid": r}
        reply = HTTP.post(
            f"{url}/api/v1/batches", content=wire.dumps(body), headers={"Authorization": f"Bearer {TOKEN}"}
        )
        reply.raise_for_status()


def replay(tmp: Path, urls: list[str], runs: list[list[bytes]], senders: int) -> float:
    """Seconds for `senders` processes (sender i -> urls[i % len(urls)]) to deliver every body.

    Run r's batches all go through one sender, in order (as one client sends them).
    """
    shares: list[list[bytes]] = [[] for _ in range(senders)]
    for r, bodies in enumerate(runs):
        shares[r % senders].extend(bodies)
    procs = []
    for i, share in enumerate(shares):
        path = tmp / f"share{i}.pickle"
        path.write_bytes(pickle.dumps(share))
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKIO_NB_")}
        proc = subprocess.Popen(
            [sys.executable, "-c", SENDER, urls[i % len(urls)], str(path), TOKEN],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        procs.append(proc)
    for proc in procs:
        assert proc.stdout.readline() == b"ready\n"
    start = time.perf_counter()
    for proc in procs:
        proc.stdin.write(b"go\n")
        proc.stdin.flush()
    for proc in procs:
        proc.stdin.close()
        if proc.wait(600) != 0:
            raise RuntimeError(f"a sender failed with exit code {proc.returncode}")
    return time.perf_counter() - start
