"""`RunTable`: one row per run (status badge, group, last step, last values, start, duration)."""

from __future__ import annotations

import threading
from typing import Any

import traitlets

from ..presentation import human_time, json_float
from ..storage import ProjectNotFound
from . import assets, comm_route, html
from .base import LiveWidget
from .hub import HUB, Entry


class RunTable(LiveWidget):
    """Runs of a project, live. `metrics`: the metric columns (default: every metric)."""

    _esm = assets.esm("run_table")
    columns = traitlets.List(traitlets.Unicode()).tag(sync=True)
    rows = traitlets.List(traitlets.Dict()).tag(sync=True)
    _stop_mid_cell = traitlets.Bool(False).tag(sync=True)  # see `stop_mid_cell`; "_": not in static pages

    def __init__(self, project: str, *, metrics: list[str] | None = None, **source: Any) -> None:
        if metrics is not None and (isinstance(metrics, str) or not all(isinstance(m, str) and m for m in metrics)):
            raise TypeError("metrics must be a list of metric names")
        self._fixed = list(metrics) if metrics is not None else None
        self._rows: dict[str, dict] = {}
        self._columns: list[str] = list(metrics or [])
        super().__init__(project, **source)
        self.on_msg(self._on_message)
        self._stop_mid_cell = comm_route.route(self, _is_stop_message)

    def _update(self, batch: list[Entry], *, full: bool, initial: bool) -> None:
        try:
            tail = self._reader.tail(self.project, chunk_after=None, alert_after=None)
        except ProjectNotFound:
            if full:
                self._sync_full(rows=[], columns=self._columns)
            return
        last = {
            (r, m): (v, s, t)
            for r, m, v, s, t in tail.last_values.select("run_id", "metric", "value", "step", "timestamp").iter_rows()
        }
        live = {rid: HUB.live[rid] for rid in self._live_ids()}
        if self._fixed is not None:
            columns = self._fixed
        else:
            names = {m for _, m in last} | {m for lr in live.values() for m in lr.last_values}
            columns = sorted(names)
        last_ts: dict[str, float] = {}
        for (rid, _), (_, _, stamp) in last.items():
            if stamp is not None and stamp > last_ts.get(rid, float("-inf")):
                last_ts[rid] = stamp
        rows = {}
        for run in tail.runs.iter_rows(named=True):
            rows[run["id"]] = _row(run, columns, last, last_ts.get(run["id"]), live.get(run["id"]))
        changed = [row for rid, row in rows.items() if self._rows.get(rid) != row]
        columns_changed = columns != self._columns
        self._rows, self._columns = rows, columns
        if full:
            self._sync_full(rows=list(rows.values()), columns=columns)
        elif changed or columns_changed:
            self._send_delta({"type": "rows", "columns": columns, "rows": changed})

    def _on_message(self, _widget: object, content: dict, _buffers: object) -> None:
        if not isinstance(content, dict) or content.get("type") != "stop":
            return
        run_id = content.get("run_id")
        if not isinstance(run_id, str) or run_id not in self._rows:
            self.error = f"stop: no run with id {run_id!r} in project {self.project!r}"
            return
        self._reader.stop(self.project, run_id)  # may run on a subshell thread mid-cell (comm_route)
        if threading.current_thread() is threading.main_thread():
            HUB.tick()

    @property
    def stop_mid_cell(self) -> bool:
        """True when the stop button acts while a cell is running (this kernel has subshells)."""
        return self._stop_mid_cell

    def _describe(self) -> str:
        return f"project={self.project!r}, runs={len(self._rows)}"

    def _html(self) -> str:
        headers = ["run", "status", "group", "step", "started", "duration", *self._columns]
        body = [
            [
                r["name"],
                r["status"],
                r["group"],
                r["last_step"],
                human_time(r["created_at"]),
                None if r["duration_s"] is None else f"{r['duration_s']:.0f}s",
                *(r["metrics"].get(c) for c in self._columns),
            ]
            for r in self._rows.values()
        ]
        return html.table(f"{self.project}: runs", headers, body, "no runs yet")


def _is_stop_message(data: object) -> bool:
    """A stop button click (ipywidgets wraps custom messages as {"method": "custom", "content": ...})."""
    if not isinstance(data, dict) or data.get("method") != "custom":
        return False
    content = data.get("content")
    return isinstance(content, dict) and content.get("type") == "stop"


def _row(run: dict, columns: list[str], last: dict, last_ts: float | None, live) -> dict:
    rid = run["id"]
    last_step = run["last_step"]
    metrics = {c: _cell(last[(rid, c)][0]) if (rid, c) in last else None for c in columns}
    if live is not None and live.last_step is not None:
        last_step = live.last_step
        last_ts = live.last_timestamp
        for c in columns:
            if c in live.last_values:
                metrics[c] = _cell(live.last_values[c])
    end = run["finished_at"] if run["finished_at"] is not None else last_ts
    return {
        "id": rid,
        "name": run["name"],
        "status": run["status"],
        "group": run["group"],
        "last_step": last_step,
        "created_at": run["created_at"],
        "finished_at": run["finished_at"],
        "duration_s": None if end is None else max(0.0, end - run["created_at"]),
        "stop_requested": run["stop_requested"],
        "metrics": metrics,
    }


def _cell(value: float | None) -> float | str | None:
    return None if value is None else json_float(value)
