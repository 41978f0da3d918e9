"""Data directory hygiene (SPEC second part): stray files are skipped with one warning naming them,
a newer schema is a one-line SchemaTooNew everywhere — Api, CLI (a real subprocess) and server."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pytest

import trackio_nb as tnb
from tests.remote_support import HTTP, TOKEN, ServerProcess
from trackio_nb.errors import ProjectNotFound, SchemaTooNew
from trackio_nb.remote.wire import API
from trackio_nb.storage import SCHEMA_VERSION


def _seed(root) -> None:
    root.mkdir(parents=True, exist_ok=True)
    run = tnb.init("real", "r", dir=root)
    run.log({"x": 1.0})
    run.finish()
    (root / "empty.db").write_bytes(b"")
    (root / "junk.db").write_bytes(b"not a database at all" * 50)
    future = sqlite3.connect(root / "future.db")
    future.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 95}")
    future.close()


def _cli(root, *argv) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKIO_NB_")}
    env["TRACKIO_NB_DIR"] = str(root)
    return subprocess.run(
        [sys.executable, "-m", "trackio_nb", *argv], env=env, capture_output=True, text=True, timeout=60
    )


WARNINGS = [
    "trackio_nb: skipping empty.db in the data directory: not a trackio_nb database (no schema)",
    "trackio_nb: skipping junk.db in the data directory: not a trackio_nb database (file is not a database)",
]


def test_api_lists_around_stray_files_and_warns_once_per_file(data_dir, capfd):
    _seed(data_dir)
    assert tnb.Api().projects() == ["future", "real"]
    assert capfd.readouterr().err.splitlines() == WARNINGS
    with pytest.raises(ProjectNotFound, match=r"^junk.db is not a trackio_nb database \(file is not a database\)$"):
        tnb.Api().runs("junk")
    with pytest.raises(ProjectNotFound, match=r"^empty.db is not a trackio_nb database$"):
        tnb.Api().runs("empty")
    assert (data_dir / "empty.db").stat().st_size == 0  # a reader never turns a stray file into a project


def test_api_newer_schema_is_schema_too_new(data_dir):
    _seed(data_dir)
    with pytest.raises(SchemaTooNew, match=r"^future.db: the database has schema version 99, newer than"):
        tnb.Api().runs("future")


def test_cli_lists_around_stray_files_and_newer_schema_is_one_line(data_dir):
    _seed(data_dir)
    listing = _cli(data_dir, "list", "projects", "--json")
    assert listing.returncode == 0, listing.stderr
    assert json.loads(listing.stdout)["projects"] == ["future", "real"]
    assert listing.stderr.splitlines() == WARNINGS
    future = _cli(data_dir, "list", "runs", "--project", "future")
    assert (future.returncode, future.stdout) == (1, "")
    assert future.stderr.count("\n") == 1 and "Traceback" not in future.stderr
    assert future.stderr.startswith("trackio-nb: error: future.db: the database has schema version 99")


def test_cli_exit_70_and_a_traceback_for_a_bug(data_dir, monkeypatch, capsys):
    """Anything that is not a trackio_nb error is a bug: shown in full, never as bad input."""
    from trackio_nb import cli
    from trackio_nb.cli import commands

    def broken(reader, args):
        raise KeyError("a bug")

    monkeypatch.setattr(commands, "list_projects", broken)
    code = cli.main(["list", "projects"])
    assert code == 70
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "KeyError: 'a bug'" in err
    assert err.endswith("trackio-nb: internal error (a bug in trackio_nb; please report it)\n")


def test_server_lists_around_stray_files_and_newer_schema_is_409(tmp_path):
    root = tmp_path / "served"
    _seed(root)
    server = ServerProcess(root).start()
    try:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        listing = HTTP.get(server.url + API + "/projects", headers=headers)
        assert (listing.status_code, listing.json()) == (200, {"projects": ["future", "real"]})
        future = HTTP.post(server.url + API + "/query/runs", content=b'{"project": "future"}', headers=headers)
        assert future.status_code == 409
        assert future.json()["error"].startswith("future.db: the database has schema version 99")
        with pytest.raises(SchemaTooNew, match=r"future\.db: the database has schema version 99"):
            tnb.Api(server.url, TOKEN).runs("future")
        assert tnb.Api(server.url, TOKEN).projects() == ["future", "real"]
    finally:
        server.stop()
    assert [line for line in server.stderr().splitlines() if "skipping" in line] == WARNINGS * 2
