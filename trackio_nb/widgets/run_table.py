"""`RunTable`: one row per run (status badge, group, last step, last values, start, duration)."""

from __future__ import annotations

import json
import threading
from typing import Any

import traitlets

from ..presentation import human_time, json_float
from ..reports.data import DifferingKeys, comparable, flatten_config
from . import assets, comm_route, html
from .base import LiveWidget
from .hub import HUB, Batch


class RunTable(LiveWidget):
    """Runs of a project, live. `metrics`: the metric columns (default: every metric).

    Config keys whose values differ between runs are columns too (`config_columns`); the page
    sorts by any column and remembers which columns are hidden (`hidden`) and the sort (`sort`).
    """

    _esm = assets.esm("run_table")
    columns = traitlets.List(traitlets.Unicode()).tag(sync=True)
    config_columns = traitlets.List(traitlets.Unicode()).tag(sync=True)
    hidden = traitlets.List(traitlets.Unicode()).tag(sync=True)
    sort = traitlets.Unicode("").tag(sync=True)
    rows = traitlets.List(traitlets.Dict()).tag(sync=True)
    _stop_mid_cell = traitlets.Bool(False).tag(sync=True)  # see `stop_mid_cell`; "_": not in static pages

    def __init__(self, project: str, *, metrics: list[str] | None = None, **source: Any) -> None:
        if metrics is not None and (isinstance(metrics, str) or not all(isinstance(m, str) and m for m in metrics)):
            raise TypeError("metrics must be a list of metric names")
        self._fixed = list(metrics) if metrics is not None else None
        self._rows: dict[str, dict] = {}
        self._columns: list[str] = list(metrics or [])
        self._config_columns: list[str] = []
        self._config_version = -1
        self._flat_of: dict[str, tuple[dict, dict]] = {}  # run id -> (the feed's config object, flattened)
        self._differing = DifferingKeys()  # over the flattened configs of the runs shown
        self._sent_config: list[str] | None = None
        super().__init__(project, **source)
        self.on_msg(self._on_message)
        self._stop_mid_cell = comm_route.route(self, _is_stop_message)

    def _update(self, batch: Batch, *, full: bool, initial: bool) -> None:
        feed = self._feed
        if feed.removed:
            for rid in feed.removed:
                self._rows.pop(rid, None)
                self._flat_of.pop(rid, None)
                self._differing.discard(rid)
            full = True
        live_ids = [rid for rid in self._live_ids() if rid in feed.runs]
        live = {rid: HUB.live[rid] for rid in live_ids}
        touched = set(batch).intersection(live)
        if not (initial or full or feed.changed_runs or feed.changed_values or touched):
            return
        if self._fixed is not None:
            columns = self._fixed
        else:
            names = set(feed.metric_names)
            for lr in live.values():
                names.update(lr.last_values)
            columns = sorted(names)
        if feed.config_version != self._config_version:
            self._config_version = feed.config_version
            for rid, run in feed.runs.items():  # (flattened again only for a config the feed parsed anew)
                self._flatten(rid, run["config"])
            self._config_columns = self._differing.keys()
        config_changed = self._config_columns != self._sent_config
        columns_changed = columns != self._columns or config_changed
        self._sent_config = self._config_columns
        # A new metric column leaves the other rows as they are (a missing cell shows empty; the next full sync
        # writes None in); a config column that appears or goes changes only their config cells. So a run starting
        # in a big project costs its own row, not a rebuild of every row.
        rebuild_all = initial or full
        changed = []
        for rid, run in feed.runs.items():
            if rebuild_all or rid in feed.changed_runs or rid in feed.changed_values or rid in touched:
                row = _row(
                    run, columns, feed.last.get(rid, {}), live.get(rid), self._config_columns, self._flat_config(rid)
                )
            elif config_changed and rid in self._rows:
                row = {**self._rows[rid], "config": _config_cells(self._flat_config(rid), self._config_columns)}
            else:
                continue
            if self._rows.get(rid) != row:
                self._rows[rid] = row
                changed.append(row)
        self._columns = columns
        if full or initial:
            self._sync_full(rows=list(self._rows.values()), columns=columns, config_columns=self._config_columns)
        elif changed or columns_changed:
            self._send_delta(
                {"type": "rows", "columns": columns, "config_columns": self._config_columns, "rows": changed}
            )

    def _flat_config(self, rid: str) -> dict:
        cached = self._flat_of.get(rid)
        return {} if cached is None else cached[1]

    def _flatten(self, rid: str, config: dict) -> dict:
        """A run's flattened config, made again only when the feed parsed a new config for it."""
        cached = self._flat_of.get(rid)
        if cached is None or cached[0] is not config:
            cached = self._flat_of[rid] = (config, flatten_config(config))
            self._differing.set(rid, comparable(cached[1]))
        return cached[1]

    def _on_message(self, _widget: object, content: dict, _buffers: object) -> None:
        if not isinstance(content, dict) or content.get("type") != "stop":
            return
        run_id = content.get("run_id")
        if not isinstance(run_id, str) or run_id not in self._rows:
            self.error = f"stop: no run with id {run_id!r} in project {self.project!r}"
            return
        self._reader.stop(self.project, run_id)  # may run on a subshell thread mid-cell (comm_route)
        self._feed.invalidate()  # this reader wrote it: the change marker does not move for its own writes
        if threading.current_thread() is threading.main_thread():
            HUB.tick()

    @property
    def stop_mid_cell(self) -> bool:
        """True when the stop button acts while a cell is running (this kernel has subshells)."""
        return self._stop_mid_cell

    def _describe(self) -> str:
        return f"project={self.project!r}, runs={len(self._rows)}"

    def _html(self) -> str:
        headers = ["run", "status", "group", "step", "started", "duration", *self._config_columns, *self._columns]
        body = [
            [
                r["name"],
                r["status"],
                r["group"],
                r["last_step"],
                human_time(r["created_at"]),
                None if r["duration_s"] is None else f"{r['duration_s']:.0f}s",
                *(r["config"].get(c) for c in self._config_columns),
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


def _row(run: dict, columns: list[str], last: dict, live, config_columns: list[str], config: dict) -> dict:
    last_step = run["last_step"]
    metrics = {c: _cell(last[c][0]) if c in last else None for c in columns}
    stamps = [v[2] for v in last.values() if v[2] is not None]
    last_ts = max(stamps) if stamps else None
    if live is not None and live.last_step is not None:
        last_step = live.last_step
        last_ts = live.last_timestamp
        for c in columns:
            if c in live.last_values:
                metrics[c] = _cell(live.last_values[c])
    end = run["finished_at"] if run["finished_at"] is not None else last_ts
    return {
        "id": run["id"],
        "name": run["name"],
        "status": run["status"],
        "group": run["group"],
        "last_step": last_step,
        "created_at": run["created_at"],
        "finished_at": run["finished_at"],
        "duration_s": None if end is None else max(0.0, end - run["created_at"]),
        "stop_requested": run["stop_requested"],
        "metrics": metrics,
        "config": _config_cells(config, config_columns),
    }


def _config_cells(config: dict, config_columns: list[str]) -> dict:
    """A row's config cells: the flattened config's values of the config columns it has."""
    return {k: _config_cell(config[k]) for k in config_columns if k in config}


def _config_cell(value: Any) -> Any:
    """A config value as a cell shows it: scalars as they are, anything else as compact JSON."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return json_float(value)
    return json.dumps(value, sort_keys=True, default=repr)


def _cell(value: float | None) -> float | str | None:
    return None if value is None else json_float(value)
