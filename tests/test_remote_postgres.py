"""The tracking server on PostgreSQL: migrations, exactly-once batches across replicas, push.

A real PostgreSQL server (Debian's binaries, the session `postgres` fixture); each test
makes its own database. The read parity of both backends is tests/test_remote_parity.py.
"""

from __future__ import annotations

import json
import math
import sys
import textwrap
import threading

import numpy as np
import polars as pl
import psycopg
import pytest

import trackio_nb as tnb
from tests.pg_support import PostgresCluster
from tests.remote_support import (
    HTTP,
    TOKEN,
    ServerProcess,
    client_env,
    local_files,
    spawn,
    wait_for_line,
    wait_until,
)
from tests.test_remote_parity import _workload
from trackio_nb.cli import main as cli_main
from trackio_nb.errors import MissingExtra, SchemaTooNew
from trackio_nb.names import new_run_name
from trackio_nb.readers import LocalReader
from trackio_nb.remote.client_reader import RemoteReader
from trackio_nb.remote.commands import sync
from trackio_nb.remote.push import push
from trackio_nb.remote.store import check_batch
from trackio_nb.remote.wire import encode_logs
from trackio_nb.storage import SCHEMA_VERSION
from trackio_nb.storage.codec import pack_floats, pack_ints
from trackio_nb.storage.postgres import open_store, schema
from trackio_nb.storage.postgres import writes as pg_writes

RUN_ID = "feedfacecafe"


def _cli_json(args: list[str], capsys) -> tuple[int, dict | None, str]:
    code = cli_main([*args, "--json"])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else None), err


def _counts(url: str) -> tuple:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT (SELECT coalesce(sum(n), 0) FROM chunks), (SELECT count(*) FROM applied_batches),"
            " (SELECT count(*) FROM summaries)"
        ).fetchone()


# -- migrations ---------------------------------------------------------------------------------


def test_migrate_an_empty_database_then_nothing_to_do(postgres, capsys):
    url = postgres.new_database("mig")
    assert _cli_json(["migrate", "--db", url], capsys) == (
        0,
        {"database": url, "from_version": 0, "to_version": SCHEMA_VERSION},
        "",
    )
    assert _cli_json(["migrate", "--db", url], capsys)[1]["from_version"] == SCHEMA_VERSION
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert tables == {
        "schema_version",
        "projects",
        "runs",
        "metric_names",
        "chunks",
        "text_values",
        "alerts",
        "summaries",
        "applied_batches",
        "media",
        "media_files",
    }
    assert schema.SCHEMA_VERSION == SCHEMA_VERSION  # one version number whichever backend a server runs on
    code, _, err = _cli_json(["migrate"], capsys)
    assert (code, err.strip()) == (
        1,
        "trackio-nb: error: migrate needs --db URL (or TRACKIO_NB_DB): SQLite files migrate themselves when opened",
    )


def test_trackio_nb_db_names_the_database_and_a_missing_extra_says_which(postgres, capsys, monkeypatch):
    url = postgres.new_database("env")
    monkeypatch.setenv("TRACKIO_NB_DB", url)
    assert _cli_json(["migrate"], capsys)[1] == {"database": url, "from_version": 0, "to_version": SCHEMA_VERSION}
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if the [postgres] extra were not installed
    code, _, err = _cli_json(["migrate"], capsys)
    assert (code, err) == (
        1,
        "trackio-nb: error: migrate --db (PostgreSQL) needs the [postgres] extra: pip install 'trackio_nb[postgres]'\n",
    )
    with pytest.raises(MissingExtra, match=r"serve --db \(PostgreSQL\) needs the \[postgres\] extra"):
        open_store(url, new_run_name)


def test_a_password_never_shows_and_a_bad_url_is_one_line(postgres, capsys):
    code, _, err = _cli_json(["migrate", "--db", "mysql://u:secret@127.0.0.1/x"], capsys)
    assert (code, "secret" in err) == (1, False)
    assert "--db must be a postgresql:// URL" in err
    dead = f"postgresql://postgres:secret@127.0.0.1:{postgres.port}/no_such_database"
    code, _, err = _cli_json(["migrate", "--db", dead], capsys)
    assert code == 1 and "secret" not in err and "postgres:***@127.0.0.1" in err
    assert err.count("\n") == 1 and 'database "no_such_database" does not exist' in err


def _packed(n: int, values: list[float]) -> tuple[bytes, bytes]:
    return pack_floats([1000.0] * n), pack_floats(values)


