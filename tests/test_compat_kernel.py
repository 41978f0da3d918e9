"""compat.trackio in a real Jupyter kernel: `init()` embeds the live widgets (trackio's
embed=True), an unrelated failing cell does not fail the run, and shutting the kernel down
cleanly finishes a run left open (as trackio does)."""

from __future__ import annotations

import json

import nbformat
from nbclient import NotebookClient

import trackio_nb as tnb

CELLS = [
    "import trackio_nb.compat.trackio as trackio\ntrackio.init('nb', name='embedded')\ntrackio.log({'loss': 1.0})",
    "trackio.init('nb', name='quiet', embed=False)\ntrackio.log({'loss': 2.0})",
    "raise RuntimeError('an unrelated mistake')",
    "import json, trackio_nb\nprint(json.dumps({r.name: r.status for r in trackio_nb.Api().runs('nb')}))",
]


def test_compat_run_in_a_kernel(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKIO_NB_DIR", str(tmp_path / "data"))
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in CELLS]
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True).execute()

    [shown] = [o for o in nb.cells[0].outputs if o.output_type == "display_data"]
    assert shown.data["text/plain"] == "Dashboard(project='nb')"
    assert not [o for o in nb.cells[1].outputs if o.output_type == "display_data"]  # embed=False
    [error] = [o for o in nb.cells[2].outputs if o.output_type == "error"]
    assert error.ename == "RuntimeError"
    [out] = [o for o in nb.cells[3].outputs if o.output_type == "stream"]
    assert json.loads(out.text) == {"embedded": "finished", "quiet": "running"}  # alive in the kernel
    runs = {r.name: (r.status, r.final_metrics()) for r in tnb.Api().runs("nb")}
    # the kernel shut down cleanly: the run left open is finished, the failed cell notwithstanding
    assert runs == {"embedded": ("finished", {"loss": 1.0}), "quiet": ("finished", {"loss": 2.0})}
