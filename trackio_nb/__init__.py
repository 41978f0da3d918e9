"""trackio_nb: experiment tracking that lives in the notebook.

    import trackio_nb as tnb
    tnb.init("my-project", config={"lr": 1e-3})
    tnb.watch("loss", nan=True, patience=20)
    for step in range(1000):
        tnb.log({"loss": loss})
        if tnb.should_stop():
            break
    tnb.finish()

Importing this package loads no Polars, NumPy, Altair or anywidget: readers and widgets
are imported when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .enums import AlertLevel, AlertReason, RunStatus

if TYPE_CHECKING:
    from .api import Api, RunView
    from .charts import chart
    from .media import Audio, Histogram, Html, Image, Markdown, Table, Trace, Video
    from .reports import report
    from .session import alert, current_run, finish, init, log, should_stop, watch
    from .tracked_run import Run
    from .widgets import AlertStream, CompareChart, MediaPanel, RunTable, SweepChart, show

__version__ = "0.1.0"

# The run and session modules load on first use too (then stay cached in this module), so
# `trackio-nb --help` and the query commands start without them.
_CACHED = {"Run", "alert", "current_run", "finish", "init", "log", "should_stop", "watch"}
_LAZY = {
    "Run": ("tracked_run", "Run"),
    **{name: ("session", name) for name in _CACHED - {"Run"}},
    "Api": ("api", "Api"),
    "RunView": ("api", "RunView"),
    "RunTable": ("widgets", "RunTable"),
    "AlertStream": ("widgets", "AlertStream"),
    "CompareChart": ("widgets", "CompareChart"),
    "SweepChart": ("widgets", "SweepChart"),
    "chart": ("charts", "chart"),
    "show": ("widgets", "show"),
    "MediaPanel": ("widgets", "MediaPanel"),
    "report": ("reports", "report"),
    **{
        name: ("media", name) for name in ("Image", "Table", "Histogram", "Markdown", "Html", "Audio", "Video", "Trace")
    },
}


def __getattr__(name: str) -> Any:
    if name == "run":  # wandb habit: `trackio_nb.run` is the current run (None before init())
        from .session import current_run

        return current_run()
    if name == "config":
        from .session import current_run

        run = current_run()
        if run is None:
            raise AttributeError("trackio_nb.config: no current run; call trackio_nb.init() first")
        return run.config
    if name in _LAZY:
        from importlib import import_module

        module, attr = _LAZY[name]
        value = getattr(import_module(f".{module}", __name__), attr)
        if name in _CACHED:
            globals()[name] = value
        return value
    raise AttributeError(f"module 'trackio_nb' has no attribute {name!r}")


__all__ = [
    "AlertLevel",
    "AlertReason",
    "AlertStream",
    "Api",
    "Audio",
    "CompareChart",
    "Histogram",
    "Html",
    "Image",
    "Markdown",
    "MediaPanel",
    "Run",
    "RunStatus",
    "RunTable",
    "RunView",
    "SweepChart",
    "Table",
    "Trace",
    "Video",
    "alert",
    "chart",
    "current_run",
    "finish",
    "init",
    "log",
    "report",
    "should_stop",
    "show",
    "watch",
]
