"""The compare chart's Vega-Lite spec, built with Altair on the named dataset `points`.

Importing Altair takes seconds, so the compiled spec is cached beside the Vega bundle,
keyed by the Altair version and SPEC_VERSION (bump it when the chart below changes).
"""

from __future__ import annotations

import json
import os
import tempfile
from functools import cache
from importlib.metadata import version

from .bundle import cache_dir

SPEC_VERSION = 2


@cache
def compare_spec(x: str) -> dict:
    """One line per run, one facet per metric (independent y scales), legend and tooltips.

    Rows of `points` are {run_id, run, metric, x, y}; with x="timestamp", x is epoch ms.
    """
    path = cache_dir() / f"compare-spec-v{SPEC_VERSION}-{x}-altair{version('altair')}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        pass
    spec = build_spec(x)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(spec, f)
    os.replace(tmp, path)
    return spec


def build_spec(x: str) -> dict:
    """Build the spec with Altair (slow to import; `compare_spec` caches the result)."""
    import altair as alt

    x_enc = alt.X("x:T", title="time") if x == "timestamp" else alt.X("x:Q", title="step")
    x_tip = alt.Tooltip("x:T", title="time") if x == "timestamp" else alt.Tooltip("x:Q", title="step")
    unit = (
        alt.Chart(alt.NamedData("points"))
        .mark_line(clip=True)
        .encode(
            x=x_enc,
            y=alt.Y("y:Q", title=None, scale=alt.Scale(type="linear", zero=False)),
            color=alt.Color("run:N", title="run"),
            detail="run_id:N",
            tooltip=[alt.Tooltip("run:N"), alt.Tooltip("metric:N"), x_tip, alt.Tooltip("y:Q", title="value")],
        )
        .properties(width=360, height=200)
    )
    chart = unit.facet(facet=alt.Facet("metric:N", title=None), columns=2).resolve_scale(y="independent")
    # resize: the facet layout grows as rows are inserted (the view starts empty)
    return chart.properties(autosize=alt.AutoSizeParams(type="pad", resize=True)).to_dict()
