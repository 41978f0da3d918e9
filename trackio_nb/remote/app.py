"""The tracking server: a Starlette app over the same storage writes and query functions.

Writes (batches, heartbeats, stop requests) need the write token as `Authorization: Bearer`;
reads need it too unless the server was started with public reads. Every answer is JSON
except frames (Arrow IPC streams of the exact frames LocalReader returns). Bad requests
get a 4xx with {"error": message, "kind": ...}; nothing is stored for them.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import mimetypes
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .. import __version__
from ..errors import (
    AmbiguousRun,
    InvalidValue,
    MetricNotFound,
    ProjectNotFound,
    RunInProgress,
    RunNotFound,
    SchemaTooNew,
    TrackioNbError,
)
from ..names import new_run_name
from ..presentation import dumps, parse_since
from ..readers import LocalReader
from ..storage import SCHEMA_VERSION, validate_project
from ..storage.media_files import check_name
from ..storage.queries import MODES
from ..storage.server_store import ServerStore
from ..validation import check_label
from . import wire
from .store import check_batch


class HTTPError(Exception):
    def __init__(self, status: int, message: str, kind: str = wire.KIND_VALUE) -> None:
        super().__init__(message)
        self.status, self.message, self.kind = status, message, kind


def _error(status: int, message: str, kind: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": message, "kind": kind}, status_code=status, headers=headers)


def _json(obj: object, status: int = 200) -> Response:
    return Response(dumps(obj, compact=True).encode(), status_code=status, media_type="application/json")


def sqlite_store(root: Path) -> ServerStore:
    """The server store over SQLite project files under `root` (the default backend)."""
    from ..storage.sqlite_server import SqliteServerStore

    return SqliteServerStore(root, LocalReader, new_run_name)


def create_app(
    root: Path | None,
    token: str,
    *,
    public_read: bool = False,
    max_body: int = wire.MAX_BODY_BYTES,
    store: ServerStore | None = None,
) -> Starlette:
    """The ASGI app serving `store` (SQLite files under `root` when not given), guarded by `token`."""
    if not token:
        raise InvalidValue("the server needs a non-empty token")
    expected = token.encode()
    if store is None:
        if root is None:
            raise InvalidValue("create_app needs a data directory or a store")
        store = sqlite_store(root)
    storage_errors = store.errors

    def authorized(request: Request) -> bool:
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected)

    async def body_json(request: Request, limit: int) -> object:
        # Read as a stream and refused as soon as it passes the limit: never buffered beyond it.
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            raise HTTPError(413, f"request body is {length} bytes; the limit is {limit}", "too_large")
        body = bytearray()
        async for chunk in request.stream():
            if len(body) + len(chunk) > limit:
                raise HTTPError(413, f"request body exceeds the limit of {limit} bytes", "too_large")
            body += chunk
        try:
            return json.loads(body)
        except ValueError as exc:
            raise HTTPError(400, f"request body is not valid JSON: {exc}") from None
        except RecursionError:
            raise HTTPError(400, "request body is nested too deeply") from None

    def scrub(message: str) -> str:
        # Answers never show where the server keeps its data.
        return message if root is None else message.replace(str(root), "<data dir>")

    def endpoint(
        handler: Callable, *, write: bool, with_body: bool = True, open_: bool = False, query: bool = False
    ) -> Callable:
        needs_token = not open_ and (write or not public_read)
        limit = max_body if write else min(max_body, wire.MAX_QUERY_BYTES)

        async def run(request: Request) -> Response:
            if needs_token and not authorized(request):
                return _error(401, "missing or wrong token", "unauthorized", {"WWW-Authenticate": "Bearer"})
            try:
                if not with_body:
                    if request.headers.get("content-length", "0") != "0" or "transfer-encoding" in request.headers:
                        raise HTTPError(413, "this request takes no body", "too_large")
                    body = dict(request.query_params) if query else None
                else:
                    body = await body_json(request, limit)
                    if not isinstance(body, dict):
                        raise HTTPError(400, "request body must be a JSON object")
                return await run_in_threadpool(handler, body)
            except HTTPError as exc:
                return _error(exc.status, scrub(exc.message), exc.kind)
            except (ProjectNotFound, RunNotFound, AmbiguousRun, MetricNotFound) as exc:
                return _error(404, scrub(str(exc)), wire.error_kind(exc))
            except RunInProgress as exc:
                return _error(409, scrub(str(exc)), wire.KIND_RUN_IN_PROGRESS)
            except SchemaTooNew as exc:
                return _error(409, scrub(str(exc)), wire.KIND_SCHEMA_TOO_NEW)
            except TrackioNbError as exc:
                return _error(400, scrub(str(exc)), wire.error_kind(exc))
            except storage_errors as exc:  # locked, disk full, connection lost: the client retries
                traceback.print_exc(file=sys.stderr)
                return _error(503, f"storage error: {scrub(str(exc))}", "storage")
            except Exception:  # noqa: BLE001  a bug: logged in full here, never shown as bad input
                traceback.print_exc(file=sys.stderr)
                return _error(500, "internal server error (see the server's log)", wire.KIND_SERVER)

        return run

    # -- writes ----------------------------------------------------------------------------

    def batches(body: dict) -> Response:
        return _json(store.apply(check_batch(body)))

    def heartbeat(body: dict) -> Response:
        # The server's clock, not the client's: readers compare heartbeats with the server's
        # time, and a training machine's clock may be off by minutes.
        project, run_id = _str(body, "project"), _str(body, "run_id")
        return _json({"stop": store.heartbeat(project, run_id, time.time())})

    def stop_requested(body: dict) -> Response:
        project, run_id = _str(body, "project"), _str(body, "run_id")
        return _json({"stop": store.stop_requested(project, run_id)})

    def stop(body: dict) -> Response:
        return _json({"stopped": store.request_stop(_str(body, "project"), _str(body, "run_id"), time.time())})

    # -- starting over (write token) -------------------------------------------------------

    def delete_run(body: dict) -> Response:
        return _json(store.delete_run(_str(body, "project"), _str(body, "run_id")))

    def delete_project(body: dict) -> Response:
        return _json(store.delete_project(_str(body, "project")))

    def rename_run(body: dict) -> Response:
        name = check_label(body.get("name"), "run name")  # the rule init() applies to run names
        store.rename_run(_str(body, "project"), _str(body, "run_id"), name)
        return _json({"renamed": True})

    def move_run(body: dict) -> Response:
        to_project = validate_project(_str(body, "to_project"))
        return _json(store.move_run(_str(body, "project"), _str(body, "run_id"), to_project))

    # -- reads -----------------------------------------------------------------------------

    def health(_body: None) -> Response:
        return _json({"status": "ok", "version": __version__, "schema_version": SCHEMA_VERSION})

    def projects(_body: None) -> Response:
        return _json({"projects": store.projects()})

    def q_runs(body: dict) -> Response:
        return _frame(store.runs(_str(body, "project")))

    def q_metrics(body: dict) -> Response:
        return _json({"metrics": store.metrics(_str(body, "project"), _str_list(body, "run_ids"))})

    def q_final_values(body: dict) -> Response:
        mode = body.get("mode", "last")
        if mode not in MODES:
            raise HTTPError(400, f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        df = store.final_values(_str(body, "project"), _str_list(body, "run_ids"), _str_list(body, "metrics"), mode)
        return _frame(df)

    def q_history(body: dict) -> Response:
        return _frame(store.history(_str(body, "project"), _str(body, "run_id"), _str_list(body, "metrics")))

    def q_alerts(body: dict) -> Response:
        since = body.get("since")
        if since is not None:
            if not isinstance(since, str):
                raise HTTPError(400, "'since' must be an ISO-8601 string or null")
            since = parse_since(since)
        after_id = body.get("after_id")
        if after_id is not None and type(after_id) is not int:
            raise HTTPError(400, "'after_id' must be an integer or null")
        df = store.alerts(
            _str(body, "project"),
            _str_list(body, "run_ids"),
            _opt_str(body, "level"),
            _opt_str(body, "reason"),
            since,
            after_id,
        )
        return _frame(df)

    def q_removal_counts(body: dict) -> Response:
        return _json(store.removal_counts(_str(body, "project"), _opt_str(body, "run_id")))

    def q_tail(body: dict) -> Response:
        cursors = {}
        for field in ("chunk_after", "alert_after"):
            value = body.get(field, 0)
            if value is not None and type(value) is not int:
                raise HTTPError(400, f"{field!r} must be an integer or null")
            cursors[field] = value
        tail = store.tail(
            _str(body, "project"),
            metrics=_str_list(body, "metrics"),
            exclude_run_ids=_str_list(body, "exclude_run_ids") or (),
            **cursors,
        )
        return _json(wire.tail_dict(tail))

    def q_media(body: dict) -> Response:
        after_id = body.get("after_id")
        if after_id is not None and type(after_id) is not int:
            raise HTTPError(400, "'after_id' must be an integer or null")
        df = store.media(_str(body, "project"), _str_list(body, "run_ids"), _opt_str(body, "key"), after_id)
        return _frame(df)

    def media_file(query: dict) -> Response:
        project, name = _str(query, "project"), check_name(_str(query, "file"))
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        headers = {"Cache-Control": "private, max-age=31536000, immutable"}  # content-addressed
        try:
            content = store.media_file(project, name)
        except InvalidValue as exc:  # no such file: a 404, whose message the client raises as InvalidValue
            raise HTTPError(404, str(exc), wire.KIND_VALUE) from None
        return Response(content, media_type=content_type, headers=headers)

    api = wire.API
    routes = [
        Route(f"{api}/health", endpoint(health, write=False, with_body=False, open_=True), methods=["GET"]),
        Route(f"{api}/batches", endpoint(batches, write=True), methods=["POST"]),
        Route(f"{api}/heartbeat", endpoint(heartbeat, write=True), methods=["POST"]),
        Route(f"{api}/stop-requested", endpoint(stop_requested, write=True), methods=["POST"]),
        Route(f"{api}/stop", endpoint(stop, write=True), methods=["POST"]),
        Route(f"{api}/runs/delete", endpoint(delete_run, write=True), methods=["POST"]),
        Route(f"{api}/runs/rename", endpoint(rename_run, write=True), methods=["POST"]),
        Route(f"{api}/runs/move", endpoint(move_run, write=True), methods=["POST"]),
        Route(f"{api}/projects/delete", endpoint(delete_project, write=True), methods=["POST"]),
        Route(f"{api}/projects", endpoint(projects, write=False, with_body=False), methods=["GET"]),
        Route(f"{api}/query/removal_counts", endpoint(q_removal_counts, write=False), methods=["POST"]),
        Route(f"{api}/query/runs", endpoint(q_runs, write=False), methods=["POST"]),
        Route(f"{api}/query/metrics", endpoint(q_metrics, write=False), methods=["POST"]),
        Route(f"{api}/query/final_values", endpoint(q_final_values, write=False), methods=["POST"]),
        Route(f"{api}/query/history", endpoint(q_history, write=False), methods=["POST"]),
        Route(f"{api}/query/alerts", endpoint(q_alerts, write=False), methods=["POST"]),
        Route(f"{api}/query/tail", endpoint(q_tail, write=False), methods=["POST"]),
        Route(f"{api}/query/media", endpoint(q_media, write=False), methods=["POST"]),
        Route(f"{api}/media-file", endpoint(media_file, write=False, with_body=False, query=True), methods=["GET"]),
    ]
    # Health stays open (for load balancers and proxies) even when reads need the token.

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        yield
        store.close()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.store = store
    return app


def _frame(df) -> Response:
    return Response(wire.frame_bytes(df), media_type=wire.FRAME_TYPE)


def _str(body: dict, field: str) -> str:
    value = body.get(field)
    if not isinstance(value, str) or not value:
        raise HTTPError(400, f"{field!r} must be a non-empty string")
    if field == "project":
        validate_project(value)
    return value


def _opt_str(body: dict, field: str) -> str | None:
    value = body.get(field)
    if value is not None and not isinstance(value, str):
        raise HTTPError(400, f"{field!r} must be a string or null")
    return value


def _str_list(body: dict, field: str) -> list[str] | None:
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise HTTPError(400, f"{field!r} must be a list of strings or null")
    return value


__all__ = ["HTTPError", "create_app"]
