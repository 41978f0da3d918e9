"""Media through a tracking server: same rows and bytes as local, exactly once across a server kill."""

from __future__ import annotations

import textwrap

import numpy as np
import psycopg
import pytest
from PIL import Image as PILImage

import trackio_nb as tnb
from tests.remote_support import HTTP, TOKEN, ServerProcess, client_env, local_files, spawn, wait_for_line, wait_until
from trackio_nb.remote.commands import sync
from trackio_nb.storage import project_path
from trackio_nb.storage.media_files import media_dir


def _start(request, root):
    database = request.getfixturevalue("postgres").new_database("media") if request.param == "postgres" else None
    return ServerProcess(root, database=database).start()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def shared_server(request, tmp_path_factory):
    """One server per backend for the tests that do not stop it (each uses its own project)."""
    proc = _start(request, tmp_path_factory.mktemp(f"server-{request.param}"))
    yield proc
    proc.stop()


@pytest.fixture
def server(shared_server, tmp_path, monkeypatch):
    """The shared server of this backend (SQLite files, or PostgreSQL with media files in the database)."""
    monkeypatch.setenv("TRACKIO_NB_MEDIA_CACHE", str(tmp_path / "cache"))
    return shared_server


@pytest.fixture(params=["sqlite", "postgres"])
def own_server(request, tmp_path, monkeypatch):
    """A server of this test's own (it kills and restarts it)."""
    monkeypatch.setenv("TRACKIO_NB_MEDIA_CACHE", str(tmp_path / "cache"))
    proc = _start(request, tmp_path / "server")
    yield proc
    proc.stop()


def _frame(step: int) -> np.ndarray:
    """Five distinct images, chosen by step: the server must keep five files however many steps."""
    return np.full((3, 2, 3), (step % 5) * 50, dtype=np.uint8)


def test_remote_media_round_trip_and_file_endpoint(server, data_dir):
    with tnb.init("rmedia", server_url=server.url, token=TOKEN) as run:
        run.log({"loss": 0.5, "img": tnb.Image(_frame(1), caption="one"), "h": tnb.Histogram([1, 2, 2], num_bins=2)})
        run.log({"tab": tnb.Table(columns=["i", "im"], data=[[1, tnb.Image(_frame(2))]]), "md": tnb.Markdown("*m*")})
    assert local_files(data_dir, "*.db*") == []  # nothing stored locally in remote mode
    rows = {r["key"]: r for r in tnb.Api(server.url, TOKEN).run("rmedia", run.id).media()}
    assert [(r["step"], r["kind"]) for r in rows.values()] == [
        (0, "image"),
        (0, "histogram"),
        (1, "table"),
        (1, "markdown"),
    ]
    with PILImage.open(rows["img"]["path"]) as image:
        assert np.array_equal(np.asarray(image), _frame(1))
    assert rows["img"]["caption"] == "one"
    assert rows["h"]["value"] == {"bins": [1.0, 1.5, 2.0], "values": [1, 2]}
    cell = rows["tab"]["value"]["data"][0][1]
    with PILImage.open(cell["path"]) as image:
        assert np.array_equal(np.asarray(image), _frame(2))
    assert rows["md"]["value"] == "*m*"
    name = tnb.Api(server.url, TOKEN)._reader.media("rmedia")["file"][0]
    url = f"{server.url}/api/v1/media-file"
    assert HTTP.get(url, params={"project": "rmedia", "file": name}).status_code == 401
    ok = HTTP.get(url, params={"project": "rmedia", "file": name}, headers={"Authorization": f"Bearer {TOKEN}"})
    assert (ok.status_code, ok.headers["content-type"], ok.content[:4]) == (200, "image/png", b"\x89PNG")
    auth = {"Authorization": f"Bearer {TOKEN}"}
    bad = HTTP.get(url, params={"project": "rmedia", "file": "../rmedia.db"}, headers=auth)
    assert (bad.status_code, bad.json()["error"]) == (400, "not a media file name: '../rmedia.db'")
    missing = HTTP.get(url, params={"project": "rmedia", "file": "00/" + "0" * 64 + ".png"}, headers=auth)
    assert missing.status_code == 404


def test_cli_lists_and_gets_media_from_a_server(server, tmp_path, capsys):
    from tests.test_cli import strict_json
    from trackio_nb.cli import main

    with tnb.init("rcli", "r", server_url=server.url, token=TOKEN) as run:
        run.log({"img": tnb.Image(_frame(3)), "notes": tnb.Markdown("remote")})
    source = ["--server", server.url, "--token", TOKEN]
    assert main(["list", "media", "--project", "rcli", "--json", *source]) == 0
    doc = strict_json(capsys.readouterr().out)
    assert [(m["run"], m["step"], m["key"], m["kind"], m["value"]) for m in doc["media"]] == [
        ("r", 0, "img", "image", None),
        ("r", 0, "notes", "markdown", "remote"),
    ]
    out = tmp_path / "img.png"
    assert main(["get", "media", "--project", "rcli", "--run", "r", "--key", "img", "-o", str(out), *source]) == 0
    with PILImage.open(out) as image:
        assert np.array_equal(np.asarray(image), _frame(3))


