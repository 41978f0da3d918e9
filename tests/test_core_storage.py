"""Project files: name mapping, schema migrations, NaN/Inf, the one-query aggregates."""

from __future__ import annotations

import math
import sqlite3

import pytest

import trackio_nb as tnb
from trackio_nb.errors import InvalidValue, SchemaTooNew
from trackio_nb.storage import SCHEMA_VERSION, connect, project_file_name, project_path, queries
from trackio_nb.storage.codec import pack_floats, pack_ints
from trackio_nb.storage.schema import MIGRATIONS, ensure_schema, write_summary_from_chunks


@pytest.mark.parametrize("name", ["../x", "a/b", "..", ".", "my.model", "mymodel", "MyModel", "ünï ☃", "a\\b", "~x"])
def test_project_names_map_inside_the_directory(data_dir, name):
    path = project_path(name)
    assert path.parent == data_dir
    assert "/" not in path.name and "\\" not in path.name and not path.name.startswith(".")
    run = tnb.init(name, "r")
    run.log({"x": 1.0})
    run.finish()
    assert tnb.Api().run(name, "r").final_metrics() == {"x": 1.0}
    assert [p.parent for p in data_dir.rglob("*.db")] == [data_dir]


def test_distinct_names_get_distinct_files():
    names = ["../x", "a/b", "..", ".", "my.model", "mymodel", "MyModel", "my_model", "ünï ☃", "a\\b", "x", "X"]
    files = [project_file_name(n) for n in names]
    assert len(set(files)) == len(names)
    assert len({f.lower() for f in files}) == len(names)  # also on case-insensitive file systems
    assert project_file_name("mymodel") == "mymodel.db"


def test_projects_lists_exact_names(data_dir):
    for name in ["plain", "My.Model", "ünï"]:
        tnb.init(name, "r").finish()
    assert tnb.Api().projects() == ["My.Model", "plain", "ünï"]


@pytest.mark.parametrize(
    ("name", "error", "message"),
    [
        ("", ValueError, "project name must not be empty"),
        ("   ", ValueError, "project name must not be empty"),
        ("x" * 201, ValueError, "project name is 201 characters long; the limit is 200"),
        ("a\x00b", ValueError, "holds control characters"),
        (None, InvalidValue, "project must be a string, got NoneType"),
    ],
)
def test_absurd_project_names_are_refused(name, error, message):
    with pytest.raises(error, match=message):
        tnb.init(name)


