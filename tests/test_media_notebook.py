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


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """The notebook executed once in a real kernel, its widget state saved; and its data directory."""
    root = tmp_path_factory.mktemp("media-nb")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRACKIO_NB_DIR", str(root))
        mp.delenv("TRACKIO_NB_SERVER", raising=False)
        NotebookClient(
            nb, timeout=120, kernel_name="python3", store_widget_state=True, resources={"metadata": {"path": str(root)}}
        ).execute()
    return nb, root


def test_saved_panel_state_matches_storage(executed, monkeypatch):
    nb, root = executed
    monkeypatch.setenv("TRACKIO_NB_DIR", str(root))
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


def test_exported_page_shows_the_saved_media_offline(executed, chromium_browser, tmp_path):
    from tests.browser import offline_page
    from trackio_nb.widgets import notebook_page_html

    nb, _root = executed
    path = tmp_path / "page.html"
    path.write_text(notebook_page_html(nb), encoding="utf-8")
    page = offline_page(chromium_browser)
    page.goto(path.as_uri())
    page.wait_for_selector("body[data-ready=true]")
    samples = "section.tnb-media-key[data-key=samples]"
    page.wait_for_selector(f"{samples} img")
    assert page.locator(f"{samples} .tnb-media-step").inner_text() == "step 9"
    assert page.locator(f"{samples} .tnb-media-slider").get_attribute("max") == "3"  # steps 0, 3, 6, 9
    page.wait_for_function(f'() => document.querySelector("{samples} img").naturalWidth === 32')
    assert page.locator("section.tnb-media-key[data-key=predictions] td img").count() == 1
    assert page.locator("section.tnb-media-key[data-key=notes] .tnb-media-md strong").inner_text() == "step 9"
    assert page.locator("section.tnb-media-key[data-key=pixels] svg rect").count() == 16
    page.guard.check()
    page.close()


def test_static_page_restores_saved_buffers():
    from trackio_nb.widgets.static import _restore_buffers

    state = {"items": [], "files": {}}
    buffers = [{"path": ["files", "ab/x.png"], "data": "iVBORw==", "encoding": "base64"}]
    assert _restore_buffers(state, buffers) == {"items": [], "files": {"ab/x.png": "iVBORw=="}}
    assert state == {"items": [], "files": {}}  # the saved state itself is left as it was
