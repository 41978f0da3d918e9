"""Self-contained HTML reports: `tnb.report(project, path)` / `trackio-nb report`.

One file that opens offline: a server-side run table and alert timeline (readable with
JavaScript off), and the widgets' own front ends (a CompareChart per metric, the
AlertStream) rendered from embedded JSON state, with the Vega bundle inlined once.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ..errors import InvalidValue
from ..readers import reader_for
from .components import alert_state, chart_state, report_labels, report_spec
from .data import collect
from .media_section import media_section
from .page import render_page

__all__ = ["report"]


def _front_end(metrics: list[str]) -> tuple[dict[str, str], dict[str, dict], str]:
    from ..widgets import assets
    from ..widgets.bundle import vega_bundle
    from ..widgets.spec import report_chart_spec

    modules = {
        "compare_chart": assets.esm("compare_chart"),
        "alert_stream": assets.esm("alert_stream"),
        "css": assets.css(),
    }
    spec = report_chart_spec()
    specs = dict.fromkeys(metrics, spec)
    return modules, specs, vega_bundle()


def report(
    project: str,
    path: str | os.PathLike[str] = "report.html",
    runs: list[str] | None = None,
    metrics: list[str] | None = None,
    title: str | None = None,
    *,
    server_url: str | None = None,
    token: str | None = None,
) -> Path:
    """Write one self-contained HTML report of `project` to `path`; return its resolved path.

    `runs` (names or ids) and `metrics` narrow what is shown (default: everything). Reads
    the local data directory, or a tracking server with `server_url` (TRACKIO_NB_SERVER).
    """
    if not isinstance(path, (str, os.PathLike)):
        raise InvalidValue(f"path must be a file path, got {type(path).__name__}")
    target = Path(path).expanduser()
    if target.is_dir():
        raise InvalidValue(f"path {str(target)!r} is a directory; give a file name such as report.html")
    reader = reader_for(server_url, token)
    try:
        data = collect(reader, project, runs=runs, metrics=metrics, title=title)
        media = media_section(reader, project, data.runs, report_labels(data))
    finally:
        close = getattr(reader, "close", None)
        if close is not None:
            close()
    modules, specs, vega = _front_end(data.metrics)
    blob = {
        "project": data.project,
        "charts": [
            chart_state(data, m, report_spec(specs[m], data.best.get(m, {}).get("run_id"))) for m in data.metrics
        ],
        "alert_stream": alert_state(data) if data.alerts else None,
    }
    html = render_page(data, blob, modules, vega, media)
    _write_atomically(target, html)
    return target.resolve()


def _write_atomically(target: Path, text: str) -> None:
    """Replace `target` in one step (a reader never sees half a file), with the usual permissions."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".report-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a report is meant to be shared
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
