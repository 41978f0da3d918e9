"""`tnb.chart(project, metric)` and `RunView.chart(metric)`: the curves as an `altair.Chart` to restyle.

The same lines as the widgets' chart (trackio_nb.widgets.spec.lines), with the data inline.
Altair is imported here only, and is the [charts] extra.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import polars as pl

from .errors import MissingExtra

if TYPE_CHECKING:
    from .readers import Reader

X_MODES = ("step", "time", "relative")


def _altair() -> Any:
    try:
        import altair
    except ImportError:
        raise MissingExtra("charts", "tnb.chart() and RunView.chart()") from None
    return altair


def curves(reader: Reader, project: str, runs: list[tuple[str, str]], metric: str, x: str) -> pl.DataFrame:
    """Rows {run_id, run, metric, x, y} of `metric` for (run id, label) pairs; non-finite values dropped."""
    if x not in X_MODES:
        raise ValueError(f"x must be one of {', '.join(X_MODES)}, got {x!r}")
    frames = []
    for rid, label in runs:
        history = reader.history(project, rid, [metric]).filter(pl.col(metric).is_not_null())
        if history.is_empty() or history.schema[metric] != pl.Float64:
            continue
        history = history.filter(pl.col(metric).is_finite())
        if x == "step":
            xs = pl.col("step").cast(pl.Float64)
        elif x == "time":
            xs = pl.col("timestamp")
        else:
            xs = (pl.col("timestamp") - pl.col("timestamp").min()).dt.total_microseconds() / 1e6
        frames.append(
            history.select(
                pl.lit(rid).alias("run_id"),
                pl.lit(label).alias("run"),
                pl.lit(metric).alias("metric"),
                xs.alias("x"),
                pl.col(metric).alias("y"),
            )
        )
    if not frames:
        return pl.DataFrame(
            schema={"run_id": pl.String, "run": pl.String, "metric": pl.String, "x": pl.Float64, "y": pl.Float64}
        )
    return pl.concat(frames, how="vertical_relaxed")


def figure(data: pl.DataFrame, metric: str, x: str) -> Any:
    """The altair.Chart of `curves()` rows."""
    alt = _altair()
    from .widgets.spec import lines

    return lines(alt, data, x).properties(title=metric)


def chart(
    project: str,
    metric: str,
    runs: list[str] | None = None,
    *,
    x: str = "step",
    server_url: str | None = None,
    token: str | None = None,
    dir: str | os.PathLike[str] | None = None,
) -> Any:
    """An `altair.Chart` of `metric` for every run of `project` (or `runs`: names or ids)."""
    alt = _altair()  # fail before reading anything when the extra is missing
    del alt
    if not isinstance(metric, str) or not metric:
        raise TypeError("metric must be a non-empty string")
    from .presentation import run_labels
    from .readers import reader_for

    reader = reader_for(server_url, token, None if dir is None else str(dir))
    table = reader.runs(project).select("id", "name")
    pairs = table.rows()
    if runs is not None:
        if isinstance(runs, str) or not all(isinstance(r, str) and r for r in runs):
            raise TypeError("runs must be a list of run names or ids")
        wanted = set(runs)
        pairs = [(rid, name) for rid, name in pairs if rid in wanted or name in wanted]
    labels = run_labels(pairs)
    return figure(curves(reader, project, [(rid, labels[rid]) for rid, _ in pairs], metric, x), metric, x)
