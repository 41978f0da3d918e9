"""The tracking server refuses what the Python client refuses (400, the client's own message,
nothing stored), bounds request bodies (413 before buffering), and never shows its paths."""

from __future__ import annotations

import base64
import json
import struct
import threading
import time

import psutil
import pytest

import trackio_nb as tnb
from tests.remote_support import HTTP, TOKEN, ServerProcess
from trackio_nb.errors import InvalidValue, ProjectNotFound
from trackio_nb.remote.wire import API, MAX_BODY_BYTES, MAX_QUERY_BYTES, encode_logs
from trackio_nb.validation import check_alert_data_text, check_alert_title, check_key, check_step


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    proc = ServerProcess(tmp_path_factory.mktemp("server-trust") / "server", public_read=True).start()
    yield proc
    proc.stop()


def _post(server, path, payload, token=TOKEN):
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return HTTP.post(server.url + API + path, content=body, headers=headers, timeout=60)


def _open(project: str, run_id: str) -> dict:
    return {
        "id": f"open-{run_id}",
        "kind": "open",
        "project": project,
        "run_id": run_id,
        "name": "r",
        "group": None,
        "config": {},
        "resume": "never",
        "host": "h",
        "pid": 1,
        "created_at": time.time(),
    }


def _write(project: str, run_id: str, batch_id: str, **fields) -> dict:
    return {"id": batch_id, "kind": "write", "project": project, "run_id": run_id, "logs": [], "alerts": [], **fields}


def _alert(**fields) -> dict:
    return {"timestamp": 1.0, "step": 0, "level": "warn", "title": "t", "text": None, "data": None, **fields}


def _group(key: str, step: int) -> dict:
    def b64(fmt: str, value) -> str:
        return base64.b64encode(struct.pack(fmt, value)).decode()

    return {"keys": [key], "steps": b64("<q", step), "timestamps": b64("<d", 1.0), "values": b64("<d", 1.0)}


def _message(call) -> str:
    with pytest.raises(InvalidValue) as info:
        call()
    return str(info.value)


def _counts(server, project: str) -> tuple[int, ...]:
    with server.db(project) as conn:
        counts = [conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("chunks", "alerts", "metric_names")]
        return (*counts, conn.execute("SELECT group_concat(config) FROM runs").fetchone()[0])


REFUSED = [
    ("alert data [1,2]", {"alerts": [_alert(data="[1, 2]")]}, lambda: check_alert_data_text("[1, 2]")),
    ("alert data 123", {"alerts": [_alert(data="123")]}, lambda: check_alert_data_text("123")),
    ("alert data NaN", {"alerts": [_alert(data='{"v": NaN}')]}, lambda: check_alert_data_text('{"v": NaN}')),
    ("surrogate title", {"alerts": [_alert(title="t\ud800")]}, lambda: check_alert_title("t\ud800")),
    ("alert step 2**63", {"alerts": [_alert(step=2**63)]}, lambda: check_step(2**63)),
    ("10000-char key", {"logs": [_group("k" * 10_000, 0)]}, lambda: check_key("k" * 10_000)),
    ("surrogate key", {"logs": [_group("bad\ud800", 0)]}, lambda: check_key("bad\ud800")),
    ("reserved key", {"logs": [_group("_step", 0)]}, lambda: check_key("_step")),
    ("negative step", {"logs": [_group("m", -1)]}, None),
    ("config key surrogate", {"config": {"k\ud800": 1}}, None),
]


@pytest.mark.parametrize(("label", "fields", "client"), REFUSED, ids=[r[0] for r in REFUSED])
def test_every_payload_the_client_refuses_gets_400_with_its_message_and_nothing_is_stored(
    server, label, fields, client
):
    project = "refused"
    run_id = "refusedrun01"
    assert _post(server, "/batches", _open(project, run_id)).status_code == 200
    ok = _post(server, "/batches", _write(project, run_id, "ok-1", logs=encode_logs([(0, 1.0, {"m": 1.0}, None)])))
    assert ok.status_code == 200
    reason_alert = {"reason": "nan_inf", "value": "NaN"}
    good = _write(project, run_id, "ok-2", alerts=[_alert(level="error", data=json.dumps(reason_alert))])
    assert _post(server, "/batches", good).status_code == 200
    before = _counts(server, project)
    body = json.dumps(_write(project, run_id, f"bad-{label}", **fields)).encode()  # \ud800 escaped: valid JSON
    response = _post(server, "/batches", body)
    assert response.status_code == 400
    if client is not None:
        assert response.json()["error"] == _message(client)
    assert _counts(server, project) == before
    # alert queries (the reason filter parses every alert's data) still work for the whole project
    remote = tnb.Api(server.url, TOKEN)
    assert [a["data"]["reason"] for a in remote.alerts(project, reason="nan_inf")] == ["nan_inf"]


