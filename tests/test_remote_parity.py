"""Parity: the server answers every read exactly as its storage does (S1, M9), and remote writes store
what local writes store, on both server backends.

Every test runs twice (the `seeded` fixture is parametrised): once on a server over SQLite files,
once on a server over a real PostgreSQL database. `reference` reads the server's own data
directly through storage (LocalReader on its files, or the PostgreSQL store in this process):
answers through HTTP must equal it exactly. Against the same workload written locally to
SQLite, every answer is equal up to ids and wall-clock times (cross-backend parity).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

import trackio_nb as tnb
from tests.remote_support import TOKEN, ServerProcess
from trackio_nb import analysis
from trackio_nb.cli import commands as cli_commands
from trackio_nb.cli import main as cli_main
from trackio_nb.names import new_run_name
from trackio_nb.readers import LocalReader
from trackio_nb.remote.client_reader import RemoteReader

PROJECT = "parity"
VOLATILE = {"id", "run_id", "best_run_id", "created_at", "finished_at", "timestamp"}


def _workload(**init_kwargs) -> None:
    """Three runs: finished, finished with a watcher's alert, failed; NaN, text values, alert data."""
    for index, lr in enumerate((0.1, 0.01, 0.5)):
        run = tnb.init(PROJECT, name=f"lr-{lr}", config={"lr": lr, "tags": ["a", index]}, group="sweep", **init_kwargs)
        if index == 1:
            run.watch("loss", max_value=5.0)
        for step in range(30):
            loss = 1.0 / (1 + step * lr) + (10.0 if index == 1 and step == 20 else 0.0)
            metrics = {"loss": loss, "acc": step * lr / 3}
            if step % 10 == 0:
                metrics["note"] = f"checkpoint {step}"
            if index == 2 and step == 29:
                metrics["loss"] = math.nan
            run.log(metrics)
        run.alert("checked", f"run {index}", level="info", data={"index": index, "deep": {"ok": [True, None]}})
        tnb.finish("failed" if index == 2 else "finished")


@dataclass
class Seeded:
    server: ServerProcess
    base: Path
    reference: object  # a Reader over the server's own stored data

    def api(self) -> tnb.Api:
        """An Api reading `reference` (the server's data, not through HTTP)."""
        api = tnb.Api(dir=str(self.server.root))
        api._reader = self.reference
        return api


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def seeded(request, tmp_path_factory):
    """One server holding the workload written remotely; the same workload written locally elsewhere."""
    base = tmp_path_factory.mktemp(f"parity-{request.param}")
    if request.param == "postgres":
        from trackio_nb.storage.postgres import open_store

        url = request.getfixturevalue("postgres").new_database("parity")
        server = ServerProcess(base / "server", database=url).start()
        reference = open_store(url, new_run_name)
    else:
        server = ServerProcess(base / "server").start()
        reference = LocalReader(base / "server")
    saved = {k: os.environ.get(k) for k in ("TRACKIO_NB_DIR", "TRACKIO_NB_SERVER", "TRACKIO_NB_TOKEN")}
    try:
        os.environ["TRACKIO_NB_DIR"] = str(base / "client")
        _workload(server_url=server.url, token=TOKEN)
        os.environ["TRACKIO_NB_DIR"] = str(base / "local")
        _workload()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    yield Seeded(server, base, reference)
    server.stop()
    reference.close()


def _strip(obj):
    """Drop what differs between two writes of the same data (ids and wall-clock times)."""
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in obj.items() if k not in VOLATILE}
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    return obj


def _canon(obj) -> str:
    return json.dumps(obj, sort_keys=True, allow_nan=True, default=str)


def test_remote_reader_returns_the_servers_local_frames(seeded):
    server = seeded.server
    local, remote = seeded.reference, RemoteReader(server.url, TOKEN)
    assert remote.projects() == local.projects() == [PROJECT]
    runs = local.runs(PROJECT)
    assert runs.height == 3
    assert remote.runs(PROJECT).equals(runs)
    assert remote.runs(PROJECT).schema == runs.schema
    ids = runs["id"].to_list()
    for run_ids in (None, ids[:1], ids[1:], []):
        assert remote.metrics(PROJECT, run_ids) == local.metrics(PROJECT, run_ids)
        for mode in ("last", "min", "max"):
            for metrics in (None, ["loss"], ["acc", "missing"]):
                got = remote.final_values(PROJECT, run_ids, metrics, mode)
                want = local.final_values(PROJECT, run_ids, metrics, mode)
                assert got.schema == want.schema and got.equals(want), (run_ids, mode, metrics)
    for run_id in ids:
        for metrics in (None, ["loss"], ["note"]):
            got, want = remote.history(PROJECT, run_id, metrics), local.history(PROJECT, run_id, metrics)
            assert got.schema == want.schema and got.equals(want)
    for kwargs in ({}, {"level": "error"}, {"reason": "max_exceeded"}, {"after_id": 2}, {"run_ids": ids[2:]}):
        got, want = remote.alerts(PROJECT, **kwargs), local.alerts(PROJECT, **kwargs)
        assert got.schema == want.schema and got.equals(want), kwargs
    alerts = remote.alerts(PROJECT)
    assert alerts.select("run", "level").rows() == [
        ("lr-0.1", "info"),
        ("lr-0.01", "error"),
        ("lr-0.01", "info"),
        ("lr-0.5", "info"),
    ]


