"""`tnb.Api`: read projects, runs, metrics and alerts, locally or from a tracking server."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import polars as pl

from .analysis import MODES, check_choice
from .enums import REASONS, parse_level
from .errors import InvalidValue
from .presentation import alert_dicts, parse_since, require_metric, resolve_run, to_datetime
from .readers import Reader, reader_for


def check_alert_filters(level: object, reason: object, after_id: object) -> tuple[str | None, str | None, int | None]:
    """Validate alert filters: TypeError for wrong types, InvalidValue for bad values."""
    if level is not None:
        if not isinstance(level, str):  # AlertLevel is a str enum
            raise TypeError(f"level must be an AlertLevel or a string, got {type(level).__name__}")
        level = parse_level(level)
    if reason is not None:
        reason = check_choice("reason", reason if not isinstance(reason, str) else str(reason), REASONS)
    if after_id is not None:
        if isinstance(after_id, bool) or not isinstance(after_id, int):
            raise TypeError(f"after_id must be an integer, got {type(after_id).__name__}")
        if after_id < 0:
            raise InvalidValue(f"after_id must be >= 0, got {after_id}")
    return level, reason, after_id


def check_project(project: object) -> str:
    """`project` if it is a string (its value is checked where it is opened), else TypeError."""
    if not isinstance(project, str):
        raise TypeError(f"project must be a string, got {type(project).__name__}")
    return project


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
        check_choice("mode", mode, MODES)
        df = self._reader.final_values(self.project, [self.id], None, mode)
        return dict(zip(df["metric"].to_list(), df["value"].to_list(), strict=True))

    def metrics(self) -> list[str]:
        """Names of the metrics this run logged."""
        return self._reader.metrics(self.project, [self.id])

    def history(self, metric: str | None = None) -> pl.DataFrame:
        """`step`, `timestamp` and one column per metric (only `metric` when given)."""
        if metric is not None:
            require_metric(self.metrics(), metric, f"run {self.name!r} (id {self.id}) of project {self.project!r}")
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

    def media(self, key: str | None = None) -> list[dict]:
        """Logged media, oldest first: dicts `step, key, kind, caption, path, value` (`path` for files,
        `value` for inline objects: Markdown/Html text, histogram bins and counts, table, trace)."""
        from .media.rows import media_dicts

        if key is not None and not isinstance(key, str):
            raise TypeError(f"key must be a string, got {type(key).__name__}")
        return media_dicts(self._reader, self.project, self._reader.media(self.project, [self.id], key))

    # -- starting over: the same functions as `trackio-nb delete|rename|move` ------------------

    def delete(self) -> dict[str, Any]:
        """Delete this run and everything it logged (refused while it is running); returns what it held."""
        from .documents import delete_run

        return delete_run(self._reader, self.project, self.id)

    def rename(self, new_name: str) -> RunView:
        """Give this run a new name (its id stays); returns this view, renamed."""
        from .documents import rename_run

        self.name = rename_run(self._reader, self.project, self.id, new_name)["run"]
        return self

    def move(self, new_project: str) -> RunView:
        """Move this ended run, with all it logged and its id, to `new_project` (created if missing)."""
        from .documents import move_run

        self.project = move_run(self._reader, self.project, self.id, new_project)["project"]
        return self

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
        check_project(project)
        return [RunView(self._reader, project, row) for row in self._reader.runs(project).iter_rows(named=True)]

    def run(self, project: str, name_or_id: str) -> RunView:
        check_project(project)
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
        check_project(project)
        level, reason, after_id = check_alert_filters(level, reason, after_id)
        since = parse_since(since)
        run_ids = None
        if run is not None:
            run_ids = [resolve_run(self._reader.runs(project), project, run)["id"]]
        return alert_dicts(self._reader.alerts(project, run_ids, level, reason, since, after_id))

    def stop(self, project: str, run: str) -> None:
        """Ask a run to stop: its `should_stop()` turns True within about a second."""
        check_project(project)
        row = resolve_run(self._reader.runs(project), project, run)
        self._reader.stop(project, row["id"])

    def delete_run(self, project: str, run: str) -> dict[str, Any]:
        """Delete a run (id, or a name unique in the project) and everything it logged.

        Refused with `RunInProgress` while the run is still running in a live process.
        Returns {project, run, run_id, deleted, runs, points, alerts}: what the run held.
        """
        check_project(project)
        from .documents import delete_run

        return delete_run(self._reader, project, run)

    def delete_project(self, project: str) -> dict[str, Any]:
        """Delete a project: its database, media and every file beside it (refused while a run is running).

        Returns {project, deleted, runs, points, alerts}: what the project held.
        """
        check_project(project)
        from .documents import delete_project

        return delete_project(self._reader, project)
