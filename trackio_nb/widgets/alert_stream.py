"""`AlertStream`: a project's alerts, newest first, with level colours and their data folded."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import polars as pl
import traitlets

from . import assets, html
from .base import LiveWidget
from .hub import Entry
from .jsonable import json_safe

LEVELS = ("", "info", "warn", "error")


class AlertStream(LiveWidget):
    """Alerts of a project (or of one run, by name or id), live; the page filters by level."""

    _esm = assets.esm("alert_stream")
    run = traitlets.Unicode(None, allow_none=True).tag(sync=True)
    level = traitlets.Unicode("").tag(sync=True)
    alerts = traitlets.List(traitlets.Dict()).tag(sync=True)

    def __init__(self, project: str, run: str | None = None, *, level: str = "", **source: Any) -> None:
        if run is not None and (not isinstance(run, str) or not run):
            raise TypeError("run must be a run name or id (a non-empty string) or None")
        level = "" if level is None else str(level).lower()
        if level not in LEVELS:
            raise ValueError(f"level must be one of info, warn, error (or '' for all), got {level!r}")
        self._alerts: list[dict] = []
        self._cursor = 0
        super().__init__(project, run=run, level=level, **source)

    def _update(self, batch: list[Entry], *, full: bool, initial: bool) -> None:
        frame = self._feed.all_alerts() if initial else self._feed.alerts
        if frame.height:
            frame = frame.filter(pl.col("id") > self._cursor)
            if self.run is not None:
                frame = frame.filter((pl.col("run") == self.run) | (pl.col("run_id") == self.run))
        new = [_alert(a) for a in frame.iter_rows(named=True)]
        if new:
            self._cursor = new[-1]["id"]
        self._alerts.extend(new)
        if full or initial:
            self._sync_full(alerts=list(self._alerts))
        elif new:
            self._send_delta({"type": "alerts", "alerts": new})

    def _describe(self) -> str:
        where = "" if self.run is None else f", run={self.run!r}"
        return f"project={self.project!r}{where}, alerts={len(self._alerts)}"

    def _html(self) -> str:
        rows = [
            [
                a["level"],
                a["title"],
                a["text"],
                a["run"],
                a["step"],
                a["reason"],
                datetime.fromtimestamp(a["timestamp"], tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S"),
            ]
            for a in reversed(self._alerts)
        ]
        headers = ["level", "title", "text", "run", "step", "reason", "time"]
        return html.table(f"{self.project}: alerts", headers, rows, "no alerts")


def _alert(row: dict) -> dict:
    data = json.loads(row["data"]) if row["data"] else {}
    if not isinstance(data, dict):
        data = {"value": data}
    reason = data.get("reason")
    return {
        "id": row["id"],
        "run": row["run"],
        "run_id": row["run_id"],
        "timestamp": row["timestamp"],
        "step": row["step"],
        "level": row["level"],
        "title": row["title"],
        "text": row["text"],
        "reason": reason if isinstance(reason, str) else None,
        "data": json_safe(data),
    }
