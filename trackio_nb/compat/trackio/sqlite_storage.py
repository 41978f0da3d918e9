"""`trackio.sqlite_storage.SQLiteStorage`: the read calls trackio programs use, over `trackio_nb.Api`.

trackio's class holds its storage engine; this one only reads, through the same functions
every trackio_nb reader calls. Writes, Parquet export and raw queries are not offered: use
`trackio.log` and `trackio_nb.Api` / `trackio-nb export`.
"""

from __future__ import annotations

from typing import Any

from ...api import Api
from ...presentation import iso_utc


def _history_rows(project: str, run: str | None, run_id: str | None) -> list[dict[str, Any]]:
    api = Api()
    if project not in api.projects():
        return []
    views = [
        v for v in api.runs(project) if (run_id is not None and v.id == run_id) or (run_id is None and v.name == run)
    ]
    if not views:
        return []
    rows = []
    for row in views[-1].history().to_dicts():  # the latest run of that name, as trackio resolves it
        entry = {k: v for k, v in row.items() if v is not None and k != "timestamp"}
        entry["timestamp"] = iso_utc(row["timestamp"])
        rows.append(entry)
    return rows


class SQLiteStorage:
    """Read-only: `get_projects`, `get_runs`, `get_logs`, `get_log_count`, `get_alerts`."""

    @staticmethod
    def get_projects() -> list[str]:
        return Api().projects()

    @staticmethod
    def get_runs(project: str) -> list[str]:
        api = Api()
        return [v.name for v in api.runs(project)] if project in api.projects() else []

    @staticmethod
    def get_logs(
        project: str,
        run: str | None = None,
        max_points: int | None = None,
        run_id: str | None = None,
        scalar_only: bool = False,
    ) -> list[dict[str, Any]]:
        """One dict per logged step: `step`, `timestamp` (ISO 8601) and that step's values.

        `max_points` keeps at most that many rows, evenly spaced, first and last included;
        `scalar_only` drops values that are not numbers.
        """
        rows = _history_rows(project, run, run_id)
        if scalar_only:
            rows = [
                {k: v for k, v in r.items() if k in ("step", "timestamp") or isinstance(v, (int, float))} for r in rows
            ]
        if max_points is not None and len(rows) > max_points > 1:
            last = len(rows) - 1
            rows = [rows[round(i * last / (max_points - 1))] for i in range(max_points)]
        return rows

    @staticmethod
    def get_log_count(project: str, run: str | None = None, run_id: str | None = None) -> int:
        return len(_history_rows(project, run, run_id))

    @staticmethod
    def get_alerts(
        project: str, run_name: str | None = None, run_id: str | None = None, level: str | None = None, since=None
    ) -> list[dict]:
        """Alerts newest first; [] for a missing project or run (as trackio's storage answers)."""
        from .api import Api as TrackioApi

        if project not in Api().projects():
            return []
        return TrackioApi().alerts(project, run=run_id or run_name, level=level, since=since)
