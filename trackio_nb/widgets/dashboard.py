"""`show(project)`: the run table, the compare chart and the alert stream together."""

from __future__ import annotations

import os
from typing import Any

import ipywidgets

from ..storage import ProjectNotFound
from .alert_stream import AlertStream
from .base import with_html
from .compare_chart import CompareChart
from .media_panel import MediaPanel
from .run_table import RunTable


class Dashboard(ipywidgets.VBox):
    """The three live widgets of one project, stacked."""

    def __init__(
        self, table: RunTable, chart: CompareChart, alerts: AlertStream, media: MediaPanel | None = None
    ) -> None:
        super().__init__(children=[table, chart, alerts] + ([media] if media is not None else []))
        self.table, self.chart, self.alerts, self.media = table, chart, alerts, media

    def refresh(self) -> None:
        """Pull what storage holds now into all three widgets."""
        self.table.refresh()

    def close(self) -> None:
        for child in self.children:
            child.close()
        super().close()

    def __repr__(self) -> str:
        return f"Dashboard(project={self.table.project!r})"

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict, dict]:
        html = "".join(child._html() for child in self.children)
        return with_html(super()._repr_mimebundle_(**kwargs), repr(self), html)


def show(
    project: str,
    *,
    metrics: list[str] | None = None,
    runs: list[str] | None = None,
    server_url: str | None = None,
    token: str | None = None,
    dir: str | os.PathLike[str] | None = None,
) -> Dashboard:
    """A `Dashboard` of `project` (display it, or make it a cell's last expression)."""
    source = {"server_url": server_url, "token": token, "dir": dir}
    table = RunTable(project, metrics=metrics, **source)
    media = MediaPanel(project, **source) if _has_media(table) else None
    return Dashboard(
        table,
        CompareChart(project, metrics=metrics, runs=runs, **source),
        AlertStream(project, **source),
        media,
    )


def _has_media(widget: RunTable) -> bool:
    """Whether the project has logged media (then show() adds a MediaPanel)."""
    try:
        return not widget._reader.media(widget.project, None, None, None).head(1).is_empty()
    except ProjectNotFound:
        return False
