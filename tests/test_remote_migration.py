"""Migration 3 (applied remote batch ids): a v2 database upgrades in place, losing nothing."""

from __future__ import annotations

import math
import sqlite3

import trackio_nb as tnb
from trackio_nb.storage import SCHEMA_VERSION, connect, project_path
from trackio_nb.storage.codec import pack_floats, pack_ints
from trackio_nb.storage.schema import MIGRATIONS, write_summary_from_chunks


def test_v2_database_gains_applied_batches_and_keeps_its_data(data_dir):
    data_dir.mkdir(parents=True)
    path = project_path("legacy-v2")
    conn = sqlite3.connect(path, isolation_level=None)
    for number in (1, 2):
        MIGRATIONS[number - 1](conn)
        conn.execute(f"PRAGMA user_version = {number}")
    conn.execute("INSERT INTO meta VALUES ('project', 'legacy-v2')")
    conn.execute(
        "INSERT INTO runs (key, id, name, status, config, created_at, finished_at) "
        "VALUES (1, 'feedfacecafe', 'old-run', 'finished', '{\"lr\": 0.1}', 1000.0, 1005.0)"
    )
    conn.execute("INSERT INTO metric_names VALUES (1, 'loss')")
    conn.execute(
        'INSERT INTO chunks (run_key, metric_key, n, first_step, last_step, steps, timestamps, "values")'
        " VALUES (1, 1, 3, 0, 2, ?, ?, ?)",
        (pack_ints([0, 1, 2]), pack_floats([1000.0, 1001.0, 1002.0]), pack_floats([2.0, math.inf, 0.5])),
    )
    write_summary_from_chunks(conn, 1, 1)
    conn.close()

    upgraded = connect(path)
    assert upgraded.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
    columns = [row[1] for row in upgraded.execute("PRAGMA table_info(applied_batches)")]
    assert columns == ["id", "applied_at"]
    upgraded.execute("INSERT INTO applied_batches VALUES ('b-1', 1.0)")
    assert upgraded.execute("SELECT id FROM applied_batches").fetchall() == [("b-1",)]
    upgraded.close()

    view = tnb.Api().run("legacy-v2", "old-run")
    assert (view.id, view.status, view.config) == ("feedfacecafe", "finished", {"lr": 0.1})
    assert view.history("loss")["loss"].to_list() == [2.0, math.inf, 0.5]
    assert view.final_metrics("min") == {"loss": 0.5}