def _old_database(postgres, version: int) -> str:
    """A database at schema `version` holding one run with chunks (NaN and inf among the values)."""
    url = postgres.new_database(f"v{version}")
    with psycopg.connect(url, autocommit=True) as conn:
        assert schema.migrate(conn, target=version) == (0, version)
        conn.execute("INSERT INTO projects (name, created_at) VALUES ('legacy', 1000.0)")  # key 1, as below
        conn.execute(
            "INSERT INTO runs (project_key, id, name, status, config, created_at, finished_at)"
            " VALUES (1, %s, 'old-run', 'finished', '{\"lr\": 0.1}', 1000.0, 1005.0)",
            (RUN_ID,),
        )
        conn.execute("INSERT INTO metric_names (name) VALUES ('loss')")
        for chunk_id, (steps, values) in enumerate((([0, 1, 2], [2.0, math.inf, 0.5]), ([3], [math.nan])), 1):
            conn.execute(
                "INSERT INTO chunks (project_key, id, run_key, metric_key, n, first_step, last_step, steps, timestamps,"
                ' "values") VALUES (1, %s, 1, 1, %s, %s, %s, %s, %s, %s)',
                (chunk_id, len(steps), steps[0], steps[-1], pack_ints(steps), *_packed(len(steps), values)),
            )
        conn.execute("UPDATE projects SET chunk_seq = 2")
        if version >= 2:
            schema.write_summary(conn, 1, 1)
    return url


@pytest.mark.parametrize("version", range(1, SCHEMA_VERSION))
def test_each_earlier_version_upgrades_in_place_losing_nothing(postgres, version):
    url = _old_database(postgres, version)
    with pytest.raises(ValueError, match=f"schema version {version}, this server needs {SCHEMA_VERSION}"):
        open_store(url, new_run_name, auto_migrate=False)
    store = open_store(url, new_run_name)  # what serve does
    try:
        with psycopg.connect(url) as conn:
            assert schema.version(conn) == SCHEMA_VERSION
        [run] = store.runs("legacy").to_dicts()
        assert (run["id"], run["name"], run["status"], run["config"]) == (RUN_ID, "old-run", "finished", '{"lr": 0.1}')
        history = store.history("legacy", RUN_ID)
        assert history["step"].to_list() == [0, 1, 2, 3]
        assert history["loss"].to_list()[:3] == [2.0, math.inf, 0.5] and math.isnan(history["loss"][3])
        assert store.final_values("legacy", mode="min").rows() == [(RUN_ID, "loss", 0.5, 2)]
        assert store.final_values("legacy", mode="max").rows() == [(RUN_ID, "loss", math.inf, 1)]
        batch = _write_batch("legacy", "after-upgrade", range(4, 6))
        assert store.apply(check_batch(batch))["applied"] is True
        assert store.apply(check_batch(_write_batch("legacy", "after-upgrade", range(4, 6))))["applied"] is False
        assert store.history("legacy", RUN_ID)["step"].to_list() == [0, 1, 2, 3, 4, 5]
    finally:
        store.close()


def test_a_database_from_a_newer_trackio_nb_is_refused_in_one_line(postgres, tmp_path):
    url = postgres.new_database("newer")
    with psycopg.connect(url, autocommit=True) as conn:
        schema.migrate(conn)
        conn.execute("UPDATE schema_version SET version = %s", (SCHEMA_VERSION + 1,))
    with pytest.raises(SchemaTooNew, match=f"schema version {SCHEMA_VERSION + 1} is newer"):
        open_store(url, new_run_name)
    server = ServerProcess(tmp_path / "server", database=url)
    with pytest.raises(RuntimeError, match="did not start"):
        server.start(timeout=15)
    assert server.proc.returncode == 1
    assert server.stderr() == (
        f"trackio-nb serve: database schema version {SCHEMA_VERSION + 1} is newer than this trackio_nb"
        f" ({SCHEMA_VERSION}); upgrade trackio_nb\n"
    )


# -- exactly once across replicas ---------------------------------------------------------------


def _open_batch(project: str) -> dict:
    return {"id": "o", "kind": "open", "project": project, "run_id": RUN_ID, "name": "n", "config": {}} | {
        "resume": "never",
        "created_at": 1.0,
    }


def _write_batch(project: str, batch_id: str, steps) -> dict:
    logs = encode_logs([(s, 1.0, {"x": float(s), "y": -float(s)}, None) for s in steps])
    alerts = [{"timestamp": 2.0, "step": 0, "level": "warn", "title": "t", "text": None, "data": '{"reason": "r"}'}]
    return {"id": batch_id, "kind": "write", "project": project, "run_id": RUN_ID, "logs": logs, "alerts": alerts}


