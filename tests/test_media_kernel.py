"""MediaPanel in a real kernel: media logged in a busy cell reach the page during the cell, as deltas."""

from __future__ import annotations

import json

import nbformat
from nbclient import NotebookClient

CELLS = [
    "import json, time, numpy as np\n"
    "import trackio_nb as tnb\n"
    "run = tnb.init('live-media', name='r')\n"
    "run.log({'img': tnb.Image(np.zeros((2, 2), np.uint8))})\n"
    "panel = tnb.MediaPanel('live-media')\n"
    "sent = []\n"
    "def spy(msg, buffers=None, _orig=panel._send):\n"
    "    if msg.get('method') == 'custom' and msg['content']['type'] == 'media':\n"
    "        content = msg['content']\n"
    "        sent.append([[i['step'] for i in content['items']], len(content['names']), len(buffers or [])])\n"
    "    _orig(msg, buffers)\n"
    "panel._send = spy\n"
    "panel",
    # the cell stays busy while it logs: the panel is fed from inside log() (throttled)
    "for step in range(1, 41):\n"
    "    run.log({'loss': 1.0 / step, 'img': tnb.Image(np.full((2, 2), step, np.uint8))})\n"
    "    time.sleep(0.05)\n"
    "print(json.dumps(sent))",
    "run.finish()\nprint(json.dumps([len(panel.items), len(panel.files)]))",
]


def test_media_reach_the_panel_while_the_cell_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKIO_NB_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("TRACKIO_NB_SERVER", raising=False)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in CELLS]
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()

    def stdout(i: int) -> object:
        [out] = [o for o in nb.cells[i].outputs if o.output_type == "stream" and o.name == "stdout"]
        return json.loads(out.text)

    during = stdout(1)
    assert len(during) >= 3  # several deltas while the cell was still running
    steps = [s for item_steps, _, _ in during for s in item_steps]
    assert steps == sorted(set(steps)) and set(steps) <= set(range(1, 41))  # only new media, each once
    assert all(names == buffers == len(item_steps) for item_steps, names, buffers in during)  # a new file each
    assert stdout(2) == [41, 41]  # after the cell: every step, every file