def test_api_results_are_identical_over_the_server(seeded):
    server = seeded.server
    local, remote = seeded.api(), tnb.Api(server.url, TOKEN)
    assert [vars_of(v) for v in remote.runs(PROJECT)] == [vars_of(v) for v in local.runs(PROJECT)]
    for view_r, view_l in zip(remote.runs(PROJECT), local.runs(PROJECT), strict=True):
        for mode in ("last", "min", "max"):
            assert _canon(view_r.final_metrics(mode)) == _canon(view_l.final_metrics(mode))
        assert view_r.metrics() == view_l.metrics() == ["acc", "loss", "note"]
        assert view_r.history().equals(view_l.history())
        assert view_r.alerts() == view_l.alerts()
    assert remote.alerts(PROJECT) == local.alerts(PROJECT)
    assert remote.alerts(PROJECT, run="lr-0.01", level="error") == local.alerts(PROJECT, run="lr-0.01", level="error")
    [fired] = remote.alerts(PROJECT, reason="max_exceeded")
    assert (fired["run"], fired["step"], fired["data"]["value"]) == ("lr-0.01", 20, 10.0 + 1.0 / (1 + 20 * 0.01))


def vars_of(view) -> dict:
    return {k: getattr(view, k) for k in ("id", "name", "project", "group", "status", "config", "created_at")}


def test_analysis_json_is_identical_over_the_server(seeded):
    server = seeded.server
    local, remote = seeded.reference, RemoteReader(server.url, TOKEN)
    for fn, kwargs in (
        (analysis.best, {"metric": "loss"}),
        (analysis.best, {"metric": "acc", "direction": "max", "mode": "max", "include_all": True}),
        (analysis.compare, {}),
        (analysis.compare, {"mode": "min", "include_all": True}),
        (analysis.summary, {}),
        (analysis.summary, {"metric": "loss"}),
    ):
        assert _canon(fn(remote, PROJECT, **kwargs)) == _canon(fn(local, PROJECT, **kwargs)), (fn, kwargs)
    best = analysis.best(remote, PROJECT, "loss")
    assert [r["run"] for r in best["ranking"]] == ["lr-0.1", "lr-0.01"]  # the failed run is left out


def test_remote_writes_store_what_local_writes_store(seeded):
    base = seeded.base
    local, remote = LocalReader(base / "local"), seeded.reference
    assert _strip(_canon_runs(remote)) == _strip(_canon_runs(local))
    for fn, kwargs in ((analysis.best, {"metric": "loss"}), (analysis.compare, {}), (analysis.summary, {})):
        assert _canon(_strip(fn(remote, PROJECT, **kwargs))) == _canon(_strip(fn(local, PROJECT, **kwargs)))
    for a, b in zip(remote.runs(PROJECT)["id"], local.runs(PROJECT)["id"], strict=True):
        assert remote.history(PROJECT, a).drop("timestamp").equals(local.history(PROJECT, b).drop("timestamp"))
    drop = ["id", "run_id", "timestamp"]
    assert remote.alerts(PROJECT).drop(drop).equals(local.alerts(PROJECT).drop(drop))
    assert not (base / "client").exists() or not list((base / "client").rglob("*.db"))


def _canon_runs(reader) -> list:
    return reader.runs(PROJECT).drop("created_at", "finished_at", "heartbeat_at").to_dicts()


class _Unclosed:
    """The reference reader handed to the CLI, which closes what it opened (this one is shared)."""

    def __init__(self, reader) -> None:
        self._reader = reader

    def __getattr__(self, name: str):
        if name == "close":
            raise AttributeError(name)
        return getattr(self._reader, name)


