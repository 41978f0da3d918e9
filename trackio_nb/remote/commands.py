"""`trackio-nb serve` and `trackio-nb sync`, as functions the CLI calls."""

from __future__ import annotations

import os
import secrets
import socket
import sys

from ..errors import InvalidValue, MissingExtra, TrackioNbError
from ..storage import data_dir
from .delivery import SyncReport, deliver_orphans
from .outbox import outbox_dir
from .transport import make_client, normalize_url

SYNC_TIMEOUT_S = 30.0


def serve(
    host: str = "127.0.0.1",
    port: int = 8080,
    dir: str | None = None,
    token: str | None = None,
    public_read: bool = False,
    db: str | None = None,
) -> int:
    """Run the tracking server until interrupted; returns the exit code.

    The token is `token`, else TRACKIO_NB_TOKEN, else a new one printed once on stdout.
    Port 0 picks a free port; the first line printed names the URL actually served.
    With `db` (or TRACKIO_NB_DB), a PostgreSQL URL, every project lives in that database
    and any number of servers may share it; otherwise in SQLite files under `dir`.
    """
    try:
        import starlette  # noqa: F401
        import uvicorn
    except ImportError:
        raise MissingExtra("server", "trackio-nb serve (the tracking server)") from None

    from .app import create_app

    generated = not (token or os.environ.get("TRACKIO_NB_TOKEN"))
    token = token or os.environ.get("TRACKIO_NB_TOKEN") or secrets.token_urlsafe(24)
    db = db or os.environ.get("TRACKIO_NB_DB") or None
    root, store = None, None
    try:
        if db is not None:
            from ..names import new_run_name
            from ..storage.postgres import open_store, safe_url

            store = open_store(db, new_run_name)
            where = f"database {safe_url(db)}"
        else:
            root = data_dir(dir)
            root.mkdir(parents=True, exist_ok=True)
            where = f"data in {root}"
        sock = _bind(host, port)
    except OSError as exc:
        print(f"trackio-nb serve: cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except TrackioNbError as exc:
        print(f"trackio-nb serve: {exc}", file=sys.stderr)
        return 1
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    print(f"trackio-nb server on http://{shown}:{bound} ({where})", flush=True)
    if generated:
        print(f"write token (shown only now): {token}", flush=True)
    if public_read:
        print("reads are public: anyone who can reach this address can read every project", flush=True)
    app = create_app(root, token, public_read=public_read, store=store)
    config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=2, lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])
    return 0


def migrate(db: str | None = None) -> dict:
    """`trackio-nb migrate --db URL`: bring a PostgreSQL database to the current schema."""
    from ..storage.postgres import migrate_database, safe_url

    db = db or os.environ.get("TRACKIO_NB_DB") or None
    if db is None:
        raise InvalidValue("migrate needs --db URL (or TRACKIO_NB_DB): SQLite files migrate themselves when opened")
    before, after = migrate_database(db)
    return {"database": safe_url(db), "from_version": before, "to_version": after}


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY on accepted sockets only when it sees TCP,
    # and without it every answer waits ~40 ms for the client's delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)  # before the first line names the address: a client may connect at once
    except OSError:
        sock.close()
        raise
    return sock


def sync(server_url: str | None = None, token: str | None = None, dir: str | None = None) -> dict:
    """Deliver every outbox file whose process is gone; returns counts (see SyncReport).

    With `server_url` (or TRACKIO_NB_SERVER) every file goes to that server; without one,
    each file goes to the server it was written for.
    """
    server_url = server_url or os.environ.get("TRACKIO_NB_SERVER") or None
    token = token or os.environ.get("TRACKIO_NB_TOKEN")
    directory = outbox_dir(dir)
    if server_url is not None:
        server_url = normalize_url(server_url)
        with make_client(server_url, token, read_timeout=SYNC_TIMEOUT_S) as client:
            report = deliver_orphans(client, directory, server_url, only_matching=False, timeout=SYNC_TIMEOUT_S)
        return {"outbox": str(directory), **report.as_dict()}
    servers = sorted(_recorded_servers(directory))
    totals: dict = {"outbox": str(directory)}
    for url in servers:
        with make_client(url, token, read_timeout=SYNC_TIMEOUT_S) as client:
            part = deliver_orphans(client, directory, url, only_matching=True, timeout=SYNC_TIMEOUT_S).as_dict()
        for key, value in part.items():
            totals[key] = totals.get(key, [] if isinstance(value, list) else 0) + value
    if not servers:
        totals.update(SyncReport().as_dict())
    return totals


def _recorded_servers(directory) -> set[str]:
    import json

    servers = set()
    if directory.is_dir():
        for path in directory.glob("*.jsonl"):
            with open(path, "rb") as f:
                first = f.readline()
            try:
                header = json.loads(first)
            except ValueError:
                continue
            if isinstance(header, dict) and isinstance(header.get("server"), str):
                servers.add(header["server"])
    return servers
