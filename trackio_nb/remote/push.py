"""`trackio-nb push`: upload a local project to a tracking server (a notebook's runs become the team's).

Everything goes through the server's ordinary batch endpoint, so the server checks and
stores it exactly as it stores a live run's batches, on either backend. Run ids, names,
groups, configs, timestamps, values and media (rows and files) are kept bit for bit. Idempotent: every batch id is
derived from the stored row it carries (`push:<run id>:<what>:<row id>:<content hash>`),
so pushing the same project again applies nothing, and pushing a run that logged more
since sends only the rows that are new. Runs go oldest first, alerts in their id order
(a fresh server project numbers them as the local one does).
"""

from __future__ import annotations

import base64
import hashlib
import json

from ..errors import ServerError
from ..storage import data_dir, open_project, project_path
from ..storage.dump import StoredRun, stored_alerts, stored_chunks, stored_media, stored_runs, stored_texts
from ..storage.media_files import media_dir, read_blob
from . import wire
from .delivery import OK, send_batch
from .transport import make_client, normalize_url

PUSH_TIMEOUT_S = 60.0


def _digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, allow_nan=True, default=repr).encode()).hexdigest()[:16]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def push(project: str, server_url: str, token: str | None = None, dir: str | None = None) -> dict:
    """Upload `project` from the local data directory to the server; returns counts."""
    server_url = normalize_url(server_url)
    root = data_dir(dir)
    conn = open_project(project, root)
    media_folder = media_dir(project_path(project, root))
    counts = {"runs": 0, "runs_created": 0, "values": 0, "alerts": 0, "media": 0}
    counts.update(batches_applied=0, batches_skipped=0)
    try:
        runs = stored_runs(conn)
        with make_client(server_url, token, read_timeout=PUSH_TIMEOUT_S) as client:

            def send(batch: dict) -> dict:
                outcome, reply = send_batch(client, wire.dumps({"project": project, **batch}), PUSH_TIMEOUT_S)
                if outcome != OK:
                    raise ServerError(f"{server_url} did not take batch {batch['id']}: {reply}")
                if batch["kind"] != "open":
                    counts["batches_applied" if reply["applied"] else "batches_skipped"] += 1
                return reply

            for run in runs:
                counts["runs"] += 1
                counts["values"] += _push_run(conn, run, send, counts, media_folder)
            for alert_id, run_id, ts, step, level, title, text, data in stored_alerts(conn):
                alert = {"timestamp": ts, "step": step, "level": level, "title": title, "text": text, "data": data}
                send(_write(f"push:{run_id}:alert:{alert_id}:{_digest(alert)}", run_id, alerts=[alert]))
                counts["alerts"] += 1
    finally:
        conn.close()
    return {"project": project, "server": server_url, **counts}


def _write(batch_id: str, run_id: str, *, logs=(), alerts=(), config=None) -> dict:
    return {"id": batch_id, "kind": "write", "run_id": run_id, "logs": list(logs), "alerts": list(alerts)} | (
        {"config": config} if config is not None else {}
    )


def _push_run(conn, run: StoredRun, send, counts: dict, media_folder) -> int:
    """Open the run (by its own id), send its chunks, text values and media in storage order, then its status."""
    reply = send(
        {
            "id": f"push:{run.id}:open",
            "kind": "open",
            "run_id": run.id,
            "name": run.name,
            "group": run.group,
            "config": run.config,
            "resume": "never",
            "created_at": run.created_at,
            "host": run.host,
            "pid": run.pid,
        }
    )
    if reply["id"] != run.id:
        raise ServerError(f"the server answered run {reply['id']!r} for pushed run {run.id!r}")
    counts["runs_created"] += bool(reply["applied"])
    send(_write(f"push:{run.id}:config:{_digest(run.config)}", run.id, config=run.config))
    values = 0
    for chunk_id, metric, steps, stamps, vals in stored_chunks(conn, run.key):
        group = {"keys": [metric], "steps": _b64(steps), "timestamps": _b64(stamps), "values": _b64(vals)}
        send(_write(f"push:{run.id}:chunk:{chunk_id}:{_digest(group)}", run.id, logs=[group]))
        values += len(steps) // 8
    for row_id, metric, step, ts, value in stored_texts(conn, run.key):
        group = {
            "keys": [],
            "steps": _b64(step.to_bytes(8, "little", signed=True)),
            "timestamps": _b64(wire.pack_floats([ts])),
            "values": "",
            "texts": {metric: value},
        }
        send(_write(f"push:{run.id}:text:{row_id}:{_digest(group)}", run.id, logs=[group]))
        values += 1
    for row_id, *fields, files, meta in stored_media(conn, run.key):
        row = dict(zip(("step", "timestamp", "key", "kind", "caption", "value", "file"), fields, strict=True))
        row.update(files=files, meta=meta)
        blobs = {name: _b64(read_blob(media_folder, name)) for name in files}
        batch = _write(f"push:{run.id}:media:{row_id}:{_digest(row)}", run.id)
        send({**batch, "media": [row], "blobs": blobs})
        counts["media"] += 1
    status = {"status": run.status, "finished_at": run.finished_at}
    send({"id": f"push:{run.id}:status:{_digest(status)}", "kind": "status", "run_id": run.id, **status})
    return values
