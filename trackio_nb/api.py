"""`tnb.Api`: read projects, runs, metrics and alerts, locally or from a tracking server."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import polars as pl

from .enums import AlertLevel, AlertReason
from .readers import Reader, reader_for


def to_datetime(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, tz=timezone.utc)


def iso(epoch: float | None) -> str | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, tz=timezone.utc).isoformat()


def parse_since(since: object) -> datetime | None:
    """A timezone-aware datetime from a datetime or an ISO-8601 string (naive means UTC)."""
    if since is None:
        return None
    if isinstance(since, str):
        try:
            since = datetime.fromisoformat(since.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"since must be an ISO-8601 date and time, got {since!r}") from None
    if not isinstance(since, datetime):
        raise TypeError(f"since must be a datetime or an ISO-8601 string, got {type(since).__name__}")
    return since if since.tzinfo is not None else since.replace(tzinfo=timezone.utc)


def check_alert_filters(level: object, reason: object, after_id: object) -> tuple[str | None, str | None, int | None]:
    """Validate alert filters: TypeError for wrong types, ValueError for bad values."""
    if level is not None:
        if not isinstance(level, str):
            raise TypeError(f"level must be an AlertLevel or a string, got {type(level).__name__}")
        if str(level).lower() not in {lv.value for lv in AlertLevel}:
            raise ValueError(f"level must be one of info, warn, error, got {level!r}")
        level = str(level).lower()
    if reason is not None:
        if not isinstance(reason, str):
            raise TypeError(f"reason must be an AlertReason or a string, got {type(reason).__name__}")
        if str(reason) not in {r.value for r in AlertReason}:
            raise ValueError(f"reason must be one of {', '.join(r.value for r in AlertReason)}, got {reason!r}")
        reason = str(reason)
    if after_id is not None:
        if isinstance(after_id, bool) or not isinstance(after_id, int):
            raise TypeError(f"after_id must be an integer, got {type(after_id).__name__}")
        if after_id < 0:
            raise ValueError(f"after_id must be >= 0, got {after_id}")
    return level, reason, after_id


def alert_dicts(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """Alert rows as the documented dicts: id, run, run_id, timestamp (ISO), step, level, title, text, data."""
    out = []
    for row in frame.iter_rows(named=True):
        out.append(
            {
                "id": row["id"],
                "run": row["run"],
                "run_id": row["run_id"],
                "timestamp": iso(row["timestamp"]),
                "step": row["step"],
                "level": row["level"],
                "title": row["title"],
                "text": row["text"],
                "data": None if row["data"] is None else json.loads(row["data"]),
            }
        )
    return out


def resolve_run(runs: pl.DataFrame, project: str, name_or_id: str) -> dict:
    """The run row whose id is `name_or_id`, else the only run with that name."""
    if not isinstance(name_or_id, str):
        raise TypeError(f"run must be a name or id string, got {type(name_or_id).__name__}")
    by_id = runs.filter(pl.col("id") == name_or_id)
    if by_id.height:
        return by_id.row(0, named=True)
    by_name = runs.filter(pl.col("name") == name_or_id)
    if by_name.height == 1:
        return by_name.row(0, named=True)
    if by_name.height > 1:
        ids = ", ".join(by_name["id"].to_list())
        raise LookupError(f"{by_name.height} runs in {project!r} are named {name_or_id!r} (ids {ids}); pass an id")
    raise LookupError(f"project {project!r} has no run named or with id {name_or_id!r}")


class RunView:
    """A read-only view of one run; every method queries the source afresh."""

    def __init__(self, reader: Reader, project: str, row: dict) -> None:
        self._reader = reader
        self.project = project
        self.id: str = row["id"]
        self.name: str = row["name"]
        self.group: str | None = row["group"]
        self.status: str = row["status"]
        self.config: dict = json.loads(row["config"]) if row["config"] else {}
        self.created_at = to_datetime(row["created_at"])
        self.finished_at = to_datetime(row["finished_at"])

    def final_metrics(self, mode: str = "last") -> dict[str, float]:
        """Every numeric metric's last, minimum or maximum value, from one query."""
        df = self._reader.final_values(self.project, [self.id], None, mode)
        return dict(zip(df["metric"].to_list(), df["value"].to_list(), strict=True))

    def metrics(self) -> list[str]:
        """Names of the metrics this run logged."""
        return self._reader.metrics(self.project, [self.id])

    def history(self, metric: str | None = None) -> pl.DataFrame:
        """`step`, `timestamp` and one column per metric (only `metric` when given)."""
        if metric is not None and not isinstance(metric, str):
            raise TypeError(f"metric must be a string, got {type(metric).__name__}")
        return self._reader.history(self.project, self.id, None if metric is None else [metric])

    def chart(self, metric: str, *, x: str = "step") -> Any:
        """An `altair.Chart` of this run's `metric` (x: "step", "time" or "relative"); needs [charts]."""
        from .charts import curves, figure

        if not isinstance(metric, str) or not metric:
            raise TypeError("metric must be a non-empty string")
        return figure(curves(self._reader, self.project, [(self.id, self.name)], metric, x), metric, x)

    def alerts(self, **filters: Any) -> list[dict]:
        """This run's alerts; takes the filters of `Api.alerts` except `run`."""
        if "run" in filters:
            raise TypeError("RunView.alerts() takes no run= filter: it is this run's alerts")
        level, reason, after_id = check_alert_filters(
            filters.pop("level", None), filters.pop("reason", None), filters.pop("after_id", None)
        )
        since = parse_since(filters.pop("since", None))
        if filters:
            raise TypeError(f"unknown alert filter(s): {', '.join(sorted(filters))}")
        return alert_dicts(self._reader.alerts(self.project, [self.id], level, reason, since, after_id))

    def __repr__(self) -> str:
        return f"<RunView {self.project}/{self.name} id={self.id} status={self.status}>"


class Api:
    """Read access to tracked projects: local files, or a tracking server with `server_url`."""

    def __init__(self, server_url: str | None = None, token: str | None = None, *, dir: str | None = None) -> None:
        self._reader = reader_for(server_url, token, dir)

    def projects(self) -> list[str]:
        return self._reader.projects()

    def runs(self, project: str) -> list[RunView]:
        """All runs of `project`, oldest first, including runs that have not logged yet."""
        return [RunView(self._reader, project, row) for row in self._reader.runs(project).iter_rows(named=True)]

    def run(self, project: str, name_or_id: str) -> RunView:
        return RunView(self._reader, project, resolve_run(self._reader.runs(project), project, name_or_id))

    def alerts(
        self,
        project: str,
        run: str | None = None,
        level: str | None = None,
        reason: str | None = None,
        since: datetime | str | None = None,
        after_id: int | None = None,
    ) -> list[dict]:
        """Alerts of a project (or one run), oldest first, filtered; `after_id` is a cursor."""
        level, reason, after_id = check_alert_filters(level, reason, after_id)
        since = parse_since(since)
        run_ids = None
        if run is not None:
            run_ids = [resolve_run(self._reader.runs(project), project, run)["id"]]
        return alert_dicts(self._reader.alerts(project, run_ids, level, reason, since, after_id))

    def stop(self, project: str, run: str) -> None:
        """Ask a run to stop: its `should_stop()` turns True within about a second."""
        row = resolve_run(self._reader.runs(project), project, run)
        self._reader.stop(project, row["id"])