def test_nan_and_inf_round_trip(data_dir):
    run = tnb.init("nan", "r")
    values = [1.0, math.nan, math.inf, -math.inf, -0.0, 5e-324, 1.7976931348623157e308]
    for v in values:
        run.log({"v": v})
    run.finish()
    view = tnb.Api().run("nan", "r")
    got = view.history("v")["v"].to_list()
    assert len(got) == len(values)
    for a, b in zip(got, values, strict=True):
        assert (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    assert view.final_metrics("min") == {"v": -math.inf}
    assert view.final_metrics("max") == {"v": math.inf}
    assert view.final_metrics("last") == {"v": 1.7976931348623157e308}


def test_final_values_for_all_runs_is_one_query(data_dir):
    for r in range(3):
        run = tnb.init("agg", f"r{r}")
        for step in range(10):
            run.log({"a": step * (r + 1), "b": -step})
        run.finish()
    conn = connect(project_path("agg"))
    statements = []
    conn.set_trace_callback(statements.append)
    df = queries.final_values(conn, mode="max")
    conn.set_trace_callback(None)
    assert len(statements) == 1
    assert df.select("metric", "value", "step").rows() == [
        ("a", 9.0, 9),
        ("b", 0.0, 0),
        ("a", 18.0, 9),
        ("b", 0.0, 0),
        ("a", 27.0, 9),
        ("b", 0.0, 0),
    ]


# -- migrations: build a database at every older version, upgrade it, lose nothing --------


def _database_at(version: int, path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    for number in range(1, version + 1):
        MIGRATIONS[number - 1](conn)
        conn.execute(f"PRAGMA user_version = {number}")
    conn.execute("INSERT INTO meta VALUES ('project', 'old')")
    conn.execute(
        "INSERT INTO runs (key, id, name, status, config, created_at, finished_at) "
        "VALUES (1, 'abc123abc123', 'legacy', 'finished', '{\"lr\": 0.5}', 1000.0, 1010.0)"
    )
    conn.execute("INSERT INTO metric_names VALUES (1, 'loss')")
    conn.execute(
        'INSERT INTO chunks (run_key, metric_key, n, first_step, last_step, steps, timestamps, "values")'
        " VALUES (1, 1, 3, 0, 2, ?, ?, ?)",
        (pack_ints([0, 1, 2]), pack_floats([1000.0, 1001.0, 1002.0]), pack_floats([3.0, math.nan, 1.0])),
    )
    if version >= 2:  # a database written at v2+ keeps its summaries up to date
        write_summary_from_chunks(conn, 1, 1)
    conn.execute(
        "INSERT INTO alerts (run_key, timestamp, step, level, title, text, data)"
        ' VALUES (1, 1001.0, 1, \'error\', \'NaN\', NULL, \'{"reason": "nan_inf", "deep": {"a": [1]}}\')'
    )
    return conn


@pytest.mark.parametrize("version", range(1, SCHEMA_VERSION))
def test_older_schema_upgrades_in_place(data_dir, version):
    data_dir.mkdir(parents=True)
    conn = _database_at(version, project_path("old"))
    conn.close()
    view = tnb.Api().run("old", "legacy")
    assert (view.status, view.config) == ("finished", {"lr": 0.5})
    assert view.final_metrics("min") == {"loss": 1.0}
    assert view.final_metrics("max") == {"loss": 3.0}
    assert view.final_metrics("last") == {"loss": 1.0}
    assert view.history("loss")["loss"].to_list()[0] == 3.0
    assert [(a["title"], a["data"]) for a in view.alerts()] == [("NaN", {"reason": "nan_inf", "deep": {"a": [1]}})]
    check = sqlite3.connect(project_path("old"))
    assert check.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    # And the upgraded database takes new writes.
    run = tnb.init("old", "legacy", resume="allow")
    run.log({"loss": 0.25})
    run.finish()
    assert tnb.Api().run("old", "legacy").final_metrics("min") == {"loss": 0.25}


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "future.db"
    sqlite3.connect(path).execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(SchemaTooNew, match="newer than this trackio_nb"):
        ensure_schema(sqlite3.connect(path))


def test_grouping_irregular_steps_matches_a_plain_loop():
    from trackio_nb.storage.writes import _group

    logs = [
        (0, 10.0, {"a": 1.0, "b": 2.0}, None),
        (1, 11.0, {"a": 3.0, "b": 4.0}, {"note": '"x"'}),
        (2, 12.0, {"b": 5.0, "a": 6.0}, None),  # same names, other order
        (3, 13.0, {"c": 7.0}, None),
        (4, 14.0, {}, {"note": '"y"'}),
        (5, 15.0, {"a": 8.0, "b": 9.0}, None),
    ]
    series, texts = _group(logs)
    assert series == {
        "a": ([0, 1, 2, 5], [10.0, 11.0, 12.0, 15.0], [1.0, 3.0, 6.0, 8.0]),
        "b": ([0, 1, 2, 5], [10.0, 11.0, 12.0, 15.0], [2.0, 4.0, 5.0, 9.0]),
        "c": ([3], [13.0], [7.0]),
    }
    assert texts == [("note", 1, 11.0, '"x"'), ("note", 4, 14.0, '"y"')]


def test_a_batch_that_fails_midway_stores_nothing(data_dir, monkeypatch):
    import time

    from trackio_nb.storage import writes
    from trackio_nb.storage.records import RunRecord, SeriesState

    db = writes.open_db(project_path("atomic"), "atomic")
    key = writes.create_run(db, RunRecord("id0", "r", None, {}, time.time(), "h", 1))
    logs = [(0, 1.0, {"a": 1.0}, {"note": '"x"'})]

    def boom(*args):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(writes, "series_chunk", boom)  # fails inside the transaction, after the metric names
    with pytest.raises(RuntimeError, match="disk on fire"):
        writes.write_batch(db, key, SeriesState(), logs)
    counts = [db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("chunks", "text_values", "metric_names")]
    assert counts == [0, 0, 0]
    assert db.conn.in_transaction is False
