"""notebooks/media.ipynb in a real kernel: the saved MediaPanel state is what storage holds, files as buffers."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import trackio_nb as tnb
from trackio_nb.widgets.static import WIDGET_STATE_MIME

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "media.ipynb"


def test_saved_panel_state_matches_storage(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKIO_NB_DIR", str(tmp_path))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        nb, timeout=120, kernel_name="python3", store_widget_state=True, resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    models = nb.metadata["widgets"][WIDGET_STATE_MIME]["state"].values()
    [panel] = [m for m in models if m["state"].get("_anywidget_id", "").endswith(".MediaPanel")]
    items = panel["state"]["items"]
    rows = tnb.Api().run("media-demo", "ring").media()
    assert [(i["step"], i["key"], i["kind"], i["caption"]) for i in items] == [
        (r["step"], r["key"], r["kind"], r["caption"]) for r in rows
    ]
    assert len(rows) == 13
    # Files were saved as binary buffers (path ["files", name]), each the bytes of its content address.
    buffers = {tuple(b["path"]): base64.b64decode(b["data"]) for b in panel.get("buffers", [])}
    names = {i["file"] for i in items if i["file"]} | {
        cell["file"]
        for i in items
        if i["kind"] == "table"
        for row in i["value"]["data"]
        for cell in row
        if isinstance(cell, dict)
    }
    assert set(buffers) == {("files", n) for n in names}
    for (_, name), data in buffers.items():
        assert hashlib.sha256(data).hexdigest() == name.split("/")[1].split(".")[0]


@pytest.fixture(autouse=True)
def _no_server(monkeypatch):
    monkeypatch.delenv("TRACKIO_NB_SERVER", raising=False)


def test_static_page_restores_saved_buffers():
    from trackio_nb.widgets.static import _restore_buffers

    state = {"items": [], "files": {}}
    buffers = [{"path": ["files", "ab/x.png"], "data": "iVBORw==", "encoding": "base64"}]
    assert _restore_buffers(state, buffers) == {"items": [], "files": {"ab/x.png": "iVBORw=="}}
    assert state == {"items": [], "files": {}}  # the saved state itself is left as it was