def _cli(args: list[str], capsys) -> str:
    code = cli_main([*args, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


@pytest.mark.parametrize(
    "args",
    [
        ["best", "--project", PROJECT, "--metric", "loss"],
        ["compare", "--project", PROJECT, "--mode", "min", "--include-all"],
        ["summary", "--project", PROJECT],
        ["list", "runs", "--project", PROJECT],
        ["list", "alerts", "--project", PROJECT, "--after-id", "1"],
        ["get", "metric", "--project", PROJECT, "--run", "lr-0.5", "--metric", "loss"],
        ["get", "run", "--project", PROJECT, "--run", "lr-0.01"],
    ],
    ids=lambda a: "-".join(a[:2]),
)
def test_cli_json_is_identical_with_server(seeded, args, capsys, monkeypatch, data_dir):
    server, base = seeded.server, seeded.base
    with monkeypatch.context() as patch:  # the CLI reading the server's own data directly
        patch.setattr(cli_commands, "open_reader", lambda _args: _Unclosed(seeded.reference))
        here = _cli(args, capsys)
    monkeypatch.setenv("TRACKIO_NB_DIR", str(base / "local"))
    local = _cli(args, capsys)  # the same workload written locally (SQLite), other ids and times
    monkeypatch.setenv("TRACKIO_NB_DIR", str(data_dir))
    there = _cli([*args, "--server", server.url, "--token", TOKEN], capsys)
    assert there == here
    assert json.loads(there)  # a real document, not an empty one
    assert _canon(_strip(json.loads(there))) == _canon(_strip(json.loads(local)))
    assert not data_dir.exists()  # reading remotely created nothing locally
    with pytest.raises(AssertionError, match="refused the token"):
        _cli([*args, "--server", server.url, "--token", "wrong"], capsys)


def test_frames_keep_their_schema_when_empty(seeded):
    remote = RemoteReader(seeded.server.url, TOKEN)
    empty = remote.final_values(PROJECT, [], None, "last")
    assert empty.height == 0
    assert empty.schema == pl.Schema({"run_id": pl.String, "metric": pl.String, "value": pl.Float64, "step": pl.Int64})


def test_tail_for_live_widgets_is_identical_over_the_server(seeded):
    server = seeded.server
    local, remote = seeded.reference, RemoteReader(server.url, TOKEN)
    first_run = local.runs(PROJECT)["id"][0]
    for kwargs in (
        {},
        {"chunk_after": None, "alert_after": None},
        {"chunk_after": 2, "alert_after": 1, "metrics": ["loss"]},
        {"exclude_run_ids": [first_run]},
    ):
        got, want = remote.tail(PROJECT, **kwargs), local.tail(PROJECT, **kwargs)
        assert (got.chunk_cursor, got.alert_cursor) == (want.chunk_cursor, want.alert_cursor), kwargs
        for name in ("runs", "last_values", "points", "alerts"):
            a, b = getattr(got, name), getattr(want, name)
            assert a.schema == b.schema and a.equals(b), (kwargs, name)
    full = remote.tail(PROJECT)
    assert full.points.height == 3 * 30 * 2  # loss and acc, every step of the three runs


def test_a_tail_after_a_cursor_carries_the_last_values_of_the_runs_that_grew_only(seeded):
    # Guard: tail() narrows last values to runs with chunks after the cursor (a live view at scale re-reads
    # nothing else); reading every series fails the heights below.
    local, remote = seeded.reference, RemoteReader(seeded.server.url, TOKEN)
    full = remote.tail(PROJECT)
    assert full.last_values.height == 3 * 2  # three runs x (loss, acc)
    assert remote.tail(PROJECT, chunk_after=full.chunk_cursor).last_values.height == 0  # nothing grew
    got, want = (r.tail(PROJECT, chunk_after=full.chunk_cursor - 1) for r in (remote, local))
    assert got.last_values.equals(want.last_values)
    [grown] = set(got.last_values["run_id"].to_list())  # the run that wrote the newest chunk: both its series
    assert sorted(got.last_values["metric"].to_list()) == ["acc", "loss"]
    assert grown in set(full.runs["id"].to_list())


def test_a_widget_given_a_server_url_shows_the_servers_runs(seeded, data_dir):
    server = seeded.server
    remote = tnb.RunTable(PROJECT, server_url=server.url, token=TOKEN)
    local = tnb.RunTable(PROJECT, dir=str(seeded.base / "local"))  # the same workload, written locally
    try:
        assert [(row["name"], row["last_step"]) for row in remote.rows] == [
            ("lr-0.1", 29),
            ("lr-0.01", 29),
            ("lr-0.5", 29),
        ]
        timeless = [{k: v for k, v in row.items() if k != "duration_s"} for row in _strip(remote.rows)]
        assert timeless == [{k: v for k, v in row.items() if k != "duration_s"} for row in _strip(local.rows)]
        assert remote.columns == local.columns == ["acc", "loss"]
        assert not data_dir.exists()
    finally:
        remote.close()
        local.close()
