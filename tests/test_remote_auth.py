"""The server's door: tokens (401, nothing stored), public reads, size limits, malformed requests."""

from __future__ import annotations

import json
import re

import pytest

import trackio_nb as tnb
from tests.remote_support import HTTP, TOKEN, ServerProcess, local_files
from trackio_nb.errors import ServerError
from trackio_nb.remote.wire import MAX_BODY_BYTES, encode_logs
from trackio_nb.storage import project_path

API = "/api/v1"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    proc = ServerProcess(tmp_path_factory.mktemp("remote-auth") / "server").start()
    yield proc
    proc.stop()


def _open_batch(project: str, run_id: str = "aaaaaaaaaaaa", batch_id: str = "b-open") -> dict:
    return {
        "id": batch_id,
        "kind": "open",
        "project": project,
        "run_id": run_id,
        "name": "r",
        "group": None,
        "config": {},
        "resume": "never",
        "host": "h",
        "pid": 1,
        "created_at": 1000.0,
    }


def _write_batch(project: str, run_id: str, batch_id: str, logs: list) -> dict:
    return {"id": batch_id, "kind": "write", "project": project, "run_id": run_id, "logs": logs, "alerts": []}


def _post(server, path, payload, token=TOKEN, **kwargs):
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return HTTP.post(server.url + API + path, content=body, headers=headers, timeout=30, **kwargs)


@pytest.mark.parametrize(
    "header",
    [None, "Bearer wrong-token", f"Bearer {TOKEN}x", f"Basic {TOKEN}", f"Bearer {TOKEN[:-1]}"],
    ids=["missing", "wrong", "longer", "other-scheme", "prefix"],
)
def test_writes_without_the_token_get_401_and_store_nothing(server, header):
    headers = {"Authorization": header} if header else {}
    body = json.dumps(_open_batch("guarded")).encode()
    response = HTTP.post(server.url + API + "/batches", content=body, headers=headers)
    assert response.status_code == 401
    assert response.json() == {"error": "missing or wrong token", "kind": "unauthorized"}
    assert response.headers["www-authenticate"] == "Bearer"
    assert not project_path("guarded", server.root).exists()
    assert HTTP.get(server.url + API + "/projects", headers=headers).status_code == 401


def test_client_with_a_wrong_token_fails_at_init_and_writes_nothing(server, data_dir):
    with pytest.raises(ServerError, match="refused the token"):
        tnb.init("guarded", server_url=server.url, token="nope")
    with pytest.raises(ServerError, match="refused the token"):
        tnb.Api(server.url, "nope").projects()
    assert local_files(data_dir, "*") == []
    assert not project_path("guarded", server.root).exists()


def test_health_is_open_and_names_the_schema(server):
    reply = HTTP.get(server.url + API + "/health")
    assert reply.status_code == 200
    assert reply.json() == {"status": "ok", "version": tnb.__version__, "schema_version": 4}