def test_a_remote_run_refuses_at_the_call_and_stores_every_later_value(server, tmp_path):
    run = tnb.init("remote-refusals", "r", server_url=server.url, token=TOKEN, dir=tmp_path)
    for call in (
        lambda: run.log({"bad\ud800": 1.0}),
        lambda: run.log({"m": 10**400}),
        lambda: run.log({"m": 1.0}, step=2**63),
        lambda: run.alert("t\ud800"),
    ):
        with pytest.raises(InvalidValue):
            call()
    run.log({"m": 1.0}, step=2**63 - 1)
    with pytest.raises(InvalidValue, match="automatic step"):
        run.log({"m": 2.0})
    for i in range(4000):
        run.log({"after": float(i)}, step=i)
    start = time.monotonic()
    run.finish()
    assert time.monotonic() - start < 5.0
    view = tnb.Api(server.url, TOKEN).run("remote-refusals", "r")
    assert view.status == "finished"
    assert view.history("after")["after"].to_list() == [float(i) for i in range(4000)]
    assert view.history("m")["step"].to_list() == [2**63 - 1]


def test_messages_never_show_the_server_data_directory(server):
    response = _post(server, "/query/runs", {"project": "absent"})
    assert response.status_code == 404
    assert str(server.root) not in response.text
    assert response.json()["error"] == "no project named 'absent' in <data dir>"
    with pytest.raises(ProjectNotFound, match="no project named 'absent'"):
        tnb.Api(server.url, TOKEN).runs("absent")


def _stream(total: int, chunk: int = 1 << 20):
    block = b" " * chunk
    for _ in range(total // chunk):
        yield block


def _rss(server) -> int:
    return psutil.Process(server.proc.pid).memory_info().rss


@pytest.mark.parametrize(
    ("path", "token", "limit"),
    [("/batches", TOKEN, MAX_BODY_BYTES), ("/query/runs", None, MAX_QUERY_BYTES)],
    ids=["write-with-token", "public-read-without-token"],
)
def test_100_mb_bodies_are_refused_before_they_are_buffered(server, path, token, limit):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    baseline = _rss(server)
    peak = [baseline]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], _rss(server))
            time.sleep(0.005)

    sampler = threading.Thread(target=sample)
    sampler.start()
    answers = []

    def post(streamed: bool) -> None:
        body = _stream(100 << 20) if streamed else b" " * (100 << 20)
        try:
            answers.append(HTTP.post(server.url + API + path, content=body, headers=headers, timeout=60).status_code)
        except Exception as exc:  # noqa: BLE001  the server may close the connection mid-upload after its 413
            answers.append(type(exc).__name__)

    posts = [threading.Thread(target=post, args=(i % 2 == 0,)) for i in range(4)]
    for thread in posts:
        thread.start()
    for thread in posts:
        thread.join()
    stop.set()
    sampler.join()
    assert all(a == 413 or a in ("WriteError", "RemoteProtocolError", "ReadError") for a in answers), answers
    assert answers.count(413) >= 2  # those with a Content-Length are refused before a byte is read
    assert peak[0] - baseline < 50 << 20, f"server RSS grew by {(peak[0] - baseline) >> 20} MB (limit {limit})"
    assert HTTP.get(server.url + API + "/health").status_code == 200  # and it keeps serving


def test_a_write_without_the_token_is_refused_before_its_body_is_read(server):
    baseline = _rss(server)
    response = HTTP.post(server.url + API + "/batches", content=_stream(100 << 20), timeout=60)
    assert response.status_code == 401
    assert _rss(server) - baseline < 50 << 20


def test_reads_take_no_body(server):
    response = HTTP.request("GET", server.url + API + "/projects", content=b"x" * 1000)
    assert response.status_code == 413
    assert response.json()["error"] == "this request takes no body"


def test_the_outbox_keeps_aside_what_the_server_would_refuse(server, tmp_path):
    """`sync` applies the same rules before sending: a bad batch is kept in rejected.jsonl, the rest delivered."""
    from trackio_nb.remote.commands import sync
    from trackio_nb.remote.outbox import FORMAT, outbox_dir

    project, run_id = "outboxed", "outboxrun001"
    bad = _write(project, run_id, "ob-bad", alerts=[_alert(data="[1, 2]")])
    good = _write(project, run_id, "ob-good", logs=encode_logs([(0, 1.0, {"m": 3.0}, None)]))
    directory = outbox_dir(tmp_path)
    directory.mkdir(parents=True)
    header = {"outbox": FORMAT, "server": server.url, "project": project, "run_id": run_id}
    lines = [json.dumps(x) for x in (header, _open(project, run_id), bad, good)]
    (directory / f"1-1-{run_id}.jsonl").write_text("\n".join(lines) + "\n")
    report = sync(server.url, TOKEN, str(tmp_path))
    assert (report["delivered"], report["rejected"], report["remaining"]) == (2, 1, 0)
    (kept,) = [json.loads(line) for line in (directory / "rejected.jsonl").read_text().splitlines()]
    assert kept["batch"]["id"] == "ob-bad"
    assert kept["reason"] == "refused before sending: " + _message(lambda: check_alert_data_text("[1, 2]"))
    assert tnb.Api(server.url, TOKEN).run(project, "r").history("m")["m"].to_list() == [3.0]


def test_the_address_serve_prints_first_already_accepts_connections():
    """`serve` prints its address before the app starts: the socket must listen by then (docs/remote.md waits for it)."""
    import socket

    from trackio_nb.remote.commands import _bind

    sock = _bind("127.0.0.1", 0)
    try:
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 1
        socket.create_connection(sock.getsockname(), timeout=5).close()  # queued until the app accepts it
    finally:
        sock.close()
