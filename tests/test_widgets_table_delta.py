"""A run that starts logging a new metric in a big project: the table's tick rebuilds and sends that run's
row only (not every row); the next full sync fills the new column with None everywhere."""

from __future__ import annotations

import pytest

import trackio_nb as tnb
from trackio_nb.widgets import RunTable
from trackio_nb.widgets.hub import HUB, Hub


@pytest.fixture
def manual(monkeypatch):
    monkeypatch.setattr(Hub, "interval", lambda self: 1e9)


def test_a_new_metric_sends_only_the_rows_that_changed(data_dir, manual, monkeypatch):
    for i in range(3):
        with tnb.init("big", name=f"old{i}", config={"lr": 0.1}):
            tnb.log({"loss": float(i)})
    table = RunTable("big")
    sent: list[dict] = []
    monkeypatch.setattr(table, "_send_delta", lambda message, buffers=None: sent.append(message))
    try:
        run = tnb.init("big", name="new", config={"lr": 0.1})
        HUB.tick()  # the new run's row (config unchanged: no config column)
        sent.clear()
        run.log({"loss": 5.0, "grad": 2.0})  # "grad": a new metric column
        run.flush(5)
        HUB.tick()
        [message] = sent
        assert (message["columns"], message["config_columns"]) == (["grad", "loss"], [])
        assert [(r["name"], r["metrics"]) for r in message["rows"]] == [("new", {"grad": 2.0, "loss": 5.0})]
        assert [r["metrics"] for r in list(table._rows.values())[:3]] == [{"loss": 0.0}, {"loss": 1.0}, {"loss": 2.0}]
        run.finish()  # the final tick syncs the full state: every row gets the new column
        assert [r["metrics"] for r in table.rows] == [
            {"grad": None, "loss": 0.0},
            {"grad": None, "loss": 1.0},
            {"grad": None, "loss": 2.0},
            {"grad": 2.0, "loss": 5.0},
        ]
    finally:
        table.close()


def test_a_new_config_column_resends_every_row(data_dir, manual, monkeypatch):
    for i in range(2):
        with tnb.init("cfg", name=f"old{i}", config={"lr": 0.1}):
            tnb.log({"loss": float(i)})
    table = RunTable("cfg")
    sent: list[dict] = []
    monkeypatch.setattr(table, "_send_delta", lambda message, buffers=None: sent.append(message))
    try:
        run = tnb.init("cfg", name="new", config={"lr": 0.5})  # lr now differs: a config column for every row
        run.log({"loss": 3.0})
        HUB.tick()
        [message] = sent
        assert message["config_columns"] == ["lr"]
        assert [(r["name"], r["config"]) for r in message["rows"]] == [
            ("old0", {"lr": 0.1}),
            ("old1", {"lr": 0.1}),
            ("new", {"lr": 0.5}),
        ]
        run.finish()
    finally:
        table.close()