def test_server_rejects_a_blob_whose_bytes_do_not_match_its_name(server):
    import base64
    import json

    run = tnb.init("forged", server_url=server.url, token=TOKEN)
    name = "ab/" + "ab" * 32 + ".png"
    batch = {
        "id": "forge-1",
        "kind": "write",
        "project": "forged",
        "run_id": run.id,
        "media": [{"step": 0, "timestamp": 1.0, "key": "x", "kind": "image", "file": name, "files": [name]}],
        "blobs": {name: base64.b64encode(b"not those bytes").decode()},
    }
    reply = HTTP.post(
        f"{server.url}/api/v1/batches", content=json.dumps(batch), headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert (reply.status_code, reply.json()["error"]) == (
        400,
        f"media file {name!r}: content does not match its sha256",
    )
    run.finish()
    assert tnb.Api(server.url, TOKEN).run("forged", run.id).media() == []


def test_media_survive_a_server_killed_mid_run_exactly_once(own_server, tmp_path, data_dir):
    server = own_server
    stop_file = tmp_path / "stop-now"
    code = textwrap.dedent(
        f"""
        import os, time, numpy as np, trackio_nb as tnb
        run = tnb.init("mkill", name="survivor")
        print("id", run.id, flush=True)
        step = 0
        while not os.path.exists({str(stop_file)!r}):
            img = np.full((3, 2, 3), (step % 5) * 50, dtype=np.uint8)
            tnb.log({{"x": 2.0 * step, "img": tnb.Image(img, caption=str(step))}})
            step += 1
            time.sleep(0.005)
        tnb.finish()
        print("steps", step, flush=True)
        """
    )
    proc, out, err = spawn(code, client_env(server, data_dir), tmp_path / "logs", "mkill")
    try:
        run_id = wait_for_line(out, "id ", proc).split()[1]
        api = tnb.Api(server.url, TOKEN)

        def stored() -> int:
            return api._reader.media("mkill").height

        wait_until(lambda: stored() >= 50)
        server.kill()
        wait_until(lambda: "cannot reach" in err.read_text(), timeout=15)
        server.start()  # same port, same directory: the outbox drains into it
        before = stored()
        wait_until(lambda: stored() > before + 50, timeout=30)
        stop_file.write_text("")
        steps = int(wait_for_line(out, "steps", proc).split()[1])
        assert proc.wait(30) == 0, err.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
    # finish() keeps its 5 s deadline: a backlog still in the outbox then is delivered by sync
    sync(server.url, TOKEN, str(data_dir))
    rows = api.run("mkill", run_id).media("img")
    assert [r["step"] for r in rows] == list(range(steps))  # each step once: nothing lost, nothing twice
    assert [r["caption"] for r in rows] == [str(s) for s in range(steps)]
    for row in rows[:7]:
        with PILImage.open(row["path"]) as image:
            assert np.array_equal(np.asarray(image), _frame(row["step"]))
    if server.database is None:
        files = [p for p in media_dir(project_path("mkill", server.root)).rglob("*") if p.is_file()]
        assert len(files) == 5  # content-addressed: five distinct images, five files
    else:
        with psycopg.connect(server.database) as conn:
            assert conn.execute("SELECT count(*) FROM media_files").fetchone() == (5,)
    assert api.run("mkill", run_id).history("x")["step"].to_list() == list(range(steps))
    assert local_files(data_dir, "*.jsonl") == []


def test_a_media_object_too_large_to_send_is_kept_apart_and_said(server, data_dir, monkeypatch, capsys):
    import json

    from trackio_nb.remote import client_backend

    monkeypatch.setattr(client_backend, "MAX_BATCH_BYTES", 4000)
    noise = np.random.default_rng(1).integers(0, 256, (40, 40, 3), dtype=np.uint8)  # a PNG of ~4.8 kB
    with tnb.init("rbig", "r", server_url=server.url, token=TOKEN) as run:
        run.log({"img": tnb.Image(noise), "md": tnb.Markdown("small")})
    assert f"a logged image of run 'r' is too large to send; it is kept in {data_dir}" in capsys.readouterr().err
    rows = tnb.Api(server.url, TOKEN).run("rbig", run.id).media()
    assert [(r["key"], r["value"]) for r in rows] == [("md", "small")]
    [kept] = [json.loads(line) for line in (data_dir / "outbox" / "rejected.jsonl").read_text().splitlines()]
    assert kept["reason"] == "larger than 4000 bytes" and kept["batch"]["media"][0]["key"] == "img"


def test_report_from_a_server_embeds_its_media(server, tmp_path):
    import base64
    import io
    import re

    with tnb.init("rreport", "r", server_url=server.url, token=TOKEN) as run:
        run.log({"img": tnb.Image(_frame(4)), "page": tnb.Html("<b>x</b>")})
    html = tnb.report("rreport", tmp_path / "r.html", server_url=server.url, token=TOKEN).read_text(encoding="utf-8")
    [uri] = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    with PILImage.open(io.BytesIO(base64.b64decode(uri))) as image:
        assert np.array_equal(np.asarray(image), _frame(4))
    assert '<iframe sandbox="" class="tnb-media-html-frame" srcdoc="&lt;b&gt;x&lt;/b&gt;">' in html
