"""One project's live state, shared by every widget of that project in this kernel.

The hub polls each feed once per tick; the widgets then read what changed from it
(`points`, `alerts`, `changed_runs`, `changed_values`) instead of each reading storage.
A local project is followed by `trackio_nb.storage.tail.Follower` (nothing is read when
nothing was committed); a tracking server is tailed with one request per tick.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import polars as pl

from ..storage import ProjectNotFound
from ..storage.tail import NO_ALERTS, NO_POINTS, Follower

if TYPE_CHECKING:
    from ..readers import Reader

RUN_FIELDS = ("id", "name", "group", "status", "created_at", "finished_at", "stop_requested", "last_step")


class ProjectFeed:
    """Runs, last values and cursors of one project; what the last poll found new."""

    def __init__(self, reader: Reader, project: str) -> None:
        self.reader = reader
        self.project = project
        self.local = hasattr(reader, "follow")
        self.follower = Follower() if self.local else None
        self.loaded = False
        self.runs: dict[str, dict] = {}  # run id -> RUN_FIELDS and "config" (a dict)
        self.last: dict[str, dict[str, tuple[float, int, float]]] = {}  # run id -> metric -> (value, step, timestamp)
        self.metric_names: set[str] = set()
        self.config_version = 0  # grows when a run appears or its config changes
        self.names_version = 0  # grows when a run appears, is renamed or is removed
        self.chunk_cursor = 0
        self.alert_cursor = 0
        self.failure: Exception | None = None  # set by the hub when a poll failed; the widgets show it
        self.retry_at = 0.0
        self._first = True
        self.clear()

    def clear(self) -> None:
        """Forget what the last poll found (nothing new until the next poll)."""
        self.points = NO_POINTS
        self.alerts = NO_ALERTS
        self.changed_runs: set[str] = set()
        self.changed_values: set[str] = set()
        self.removed: set[str] = set()  # runs deleted: the widgets drop them and sync their full state

    @property
    def changed(self) -> bool:
        """Whether the last poll found anything."""
        return bool(
            self.changed_runs or self.changed_values or self.removed or self.points.height or self.alerts.height
        )

    def poll(self, exclude_run_ids: list[str]) -> None:
        """Read what changed since the last poll (first poll: everything but the points)."""
        self.clear()
        # The first poll (the feed is new) reads no points: each widget reads its own history. A
        # project created after its widgets is read from the start instead, points included.
        initial, self._first = self._first, False
        try:
            if self.local:
                delta = self.reader.follow(  # type: ignore[attr-defined]
                    self.project, self.follower, exclude_run_ids=exclude_run_ids, initial=initial
                )
            else:
                delta = self._remote_delta(exclude_run_ids, initial)
        except ProjectNotFound:
            return  # not created yet: widgets show an empty state until the first init()
        self.loaded = True
        if delta is None:
            return
        self.chunk_cursor, self.alert_cursor = delta.chunk_cursor, delta.alert_cursor
        self.points, self.alerts = delta.points, delta.alerts
        for rid in delta.removed:
            if self.runs.pop(rid, None) is not None:
                self.last.pop(rid, None)
                self.removed.add(rid)
                self.config_version += 1
                self.names_version += 1
        self._take_runs(delta.runs)
        self._take_values(delta.last_values)

    def invalidate(self) -> None:
        """Re-read run states on the next poll (after a write through this kernel's reader)."""
        if self.follower is not None:
            self.follower.invalidate()

    def _take_runs(self, rows: list[dict]) -> None:
        for row in rows:
            row = dict(row)
            config = row.pop("config", None)
            old = self.runs.get(row["id"])
            parsed = _config(config) if old is None or old["config_text"] != config else old["config"]
            new = {**row, "config": parsed, "config_text": config}
            if old != new:
                if old is None or old["config_text"] != config:
                    self.config_version += 1
                if old is None or old["name"] != row["name"]:
                    self.names_version += 1
                self.runs[row["id"]] = new
                self.changed_runs.add(row["id"])

    def _take_values(self, rows: list[tuple]) -> None:
        for rid, metric, value, step, stamp in rows:
            values = self.last.setdefault(rid, {})
            old = values.get(metric)
            if old is None or old[1:] != (step, stamp) or not _same(old[0], value):
                values[metric] = (value, step, stamp)
                self.changed_values.add(rid)
                self.metric_names.add(metric)

    def _remote_delta(self, exclude_run_ids: list[str], initial: bool) -> Any:
        """A server has no follower: tail after the cursors, diff the run states here."""
        from ..storage.tail import Delta

        tail = self.reader.tail(
            self.project,
            chunk_after=0 if initial else self.chunk_cursor,
            alert_after=0 if initial else self.alert_cursor,
            metrics=[] if initial else None,  # the first poll only sets the cursors
            exclude_run_ids=exclude_run_ids,
        )
        runs = tail.runs
        if set(runs["id"].to_list()) - set(self.runs) or not self.loaded:
            configs = self.reader.runs(self.project).select("id", "config")
            runs = runs.join(configs, on="id", how="left")
        else:
            runs = runs.with_columns(
                pl.col("id")
                .replace_strict({k: v["config_text"] for k, v in self.runs.items()}, default=None)
                .alias("config")
            )
        alerts = NO_ALERTS if initial else tail.alerts
        removed = frozenset(set(self.runs) - set(tail.runs["id"].to_list()))
        last = list(tail.last_values.select("run_id", "metric", "value", "step", "timestamp").iter_rows())
        return Delta(
            runs.to_dicts(), last, tail.points, alerts, tail.chunk_cursor or 0, tail.alert_cursor or 0, removed
        )

    def history(self, metrics: list[str] | None) -> pl.DataFrame:
        """Points stored up to the feed's chunk cursor: a new chart's first load."""
        if not self.loaded:
            return NO_POINTS
        if self.local:
            return self.reader.points(self.project, self.chunk_cursor, metrics)  # type: ignore[attr-defined]
        tail = self.reader.tail(self.project, chunk_after=0, alert_after=None, metrics=metrics)
        return tail.points

    def all_alerts(self) -> pl.DataFrame:
        """Alerts stored up to the feed's alert cursor: a new alert stream's first load."""
        if not self.loaded:
            return NO_ALERTS
        frame = self.reader.alerts(self.project)
        return frame.filter(pl.col("id") <= self.alert_cursor)


def _config(text: str | None) -> dict:
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _same(a: float | None, b: float | None) -> bool:
    return a == b or (a != a and b != b)  # NaN is the same NaN
