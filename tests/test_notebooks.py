"""The example notebooks in real kernels: saved widget state matches storage exactly; nbval passes."""

from __future__ import annotations

import base64
import math
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import trackio_nb as tnb
from trackio_nb.widgets.jsonable import series_points
from trackio_nb.widgets.static import WIDGET_STATE_MIME, with_buffers

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO / "notebooks"
NAMES = ("quickstart", "compare_runs", "agent_loop")


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """Each notebook executed once (widget state saved) into its own data directory."""
    out = {}
    for name in NAMES:
        root = tmp_path_factory.mktemp(name)
        nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("TRACKIO_NB_DIR", str(root))
            mp.delenv("TRACKIO_NB_SERVER", raising=False)
            client = NotebookClient(
                nb,
                timeout=120,
                kernel_name="python3",
                store_widget_state=True,
                resources={"metadata": {"path": str(NOTEBOOKS)}},
            )
            client.execute()
        out[name] = (nb, root)
    return out


def widget_states(nb) -> dict[str, list[dict]]:
    """Saved anywidget states by widget class name."""
    states: dict[str, list[dict]] = {}
    for model in nb.metadata["widgets"][WIDGET_STATE_MIME]["state"].values():
        if model["model_name"] == "AnyModel":
            state = with_buffers(model)  # binary columns are saved apart, base64, with their path
            states.setdefault(state["_anywidget_id"].rsplit(".", 1)[1], []).append(state)
    return states


def expected(project: str, root: Path) -> tuple[list, dict, list]:
    """Rows, curves and alerts as the Api reads them from the same data directory."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRACKIO_NB_DIR", str(root))
        api = tnb.Api()
        runs = api.runs(project)
        rows = [(r.id, r.name, r.status, int(r.history()["step"].max())) for r in runs]
        curves = {}
        for r in runs:
            history = r.history()
            for metric in r.metrics():
                values = [None if math.isnan(v) or math.isinf(v) else v for v in history[metric].to_list()]
                curves[(r.id, metric)] = (history["step"].to_list(), values)
        alerts = [(a["id"], a["run_id"], a["level"], a["title"], a["step"]) for a in api.alerts(project)]
    return rows, curves, alerts


def check_state(nb, project: str, root: Path) -> dict[str, list[dict]]:
    rows, curves, alerts = expected(project, root)
    states = widget_states(nb)
    for table in states["RunTable"]:
        assert [(r["id"], r["name"], r["status"], r["last_step"]) for r in table["rows"]] == rows
    for chart in states["CompareChart"]:
        wanted = {k: v for k, v in curves.items() if not chart["metrics"] or k[1] in chart["metrics"]}
        assert {(s["run_id"], s["metric"]): series_points(s) for s in chart["series"]} == wanted
    for stream in states["AlertStream"]:
        assert [(a["id"], a["run_id"], a["level"], a["title"], a["step"]) for a in stream["alerts"]] == alerts
    return states


def test_quickstart_saved_state(executed):
    nb, root = executed["quickstart"]
    states = check_state(nb, "quickstart", root)
    [table] = states["RunTable"]
    assert [(r["name"], r["status"], r["last_step"]) for r in table["rows"]] == [
        ("sgd-lr0.05", "finished", 149),
        ("sgd-lr1.5", "failed", 3),
    ]
    [stream] = states["AlertStream"]
    assert [(a["run"], a["level"], a["data"]["reason"]) for a in stream["alerts"]] == [
        ("sgd-lr1.5", "error", "max_exceeded")
    ]
    [chart] = states["CompareChart"]
    assert sorted((s["run"], s["metric"], len(series_points(s)[0])) for s in chart["series"]) == [
        ("sgd-lr0.05", "loss", 150),
        ("sgd-lr0.05", "val_loss", 150),
        ("sgd-lr1.5", "loss", 4),
        ("sgd-lr1.5", "val_loss", 4),
    ]


def test_compare_runs_saved_state(executed):
    nb, root = executed["compare_runs"]
    states = check_state(nb, "sweep", root)
    [table] = states["RunTable"]
    assert [(r["name"], r["last_step"]) for r in table["rows"]] == [("lr=0.01", 79), ("lr=0.03", 79), ("lr=0.1", 79)]
    assert table["columns"] == ["loss", "val_loss"]
    [stream] = states["AlertStream"]
    assert stream["alerts"] == []


def test_agent_loop_saved_state_includes_runs_from_other_processes(executed):
    nb, root = executed["agent_loop"]
    states = check_state(nb, "agent", root)
    [table] = states["RunTable"]
    assert sorted((r["name"], r["status"]) for r in table["rows"]) == [("lr-0.05", "finished"), ("lr-1.5", "failed")]
    [chart] = states["CompareChart"]
    assert sorted((s["run"], len(series_points(s)[0])) for s in chart["series"]) == [("lr-0.05", 60), ("lr-1.5", 4)]


def test_saved_notebooks_fetch_nothing_from_a_cdn(executed):
    for nb, _root in executed.values():
        for state in widget_states(nb).values():
            for s in state:
                assert "http://" not in s["_esm"] and "https://" not in s["_esm"]


def test_a_notebook_saves_the_vega_bundle_once_however_many_charts(tmp_path):
    """show() plus two more charts: one VegaBundle model holds the bundle; the file stays small."""
    from trackio_nb.widgets.bundle import vega_bundle, vega_bundle_gz

    cells = [
        "import trackio_nb as tnb\n"
        "for lr in (0.1, 0.01):\n"
        "    with tnb.init('size', name=f'lr={lr}', config={'lr': lr}):\n"
        "        for s in range(200):\n"
        "            tnb.log({'loss': 1 / (1 + lr * s), 'acc': lr * s})",
        "tnb.show('size')",
        "tnb.CompareChart('size', 'loss')",
        "tnb.CompareChart('size', 'acc', x='relative', smoothing=0.6)",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRACKIO_NB_DIR", str(tmp_path / "data"))
        mp.delenv("TRACKIO_NB_SERVER", raising=False)
        NotebookClient(nb, timeout=120, kernel_name="python3", store_widget_state=True).execute()
    path = tmp_path / "size.ipynb"
    nbformat.write(nb, path)
    text = path.read_text()
    packed = base64.b64encode(vega_bundle_gz()).decode()
    assert text.count(packed[:400]) == 1  # saved once (gzipped, one binary buffer), with three charts
    assert vega_bundle()[:200] not in text
    states = widget_states(nb)
    assert len(states["CompareChart"]) == 3 and len(states["VegaBundle"]) == 1
    bundle_ref = "IPY_MODEL_" + next(
        k
        for k, m in nb.metadata["widgets"][WIDGET_STATE_MIME]["state"].items()
        if m.get("buffers") and m["buffers"][0]["path"] == ["gz"]
    )
    assert {c["vega"] for c in states["CompareChart"]} == {bundle_ref}
    assert path.stat().st_size <= 700_000, path.stat().st_size  # the gzipped bundle is ~400 KB of base64


def test_nbval_over_the_notebooks(tmp_path):
    env = {**os.environ, "TRACKIO_NB_DIR": str(tmp_path / "data")}
    env.pop("TRACKIO_NB_SERVER", None)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "-p", "no:cacheprovider", "-q", str(NOTEBOOKS)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    checked = sum(cell.source.startswith("# NBVAL_CHECK_OUTPUT") for n in NAMES for cell in _cells(n))
    assert checked == 5
    assert " passed" in result.stdout and "failed" not in result.stdout


def _cells(name: str):
    return nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4).cells
