"""The server's store in-process: a batch and its id land together or not at all."""

from __future__ import annotations

import pytest

from trackio_nb.names import new_run_name
from trackio_nb.remote.store import check_batch
from trackio_nb.remote.wire import encode_logs
from trackio_nb.storage import sqlite_server as store_module
from trackio_nb.storage.sqlite_server import SqliteProjectStore


def ProjectStore(root, project: str) -> SqliteProjectStore:
    return SqliteProjectStore(root, project, new_run_name)


def _open(store: SqliteProjectStore) -> None:
    store.apply(
        check_batch(
            {"id": "o", "kind": "open", "project": "p", "run_id": "r" * 12, "name": "n", "config": {}}
            | {"resume": "never", "created_at": 1.0}
        )
    )


def _write(batch_id: str, steps: range) -> dict:
    logs = encode_logs([(s, 1.0, {"x": float(s)}, None) for s in steps])
    return check_batch(
        {"id": batch_id, "kind": "write", "project": "p", "run_id": "r" * 12, "logs": logs, "config": {"c": 1}}
    )


def _counts(store: SqliteProjectStore) -> tuple:
    conn = store.conn
    return (
        conn.execute("SELECT count(*) FROM chunks").fetchone()[0],
        conn.execute("SELECT count(*) FROM summaries").fetchone()[0],
        conn.execute("SELECT count(*) FROM applied_batches").fetchone()[0],
        conn.execute("SELECT config FROM runs").fetchone()[0],
    )


def test_a_batch_failing_midway_leaves_nothing_and_applies_once_on_retry(tmp_path, monkeypatch):
    store = ProjectStore(tmp_path, "p")
    _open(store)

    def broken(*args, **kwargs):
        raise OSError("disk went away")

    real = store_module.writes.set_config
    monkeypatch.setattr(store_module.writes, "set_config", broken)  # fails after the chunks were inserted
    with pytest.raises(OSError, match="disk went away"):
        store.apply(_write("w-1", range(3)))
    assert _counts(store) == (0, 0, 0, "{}")
    monkeypatch.setattr(store_module.writes, "set_config", real)
    assert store.apply(_write("w-1", range(3))) == {"applied": True, "stop": False}
    assert store.apply(_write("w-1", range(3))) == {"applied": False, "stop": False}
    assert store.apply(_write("w-2", range(3, 5)))["applied"] is True
    assert _counts(store) == (2, 1, 2, '{"c": 1}')
    assert store.conn.execute("SELECT count, last_value, max_step FROM summaries").fetchone() == (5, 4.0, 4)
    store.close()


def test_a_new_store_rebuilds_series_state_so_a_replaced_step_is_summarised_right(tmp_path):
    first = ProjectStore(tmp_path, "p")
    _open(first)
    first.apply(_write("w-1", range(5)))
    first.close()
    again = ProjectStore(tmp_path, "p")  # a restarted server
    logs = encode_logs([(2, 2.0, {"x": -7.0}, None)])  # step 2 logged again: the later value wins
    again.apply(check_batch({"id": "w-2", "kind": "write", "project": "p", "run_id": "r" * 12, "logs": logs}))
    row = again.conn.execute("SELECT count, min_value, min_step, last_value FROM summaries").fetchone()
    assert row == (5, -7.0, 2, 4.0)
    again.close()
