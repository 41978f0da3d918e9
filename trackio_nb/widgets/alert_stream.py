"""`AlertStream`: a project's alerts, newest first, with level colours and their data folded."""

from __future__ import annotations

from typing import Any

import polars as pl
import traitlets

from ..enums import LEVELS as ALERT_LEVELS
from ..presentation import alert_dict, alert_reason, human_time, select_run_ids
from . import assets, html
from .base import LiveWidget
from .hub import Batch

LEVELS = ("", *ALERT_LEVELS)


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

    def _update(self, batch: Batch, *, full: bool, initial: bool) -> None:
        feed = self._feed
        if feed.removed:
            self._alerts = [a for a in self._alerts if a["run_id"] not in feed.removed]
            full = True
        frame = feed.all_alerts() if initial else feed.alerts
        rows = [row for row in frame.iter_rows(named=True) if row["id"] > self._cursor]
        if self.run is not None and rows:  # by id, or a name only one run has (ambiguity is an error, not a merge)
            runs = pl.DataFrame(
                [(rid, r["name"]) for rid, r in feed.runs.items()],
                schema={"id": pl.String, "name": pl.String},
                orient="row",
            )
            wanted = set(select_run_ids(runs, self.project, [self.run], missing_ok=True))
            rows = [row for row in rows if row["run_id"] in wanted]
        new = [alert_dict(row) for row in rows]
        if frame.height:
            self._cursor = max(self._cursor, frame["id"].max())
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
                alert_reason(a),
                human_time(a["timestamp"]),
            ]
            for a in reversed(self._alerts)
        ]
        headers = ["level", "title", "text", "run", "step", "reason", "time"]
        return html.table(f"{self.project}: alerts", headers, rows, "no alerts")