def test_a_duplicate_racing_through_two_replicas_is_applied_once(postgres):
    url = postgres.new_database("race")
    a, b = open_store(url, new_run_name), open_store(url, new_run_name)
    try:
        assert a.apply(check_batch(_open_batch("p")))["applied"] is True
        assert b.apply(check_batch(_open_batch("p")))["applied"] is False  # the same open, through the other one
        rounds = 12
        for r in range(rounds):
            barrier, replies = threading.Barrier(2), []

            def send(store, r=r, barrier=barrier, replies=replies):
                batch = check_batch(_write_batch("p", f"w-{r}", range(r * 10, r * 10 + 10)))
                barrier.wait()
                replies.append(store.apply(batch)["applied"])

            threads = [threading.Thread(target=send, args=(s,)) for s in (a, b)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert sorted(replies) == [False, True], r
        assert _counts(url) == (rounds * 10 * 2, rounds, 2)
        history = a.history("p", RUN_ID)
        assert history["step"].to_list() == list(range(rounds * 10))
        assert history["y"].to_list() == [-float(s) for s in range(rounds * 10)]
        assert a.alerts("p")["id"].to_list() == list(range(1, rounds + 1))
        assert a.final_values("p", mode="min").rows() == [(RUN_ID, "x", 0.0, 0), (RUN_ID, "y", -119.0, 119)]
    finally:
        a.close()
        b.close()


def test_without_the_batch_claim_a_race_would_store_twice(postgres, monkeypatch):
    """The guard above, broken on purpose: with no claim, both replicas store the batch."""

    def no_claim(conn, project, pkey, run_id, batch_id, now):
        return (*pg_writes._run(conn, project, pkey, run_id), True)  # the run, and "not applied before"

    monkeypatch.setattr(pg_writes, "_claim", no_claim)
    url = postgres.new_database("noguard")
    a, b = open_store(url, new_run_name), open_store(url, new_run_name)
    try:
        a.apply(check_batch(_open_batch("p")))
        assert a.apply(check_batch(_write_batch("p", "w", range(10))))["applied"] is True
        assert b.apply(check_batch(_write_batch("p", "w", range(10))))["applied"] is True
        assert _counts(url)[0] == 40  # 2 metrics x 10 steps, twice: what applied_batches prevents
    finally:
        a.close()
        b.close()


def test_a_batch_posted_to_both_replicas_is_applied_once(postgres, tmp_path):
    url = postgres.new_database("http")
    # One replica through the console command (trackio-nb serve --db URL), one through serve().
    replicas = [ServerProcess(tmp_path / f"r{i}", database=url, cli=i == 1).start() for i in range(2)]
    try:
        assert replicas[1].stdout().splitlines()[0] == f"trackio-nb server on {replicas[1].url} (database {url})"
        assert HTTP.get(replicas[1].url + "/api/v1/health").json()["schema_version"] == SCHEMA_VERSION
        headers = {"Authorization": f"Bearer {TOKEN}"}

        def post(server, batch):
            response = HTTP.post(server.url + "/api/v1/batches", json=batch, headers=headers)
            assert response.status_code == 200, response.text
            return response.json()

        assert post(replicas[0], _open_batch("p"))["applied"] is True
        assert post(replicas[1], _write_batch("p", "w-1", range(5))) == {"applied": True, "stop": False}
        assert post(replicas[0], _write_batch("p", "w-1", range(5))) == {"applied": False, "stop": False}
        assert HTTP.post(replicas[1].url + "/api/v1/stop", json={"project": "p", "run_id": RUN_ID}, headers=headers)
        assert post(replicas[0], _write_batch("p", "w-2", range(5, 9))) == {"applied": True, "stop": True}
        assert _counts(url) == (18, 2, 2)
    finally:
        for server in replicas:
            server.stop()


METRICS, CLIENTS = 5, 8
CLIENT = textwrap.dedent(
    """
    import os, time, trackio_nb as tnb
    run = tnb.init("replicas", name="c{index}")
    print("started", run.id, flush=True)
    step = 0
    while not os.path.exists({stop!r}):
        tnb.log({{f"m{{i}}": step * 10.0 + i for i in range({metrics})}})
        step += 1
        if step % 20 == 0:
            time.sleep(0.01)
    tnb.finish()
    print("done", run.id, step, flush=True)
    """
)


def test_two_replicas_eight_clients_one_replica_killed_and_restarted(postgres, tmp_path, data_dir):
    url = postgres.new_database("replicas")
    replicas = [ServerProcess(tmp_path / f"r{i}", database=url).start() for i in range(2)]
    stop = tmp_path / "stop-now"
    procs = []
    try:
        for i in range(CLIENTS):  # clients 0, 2, 4, 6 on replica 0 (the one killed), the others on replica 1
            code = CLIENT.format(index=i, stop=str(stop), metrics=METRICS)
            procs.append(spawn(code, client_env(replicas[i % 2], data_dir / f"c{i}"), tmp_path / "logs", f"c{i}"))
        run_ids = [wait_for_line(out, "started", proc).split()[1] for proc, out, _ in procs]
        api = tnb.Api(replicas[1].url, TOKEN)  # the replica that stays up reads everything

        def stored(index: int) -> int:
            return int(api.run("replicas", run_ids[index]).final_metrics().get("m0", -10.0) // 10) + 1

        wait_until(lambda: all(stored(i) >= 200 for i in range(CLIENTS)), timeout=60)
        replicas[0].kill()
        wait_until(lambda: all("cannot reach" in procs[i][2].read_text() for i in (0, 2, 4, 6)), timeout=30)
        before = [stored(i) for i in range(CLIENTS)]
        replicas[0].start()  # same port, same database
        wait_until(lambda: all(stored(i) > before[i] + 200 for i in range(CLIENTS)), timeout=60)
        stop.write_text("")
        steps = []
        for index, (proc, out, err) in enumerate(procs):
            assert proc.wait(60) == 0, err.read_text()
            steps.append(int(wait_for_line(out, "done", proc).split()[2]))
            # finish() keeps its 5 s deadline: a backlog still in the outbox then is delivered by sync
            sync(replicas[index % 2].url, TOKEN, str(data_dir / f"c{index}"))
        for index, run_id in enumerate(run_ids):
            view = tnb.Api(replicas[(index + 1) % 2].url, TOKEN).run("replicas", run_id)  # read through the other
            assert (view.name, view.status) == (f"c{index}", "finished")
            history = view.history()
            assert history["step"].to_list() == list(range(steps[index]))
            for i in range(METRICS):
                assert history[f"m{i}"].to_list() == [s * 10.0 + i for s in range(steps[index])]
        values, _, series = _counts(url)
        assert (values, series) == (sum(steps) * METRICS, CLIENTS * METRICS)  # nothing stored twice
        with psycopg.connect(url) as conn:
            counts = conn.execute(
                "SELECT r.name, min(s.count), max(s.count) FROM summaries s JOIN runs r"
                " ON r.key = s.run_key GROUP BY r.name ORDER BY r.name"
            ).fetchall()
        assert counts == [(f"c{i}", steps[i], steps[i]) for i in range(CLIENTS)]
        assert local_files(data_dir, "*.jsonl") == []  # every outbox was delivered by its own process
    finally:
        stop.write_text("")
        for proc, _, _ in procs:
            if proc.poll() is None:
                proc.kill()
        for server in replicas:
            server.stop()


# -- push -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_push_of_a_local_project_equals_its_local_reads(backend, request, tmp_path, data_dir, capsys):
    _workload()  # three runs, NaN, text values, alerts with data, in the local data directory
    resumed = tnb.init("parity", name="lr-0.1", resume="allow")
    resumed.log({"loss": -1.0}, step=3)  # a replaced step: the summary is recomputed from the chunks
    resumed.log({"loss": 0.125})
    resumed.log({"img": tnb.Image(np.full((3, 2, 3), 90, dtype=np.uint8), caption="c"), "md": tnb.Markdown("*m*")})
    tnb.finish()
    database = request.getfixturevalue("postgres").new_database("push") if backend == "postgres" else None
    server = ServerProcess(tmp_path / "server", database=database).start()
    try:
        code, first, err = _cli_json(["push", "--project", "parity", "--server", server.url, "--token", TOKEN], capsys)
        assert code == 0, err
        assert (first["runs"], first["runs_created"], first["alerts"], first["batches_skipped"]) == (3, 3, 4, 0)
        assert first["media"] == 2
        assert first["values"] == 3 * 30 * 2 + 3 * 3 + 2  # numbers, text values, the resumed run's two
        _assert_same_reads(LocalReader(data_dir), RemoteReader(server.url, TOKEN))
        again = push("parity", server.url, TOKEN)  # idempotent: nothing new is applied
        assert (again["runs_created"], again["batches_applied"]) == (0, 0)
        assert again["batches_skipped"] == first["batches_applied"]
        _assert_same_reads(LocalReader(data_dir), RemoteReader(server.url, TOKEN))
        more = tnb.init("parity", name="lr-0.5", resume="allow")
        more.log({"loss": 7.0})
        tnb.finish()
        grown = push("parity", server.url, TOKEN)  # only what is new goes
        assert (grown["runs_created"], grown["batches_applied"]) == (0, 2)  # one chunk, one status
        _assert_same_reads(LocalReader(data_dir), RemoteReader(server.url, TOKEN))
    finally:
        server.stop()


def _assert_same_reads(local, remote) -> None:
    assert remote.projects() == local.projects() == ["parity"]
    # heartbeat_at is the server's clock when the run arrived; everything else is the local row.
    want, got = local.runs("parity").drop("heartbeat_at"), remote.runs("parity").drop("heartbeat_at")
    assert got.equals(want) and got.height == 3
    for mode in ("last", "min", "max"):
        assert remote.final_values("parity", mode=mode).equals(local.final_values("parity", mode=mode))
    for run_id in want["id"]:
        assert remote.metrics("parity", [run_id]) == local.metrics("parity", [run_id])
        assert remote.history("parity", run_id).equals(local.history("parity", run_id))
    assert remote.alerts("parity").equals(local.alerts("parity"))
    media = local.media("parity")
    assert remote.media("parity").equals(media) and media["kind"].to_list() == ["image", "markdown"]
    assert remote.media_file("parity", media["file"][0]) == local.media_file("parity", media["file"][0])
    assert remote.final_values("parity", mode="min").filter(pl.col("metric") == "loss")["value"][0] == -1.0


# -- starting over: media files and ids follow the rows -------------------------------------------


def test_move_and_delete_carry_media_files_and_renumber_ids(postgres, tmp_path, data_dir, monkeypatch):
    monkeypatch.setenv("TRACKIO_NB_MEDIA_CACHE", str(tmp_path / "cache"))
    url = postgres.new_database("startover")
    server = ServerProcess(tmp_path / "server", database=url).start()
    try:
        image = np.full((3, 2, 3), 40, dtype=np.uint8)
        ids = []
        for name in ("a", "b"):
            with tnb.init("src", name=name, server_url=server.url, token=TOKEN) as run:
                run.log({"x": 1.0, "img": tnb.Image(image)})
                run.alert(f"alert of {name}")
                ids.append(run.id)
        with tnb.init("dst", name="there", server_url=server.url, token=TOKEN) as run:
            run.alert("first in dst")
        api = tnb.Api(server.url, TOKEN)
        api.run("src", "a").move("dst")
        with psycopg.connect(url) as conn:

            def files(project: str) -> int:
                return conn.execute(
                    "SELECT count(*) FROM media_files f JOIN projects p ON p.key = f.project_key WHERE p.name = %s",
                    (project,),
                ).fetchone()[0]

            assert (files("src"), files("dst")) == (1, 1)  # b still uses the same image in src
            api.delete_run("src", ids[1])
            assert (files("src"), files("dst")) == (0, 1)
        assert [a["id"] for a in api.alerts("dst")] == [1, 2]  # the moved alert took dst's next id
        assert [(a["run"], a["title"]) for a in api.alerts("dst")] == [("there", "first in dst"), ("a", "alert of a")]
        [row] = api.run("dst", ids[0]).media("img")
        assert row["step"] == 0 and row["kind"] == "image"
        tail = RemoteReader(server.url, TOKEN).tail("dst")
        assert (tail.chunk_cursor, tail.alert_cursor) == (1, 2) and tail.points["run_id"].to_list() == [ids[0]]
    finally:
        server.stop()


def test_a_store_reconnects_after_postgresql_restarts(tmp_path):
    cluster = PostgresCluster().start()  # its own server: restarting it disturbs no other test
    try:
        url = cluster.new_database("restart")
        store = open_store(url, new_run_name)
        try:
            store.apply(check_batch(_open_batch("p")))
            assert store.apply(check_batch(_write_batch("p", "w-1", range(5))))["applied"] is True
            cluster.restart()
            assert store.apply(check_batch(_write_batch("p", "w-2", range(5, 9))))["applied"] is True
            cluster.restart()
            assert store.final_values("p", mode="max").rows() == [(RUN_ID, "x", 8.0, 8), (RUN_ID, "y", 0.0, 0)]
            assert store.apply(check_batch(_write_batch("p", "w-2", range(5, 9))))["applied"] is False
        finally:
            store.close()
    finally:
        cluster.stop()
