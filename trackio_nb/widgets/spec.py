"""The charts' Vega-Lite specs: authored with Altair (`build_specs`), shipped as JSON (`specs`).

Altair takes seconds to import and is an extra ([charts]), so the widgets read the compiled
specs from assets/specs.json; tests/test_widget_specs.py regenerates them with Altair and
compares. After editing `build_specs`, rewrite the file with `python -m trackio_nb.widgets.spec`.

Compare chart rows (dataset `points`): {run_id, run, metric, x, y, ys}: `x` is the step, the
wall time (epoch ms) or the seconds since the run's first point, `y` the raw value (drawn
faint) and `ys` its EMA-smoothed value (drawn bold). The `highlight` param (a run id or null)
dims every other run. Sweep chart rows (dataset `runs`): {run_id, run, param, value}.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

X_MODES = ("step", "time", "relative")
SWEEP_TYPES = ("quantitative", "nominal")
SPECS_FILE = "specs.json"
DIMMED = "highlight !== null && datum.run_id !== highlight"


@cache
def specs() -> dict[str, Any]:
    """Every compiled spec, from the package (no Altair import)."""
    return json.loads(resources.files(__package__).joinpath("assets", SPECS_FILE).read_text(encoding="utf-8"))


def compare_spec(x: str = "step") -> dict:
    """The compare chart for x mode `x`: one line per run, one facet per metric (independent y)."""
    if x not in X_MODES:
        raise ValueError(f"x must be one of {', '.join(X_MODES)}, got {x!r}")
    return json.loads(json.dumps(specs()["compare"][x]))


def report_chart_spec() -> dict:
    """The single-layer line chart HTML reports start from (see trackio_nb.reports.components.report_spec)."""
    return json.loads(json.dumps(specs()["report"]))


def sweep_spec(kind: str = "quantitative") -> dict:
    """The sweep chart: one point per run, a config value across, the metric up."""
    if kind not in SWEEP_TYPES:
        raise ValueError(f"kind must be one of {', '.join(SWEEP_TYPES)}, got {kind!r}")
    return json.loads(json.dumps(specs()["sweep"][kind]))


def _compare(alt: Any, x: str) -> dict:
    title = {"step": "step", "time": "wall time", "relative": "relative time (s)"}[x]
    kind = "T" if x == "time" else "Q"
    x_enc, x_tip = alt.X(f"x:{kind}", title=title), alt.Tooltip(f"x:{kind}", title=title)
    highlight = alt.param(name="highlight", value=None)
    base = alt.Chart(alt.NamedData("points")).encode(
        x=x_enc, color=alt.Color("run:N", title="run"), detail=alt.Detail("run_id:N")
    )
    y_scale = alt.Scale(type="linear", zero=False)
    raw = base.mark_line(clip=True, strokeWidth=1).encode(
        y=alt.Y("y:Q", title=None, scale=y_scale),
        opacity=alt.condition(DIMMED, alt.value(0.05), alt.value(0.25)),
    )
    smooth = base.mark_line(clip=True).encode(
        y=alt.Y("ys:Q", title=None, scale=y_scale),
        opacity=alt.condition(DIMMED, alt.value(0.12), alt.value(1.0)),
        strokeWidth=alt.condition("highlight !== null && datum.run_id === highlight", alt.value(3.5), alt.value(2)),
        tooltip=[
            alt.Tooltip("run:N"),
            alt.Tooltip("metric:N"),
            x_tip,
            alt.Tooltip("y:Q", title="value"),
            alt.Tooltip("ys:Q", title="smoothed"),
        ],
    )
    unit = alt.layer(raw, smooth).properties(width=360, height=200)
    chart = (
        unit.facet(facet=alt.Facet("metric:N", title=None), columns=2)
        .resolve_scale(y="independent")
        .add_params(highlight)
    )
    # resize: the facet layout grows as rows are inserted (the view starts empty)
    return chart.properties(autosize=alt.AutoSizeParams(type="pad", resize=True)).to_dict()


def lines(alt: Any, data: Any, x: str = "step") -> Any:
    """Plain lines, one per run (`x`, `y` by `run`): the report's chart and `tnb.chart()`'s figure."""
    title = {"step": "step", "time": "wall time", "relative": "relative time (s)"}[x]
    kind = "T" if x == "time" else "Q"
    return (
        alt.Chart(data)
        .mark_line(clip=True)
        .encode(
            x=alt.X(f"x:{kind}", title=title),
            y=alt.Y("y:Q", title=None, scale=alt.Scale(type="linear", zero=False)),
            color=alt.Color("run:N", title="run"),
            detail=alt.Detail("run_id:N"),
            tooltip=[alt.Tooltip("run:N"), alt.Tooltip("metric:N"), alt.Tooltip(f"x:{kind}", title=title), "y:Q"],
        )
        .properties(width=360, height=200)
    )


def _report(alt: Any) -> dict:
    """The report's chart: plain lines by step (the report adds its legend toggle and best-run stroke)."""
    unit = lines(alt, alt.NamedData("points"))
    chart = unit.facet(facet=alt.Facet("metric:N", title=None), columns=2).resolve_scale(y="independent")
    return chart.properties(autosize=alt.AutoSizeParams(type="pad", resize=True)).to_dict()


def _sweep(alt: Any, kind: str) -> dict:
    highlight = alt.param(name="highlight", value=None)
    x = alt.X("param:Q", title="param", scale=alt.Scale(zero=False)) if kind == "quantitative" else alt.X("param:N")
    chart = (
        alt.Chart(alt.NamedData("runs"))
        .mark_point(filled=True, size=70)
        .encode(
            x=x,
            y=alt.Y("value:Q", title="value", scale=alt.Scale(zero=False)),
            color=alt.Color("run:N", title="run"),
            opacity=alt.condition(DIMMED, alt.value(0.2), alt.value(1.0)),
            tooltip=[alt.Tooltip("run:N"), alt.Tooltip(f"param:{kind[0].upper()}"), alt.Tooltip("value:Q")],
        )
        .add_params(highlight)
        .properties(width=420, height=260)
    )
    return chart.properties(autosize=alt.AutoSizeParams(type="pad", resize=True)).to_dict()


def build_specs() -> dict[str, Any]:
    """Compile every spec with Altair (the source of truth for specs.json)."""
    import altair as alt

    return {
        "compare": {x: _compare(alt, x) for x in X_MODES},
        "sweep": {kind: _sweep(alt, kind) for kind in SWEEP_TYPES},
        "report": _report(alt),
    }


def write_specs(path: Path | None = None) -> Path:
    """Rewrite assets/specs.json from `build_specs()`."""
    target = path or Path(__file__).resolve().parent / "assets" / SPECS_FILE
    target.write_text(json.dumps(build_specs(), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return target


if __name__ == "__main__":
    print(write_specs())
