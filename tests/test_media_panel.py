"""MediaPanel in Python: initial state, only new media in deltas (files as binary buffers), fallback, show()."""

from __future__ import annotations

import json

import numpy as np
import pytest

import trackio_nb as tnb
from trackio_nb.widgets.hub import HUB


def _img(level: int) -> np.ndarray:
    return np.full((2, 3), level, dtype=np.uint8)


@pytest.fixture
def panel_run(data_dir):
    run = tnb.init("panel", "r1")
    run.log({"loss": 1.0, "img": tnb.Image(_img(10), caption="<b>cap</b>"), "notes": tnb.Markdown("# one")})
    panel = tnb.MediaPanel("panel")
    yield run, panel
    panel.close()


def test_initial_state_holds_items_and_files_as_bytes(panel_run):
    _run, panel = panel_run
    assert repr(panel) == "MediaPanel(project='panel', keys=2, items=2)"
    assert [(i["key"], i["kind"], i["step"], i["run"]) for i in panel.items] == [
        ("img", "image", 0, "r1"),
        ("notes", "markdown", 0, "r1"),
    ]
    assert panel.items[1]["value"] == "# one"
    [(name, data)] = panel.files.items()
    assert panel.items[0]["file"] == name and data[:4] == b"\x89PNG"
    assert isinstance(data, bytes)  # a binary buffer on the wire, never base64 in JSON


def test_only_new_media_travel_with_files_as_buffers(panel_run):
    run, panel = panel_run
    sent = []
    panel.send = lambda content, buffers=None: sent.append((content, buffers))
    run.log({"img": tnb.Image(_img(10))})  # same pixels: the page has this file already
    run.log({"img": tnb.Image(_img(99))})
    run.flush()
    HUB.tick()
    [(message, buffers)] = sent
    assert message["type"] == "media" and message["seq"] == 1
    assert [(i["step"], i["key"]) for i in message["items"]] == [(1, "img"), (2, "img")]
    assert len(message["names"]) == 1 == len(buffers)  # one new file, sent as bytes
    assert buffers[0][:4] == b"\x89PNG"
    assert message["names"][0] == message["items"][1]["file"] != message["items"][0]["file"]
    text = json.dumps(message)
    assert "iVBOR" not in text  # no base64 PNG in the JSON part
    HUB.tick()
    assert len(sent) == 1  # nothing new, nothing sent


def test_static_fallback_escapes_and_sandboxes(data_dir):
    with tnb.init("fallback", "r") as run:
        run.log({"page": tnb.Html("<script>alert(1)</script>", caption="<i>x</i>"), "t": tnb.Table(data=[["<b>"]])})
    panel = tnb.MediaPanel("fallback", key="page")
    try:
        bundle, _ = panel._repr_mimebundle_()
        assert bundle["text/plain"] == "MediaPanel(project='fallback', key='page', keys=1, items=1)"
        html = bundle["text/html"]
        assert '<iframe sandbox="" class="tnb-media-html-frame" srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;">' in html
        assert "<figcaption>&lt;i&gt;x&lt;/i&gt;</figcaption>" in html
        assert "<script>" not in html
    finally:
        panel.close()


def test_panel_follows_one_run_by_name(data_dir):
    with tnb.init("two", "a") as a:
        a.log({"m": tnb.Markdown("from a")})
    with tnb.init("two", "b") as b:
        b.log({"m": tnb.Markdown("from b")})
    panel = tnb.MediaPanel("two", run="b")
    try:
        assert [i["value"] for i in panel.items] == ["from b"]
    finally:
        panel.close()


def test_show_adds_the_panel_only_when_the_project_has_media(data_dir):
    with tnb.init("plain") as run:
        run.log({"loss": 1.0})
    board = tnb.show("plain")
    try:
        assert (board.media, len(board.children)) == (None, 3)
    finally:
        board.close()
    with tnb.init("plain") as run:
        run.log({"img": tnb.Image(_img(5))})
    board = tnb.show("plain")
    try:
        assert len(board.children) == 4 and board.children[3] is board.media
        assert repr(board.media) == "MediaPanel(project='plain', keys=1, items=1)"
    finally:
        board.close()