def test_bad_requests_get_clear_4xx_and_the_server_keeps_serving(server):
    assert _post(server, "/batches", b"{not json").json()["error"].startswith("request body is not valid JSON")
    assert _post(server, "/batches", b"[1, 2]").json() == {
        "error": "request body must be a JSON object",
        "kind": "value",
    }
    bad_kind = _post(server, "/batches", {**_open_batch("checks"), "kind": "delete"})
    assert (bad_kind.status_code, bad_kind.json()["error"]) == (
        400,
        "'kind' must be one of open, write, status, got 'delete'",
    )
    no_run = _post(
        server, "/batches", _write_batch("checks", "bbbbbbbbbbbb", "w-0", encode_logs([(0, 1.0, {"x": 1.0}, None)]))
    )
    assert (no_run.status_code, no_run.json()["kind"]) == (404, "not_found")
    assert _post(server, "/batches", _open_batch("checks")).status_code == 200
    good_group = encode_logs([(0, 1.0, {"x": 1.0}, None)])[0]
    cases = {
        "not a list": ({"x": 1.0}, "'logs' must be a list of groups"),
        "not base64": ([{**good_group, "values": "@@@"}], "logs[0].values is not valid base64"),
        "short values": ([{**good_group, "values": "AAAA"}], "logs[0].values must hold 8-byte numbers"),
        "misaligned": (
            [{**good_group, "keys": ["x", "y"]}],
            "logs[0]: steps, timestamps and values do not line up with the keys",
        ),
        "negative step": (encode_logs([(-1, 1.0, {"x": 1.0}, None)]), "logs[0]: steps must be >= 0"),
        "bad keys": ([{**good_group, "keys": [5]}], "logs[0].keys must be a list of distinct non-empty metric names"),
        "texts": ([{**good_group, "texts": {"t": 5}}], "logs[0].texts must be {metric: JSON text} on a one-step group"),
    }
    for label, (logs, message) in cases.items():
        reply = _post(server, "/batches", _write_batch("checks", "aaaaaaaaaaaa", f"bad-{label}", logs))
        assert (reply.status_code, reply.json()["error"]) == (400, message), label
    bad_alert = {
        **_write_batch("checks", "aaaaaaaaaaaa", "bad-alert", []),
        "alerts": [{"timestamp": 1.0, "title": "t"}],
    }
    assert _post(server, "/batches", bad_alert).json()["error"] == "alerts[0].level must be one of info, warn, error"
    bad_data = {
        **_write_batch("checks", "aaaaaaaaaaaa", "bad-data", []),
        "alerts": [{"timestamp": 1.0, "level": "warn", "title": "t", "data": "{oops"}],
    }
    assert _post(server, "/batches", bad_data).json()["error"].startswith("alert data must be strict JSON")
    query = _post(server, "/query/final_values", {"project": "checks", "mode": "median"})
    assert (query.status_code, query.json()["error"]) == (400, "mode must be one of last, min, max, got 'median'")
    missing = _post(server, "/query/runs", {"project": "absent"})
    assert (missing.status_code, missing.json()["kind"]) == (404, "project_not_found")
    assert HTTP.get(server.url + API + "/batches").status_code == 405
    # None of the refused writes stored anything; a good batch still goes through.
    good = _post(
        server, "/batches", _write_batch("checks", "aaaaaaaaaaaa", "good", encode_logs([(0, 1.0, {"x": 2.5}, None)]))
    )
    assert good.json() == {"applied": True, "stop": False}
    view = tnb.Api(server.url, TOKEN).run("checks", "aaaaaaaaaaaa")
    assert view.history().select("step", "x").rows() == [(0, 2.5)]
    with server.db("checks") as conn:
        assert conn.execute("SELECT id FROM applied_batches ORDER BY id").fetchall() == [("good",)]
        assert conn.execute("SELECT count(*) FROM metric_names").fetchone() == (1,)


def test_oversize_request_gets_413_and_the_server_keeps_serving(server):
    body = b"{" + b" " * MAX_BODY_BYTES + b"}"
    reply = _post(server, "/batches", body)
    assert reply.status_code == 413
    assert reply.json()["kind"] == "too_large"
    assert HTTP.get(server.url + API + "/health").status_code == 200


def test_the_same_batch_twice_is_applied_once(server):
    assert _post(server, "/batches", _open_batch("once", "cccccccccccc", "o-1")).status_code == 200
    logs = encode_logs([(0, 1.0, {"x": 1.0}, None), (1, 2.0, {"x": 2.0}, None)])
    batch = _write_batch("once", "cccccccccccc", "w-1", logs)
    assert _post(server, "/batches", batch).json() == {"applied": True, "stop": False}
    assert _post(server, "/batches", batch).json() == {"applied": False, "stop": False}
    assert _post(server, "/batches", _open_batch("once", "cccccccccccc", "o-1")).json()["id"] == "cccccccccccc"
    view = tnb.Api(server.url, TOKEN).run("once", "cccccccccccc")
    assert view.history().select("step", "x").rows() == [(0, 1.0), (1, 2.0)]
    with server.db("once") as conn:
        assert conn.execute("SELECT count FROM summaries").fetchall() == [(2,)]
        assert conn.execute("SELECT count(*) FROM runs").fetchone() == (1,)


def test_public_read_server_reads_without_token_but_still_guards_writes(tmp_path):
    server = ServerProcess(tmp_path / "public", public_read=True).start()
    try:
        assert "reads are public" in server.stdout()
        assert _post(server, "/batches", _open_batch("pub")).status_code == 200
        assert HTTP.get(server.url + API + "/projects").json() == {"projects": ["pub"]}
        assert [v.name for v in tnb.Api(server.url).runs("pub")] == ["r"]
        assert _post(server, "/batches", _open_batch("pub2", batch_id="x"), token=None).status_code == 401
        assert _post(server, "/stop", {"project": "pub", "run_id": "aaaaaaaaaaaa"}, token=None).status_code == 401
    finally:
        server.stop()


def test_a_generated_token_is_printed_once_and_works(tmp_path):
    server = ServerProcess(tmp_path / "gen", token=None).start()
    try:
        assert server.url.startswith("http://127.0.0.1:")  # loopback unless told otherwise
        lines = server.stdout().splitlines()
        printed = [line for line in lines if line.startswith("write token")]
        assert len(printed) == 1
        token = re.fullmatch(r"write token \(shown only now\): (\S+)", printed[0]).group(1)
        assert len(token) >= 32
        assert sum(token in line for line in lines) == 1
        assert _post(server, "/batches", _open_batch("gen"), token=token).status_code == 200
        assert _post(server, "/batches", _open_batch("gen"), token=TOKEN).status_code == 401
    finally:
        server.stop()
