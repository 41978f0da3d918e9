"""A row the database refuses never blocks the others (SPEC second part), and the exits are bounded.

The refusals here are real: a SQLite trigger that RAISEs for one metric name, a database
another connection keeps locked, a writer that never returns.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time

import pytest

import trackio_nb as tnb
from trackio_nb import rejected
from trackio_nb.enums import AlertLevel, AlertReason
from trackio_nb.storage import project_path
from trackio_nb.tracked_run import FAIL_FLUSH_DEADLINE_S

TRIGGER = (
    "CREATE TRIGGER refuse_bad BEFORE INSERT ON metric_names WHEN NEW.name = 'bad'"
    " BEGIN SELECT RAISE(ABORT, 'refused by test trigger'); END"
)


def _db(project: str) -> sqlite3.Connection:
    return sqlite3.connect(project_path(project), isolation_level=None)


def _status(project: str) -> str:
    with _db(project) as conn:
        return conn.execute("SELECT status FROM runs").fetchone()[0]


def _rejected_rows(project: str) -> list[dict]:
    path = rejected.rejected_path(project_path(project))
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_refused_rows_are_kept_aside_and_every_other_row_is_stored(capfd):
    run = tnb.init("loss", "r")
    run.log({"good": 0.0})
    run.flush()
    with _db("loss") as conn:
        conn.execute(TRIGGER)
    for i in range(1, 301):
        run.log({"good": float(i)})
        if i % 3 == 0:
            run.log({"bad": float(i)}, step=i)
    start = time.monotonic()
    run.finish()
    assert time.monotonic() - start < 5.0
    view = tnb.Api().run("loss", "r")
    assert view.history("good")["good"].to_list() == [float(i) for i in range(301)]
    assert view.metrics() == ["good"]
    assert view.status == "failed" and run.status == "failed"  # never `finished` after a loss
    rows = _rejected_rows("loss")
    assert [r["row"]["values"] for r in rows] == [{"bad": float(i)} for i in range(3, 301, 3)]
    assert {(r["kind"], r["project"], r["run"], r["run_id"]) for r in rows} == {("log", "loss", "r", run.id)}
    assert all(r["error"] == "IntegrityError: refused by test trigger" for r in rows)
    (alert,) = view.alerts()
    assert (alert["level"], alert["data"]["reason"]) == (AlertLevel.ERROR, AlertReason.DATA_LOSS)
    assert alert["data"]["first_error"] == "IntegrityError: refused by test trigger"
    assert alert["data"]["kept_in"] == str(rejected.rejected_path(project_path("loss")))
    assert 1 <= alert["data"]["rows"] == alert["data"]["logs"] <= 100
    err = capfd.readouterr().err
    assert err.count("the background writer could not store a batch") == 1  # one episode, reported once
    assert "is recorded as failed, not finished: 100 row(s) were not stored" in err


def test_a_failure_that_recovers_and_recurs_is_reported_again(capfd):
    run = tnb.init("recur", "r")
    run.log({"good": 0.0})
    run.flush()
    with _db("recur") as conn:
        conn.execute(TRIGGER)
    run.log({"bad": 1.0})
    run.flush()
    with _db("recur") as conn:
        conn.execute("DROP TRIGGER refuse_bad")
    run.log({"good": 2.0})
    run.flush()  # stored whole: the episode is over
    with _db("recur") as conn:
        conn.execute(TRIGGER.replace("'bad'", "'worse'"))
    run.log({"worse": 3.0})
    run.finish()
    alerts = tnb.Api().alerts("recur")
    assert [a["data"]["reason"] for a in alerts] == ["data_loss", "data_loss"]
    assert [a["title"] for a in alerts] == ["data loss: 1 row(s) could not be stored"] * 2
    assert [r["row"]["values"] for r in _rejected_rows("recur")] == [{"bad": 1.0}, {"worse": 3.0}]
    assert tnb.Api().run("recur", "r").history("good")["good"].to_list() == [0.0, 2.0]
    assert capfd.readouterr().err.count("the background writer could not store a batch") == 2


def test_finish_returns_within_5_s_when_the_writer_never_returns(capfd):
    run = tnb.init("stuck", "r")
    run.log({"x": 1.0})
    run.flush()
    release = threading.Event()

    def never_returns(*args):
        release.wait(60)
        raise RuntimeError("released")

    run._backend.write = never_returns  # the writer thread calls the backend's write
    run.log({"x": 2.0})
    time.sleep(0.3)  # the writer is inside write() now
    start = time.monotonic()
    run.finish()
    elapsed = time.monotonic() - start
    release.set()
    assert elapsed < 5.0
    assert _status("stuck") == "failed"  # something was still queued: never `finished`
    assert "could not be stored in time" in capfd.readouterr().err


def test_finish_returns_within_5_s_while_another_process_holds_the_database_lock():
    run = tnb.init("locked", "r")
    run.log({"x": 1.0})
    run.flush()
    holder = _db("locked")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        run.log({"x": 2.0})
        start = time.monotonic()
        run.finish()
        elapsed = time.monotonic() - start
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert elapsed < 5.0
    assert run.status == "failed"


def test_fail_fast_writes_the_failed_status_before_the_flush_and_keeps_its_deadline():
    """Review M2: with a slow writer, `failed` is durable at once, and the exit waits 2 s at most."""
    run = tnb.init("slow", "r")
    run.log({"x": 1.0})
    run.flush()
    release = threading.Event()

    def slow_write(*args):
        release.wait(30)

    run._backend.write = slow_write
    run.log({"x": 2.0})
    time.sleep(0.3)  # the writer is inside the slow write
    timings = {}

    def fail() -> None:
        start = time.monotonic()
        run.fail_fast()
        timings["fail_fast"] = time.monotonic() - start

    thread = threading.Thread(target=fail)
    start = time.monotonic()
    thread.start()
    while _status("slow") != "failed":  # read from another connection while the flush still waits
        assert time.monotonic() - start < 1.0, "the failed status was not written before the flush"
        time.sleep(0.01)
    seen_after = time.monotonic() - start
    thread.join(10)
    release.set()
    assert seen_after < 1.0
    assert FAIL_FLUSH_DEADLINE_S - 0.1 < timings["fail_fast"] < FAIL_FLUSH_DEADLINE_S + 0.5


@pytest.mark.parametrize("mode", ["log", "alert", "config"])
def test_the_loss_alert_is_not_raised_for_its_own_refusal(mode, capfd):
    """If even the DATA_LOSS alert cannot be stored, the writer says so on stderr and stops there."""
    run = tnb.init("loop", "r")
    run.log({"x": 1.0})
    run.flush()
    with _db("loop") as conn:
        conn.execute("CREATE TRIGGER refuse_alerts BEFORE INSERT ON alerts BEGIN SELECT RAISE(ABORT, 'no alerts'); END")
        conn.execute(TRIGGER)
    if mode == "log":
        run.log({"bad": 2.0})
    elif mode == "alert":
        run.alert("an alert")
    else:
        with _db("loop") as conn:
            conn.execute(
                "CREATE TRIGGER refuse_config BEFORE UPDATE OF config ON runs BEGIN SELECT RAISE(ABORT, 'no'); END"
            )
        run.config["lr"] = 0.1
    run.finish()
    rows = _rejected_rows("loop")
    kinds = [r["kind"] for r in rows]
    assert kinds[0] == {"log": "log", "alert": "alert", "config": "config"}[mode]
    assert kinds[1:] == ["alert"]  # the DATA_LOSS alert, refused too, kept, and no alert about it
    assert json.loads(rows[1]["row"]["data"])["reason"] == "data_loss"
    assert tnb.Api().run("loop", "r").status == "failed"
