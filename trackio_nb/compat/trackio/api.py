"""trackio's `Api`: `runs(project)` and `alerts(...)` with trackio's orderings and errors.

Reads go through `trackio_nb.Api`. What trackio does differently from trackio_nb's own Api:
alerts newest first, `[]` for a run that does not exist, `ValueError` for a missing project,
and run configs showing `_Username`, `_Created`, `_Group` (computed here, never stored).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ...api import Api as _Api
from ...api import RunView


def _check_project(api: _Api, project: str) -> None:
    if project not in api.projects():
        raise ValueError(f"Project '{project}' does not exist")


class Run:
    """One stored run, as trackio's Api shows it: `name`, `id`, `project`, `config`, `alerts`,
    `delete`, `move`, `rename`. Its trackio_nb view (history, final metrics) is `.view`."""

    def __init__(self, view: RunView) -> None:
        self.view = view
        self.project = view.project
        self.name = view.name

    @property
    def id(self) -> str:
        return self.view.id

    @property
    def config(self) -> dict[str, Any]:
        created = self.view.created_at
        return {
            **self.view.config,
            "_Username": None,
            "_Created": None if created is None else created.isoformat(),
            "_Group": self.view.group,
        }

    def alerts(self, level: str | None = None, since: str | None = None) -> list[dict]:
        """This run's alerts, newest first."""
        return _newest_first(self.view.alerts(level=level, since=since))

    def delete(self) -> bool:
        self.view.delete()
        return True

    def move(self, new_project: str) -> bool:
        self._follow(self.view.move(new_project))
        self.project = new_project
        return True

    def rename(self, new_name: str) -> Run:
        self._follow(self.view.rename(new_name))
        self.name = new_name
        return self

    def _follow(self, moved: object) -> None:
        if isinstance(moved, RunView):  # the view of the run where it now is
            self.view = moved

    def __repr__(self) -> str:
        return f"<Run {self.name} in project {self.project}>"


class Runs:
    """The runs of a project, oldest first (a sequence: iterate, index, len)."""

    def __init__(self, project: str, views: list[RunView]) -> None:
        self.project = project
        self._runs = [Run(v) for v in views]

    def __iter__(self) -> Iterator[Run]:
        return iter(self._runs)

    def __getitem__(self, index: int) -> Run:
        return self._runs[index]

    def __len__(self) -> int:
        return len(self._runs)

    def __repr__(self) -> str:
        return f"<Runs project={self.project} count={len(self._runs)}>"


def _newest_first(alerts: list[dict]) -> list[dict]:
    return sorted(alerts, key=lambda a: a["id"], reverse=True)


class Api:
    """trackio.Api over trackio_nb's local data directory."""

    def __init__(self) -> None:
        self._api = _Api()

    def runs(self, project: str) -> Runs:
        _check_project(self._api, project)
        return Runs(project, self._api.runs(project))

    def alerts(
        self, project: str, run: str | None = None, level: str | None = None, since: str | None = None
    ) -> list[dict]:
        """Alerts newest first; `run` is a name or id, and a run that does not exist gives []."""
        _check_project(self._api, project)
        alerts = self._api.alerts(project, level=level, since=since)
        if run is not None:
            alerts = [a for a in alerts if run in (a["run"], a["run_id"])]
        return _newest_first(alerts)
