"""Live notebook widgets (anywidget): RunTable, AlertStream, CompareChart, SweepChart and show().

They update while cells log (from `log()` in this kernel, throttled; from storage for runs
elsewhere), render offline (Vega is bundled) and keep a static view when exported.
See docs/widgets.md for the traits and messages a page needs to host the same front end.
"""

from __future__ import annotations

from .alert_stream import AlertStream
from .compare_chart import CompareChart
from .dashboard import Dashboard, show
from .media_panel import MediaPanel
from .run_table import RunTable
from .static import notebook_page_html, page_html, static_state
from .sweep_chart import SweepChart

__all__ = [
    "AlertStream",
    "CompareChart",
    "Dashboard",
    "MediaPanel",
    "RunTable",
    "SweepChart",
    "notebook_page_html",
    "page_html",
    "show",
    "static_state",
]
