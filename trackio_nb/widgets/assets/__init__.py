"""The widgets' front-end files: one self-contained ES module per widget and a shared CSS."""

from __future__ import annotations

from functools import cache
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODULES = ("run_table", "alert_stream", "compare_chart", "sweep_chart")


@cache
def esm(name: str) -> str:
    """The ES module text of widget `name` (one of MODULES)."""
    if name not in MODULES:
        raise ValueError(f"no widget module named {name!r}; choose one of {', '.join(MODULES)}")
    return (HERE / f"{name}.js").read_text(encoding="utf-8")


@cache
def css() -> str:
    """The CSS shared by all widgets (class names prefixed `tnb-`)."""
    return (HERE / "widgets.css").read_text(encoding="utf-8")


@cache
def host() -> str:
    """The static widget host (window.tnbWidgetHost): renders these modules from saved state, no kernel.

    The one host of every static page: widget pages, HTML reports, exported notebooks.
    """
    return (HERE / "widget_host.js").read_text(encoding="utf-8")
