"""Widgets in a real kernel: idle tailing on the event loop, never sending from threads, init(show=True)."""

from __future__ import annotations

import json

import nbformat
from nbclient import NotebookClient

CELLS = [
    # 0: widgets before any run
    "import asyncio, json, subprocess, sys, threading\n"
    "import trackio_nb as tnb\n"
    "chart = tnb.CompareChart('k', 'loss')\n"
    "table = tnb.RunTable('k')\n"
    "threads = []\n"
    "for w in (chart, table):\n"
    "    def spy(msg, buffers=None, _orig=w._send):\n"
    "        threads.append(threading.current_thread() is threading.main_thread())\n"
    "        _orig(msg, buffers)\n"
    "    w._send = spy",
    # 1: another process logs while this cell blocks; then the cell awaits, leaving the loop idle
    'code = \'import trackio_nb as tnb\\nwith tnb.init("k", name="child"):\\n    [tnb.log({"loss": float(i)}) for i in range(25)]\'\n'
    "subprocess.run([sys.executable, '-c', code], check=True)\n"
    "before = chart.points()\n"
    "await asyncio.sleep(2.5)\n"
    "print(json.dumps([sorted(before.items()), sorted((f'{r}/{m}', n) for (r, m), n in chart.points().items())]))",
    # 2: a run logging from a worker thread: the widgets send nothing from that thread
    "threads.clear()\n"
    "run = tnb.init('k', name='threaded')\n"
    "worker = threading.Thread(target=lambda: [tnb.log({'loss': 1.0}) for _ in range(2000)])\n"
    "worker.start(); worker.join()\n"
    "print(json.dumps(threads))",
    # 3: the post-cell flush (main thread) delivered it all
    "print(json.dumps([all(threads), len(threads) > 0, chart.points()[('threaded', 'loss')]]))\ntnb.finish()",
    # 4: init(show=True) displays the dashboard
    "run = tnb.init('k', name='shown', show=True)\ntnb.log({'loss': 3.0})\ntnb.finish()",
]


def test_idle_tail_threads_and_show_in_a_kernel(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKIO_NB_DIR", str(tmp_path / "data"))
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in CELLS]
    NotebookClient(nb, timeout=120, kernel_name="python3", store_widget_state=True).execute()

    def stdout(i: int) -> object:
        [out] = [o for o in nb.cells[i].outputs if o.output_type == "stream" and o.name == "stdout"]
        return json.loads(out.text)

    before, after = stdout(1)
    assert before == []  # the kernel was busy: nothing could update yet
    assert after == [["child/loss", 25]]  # the idle loop tailed the other process's rows
    assert stdout(2) == []  # logging from a thread sent nothing (Colab drops those)
    assert stdout(3) == [True, True, 2000]
    [shown] = [o for o in nb.cells[4].outputs if o.output_type == "display_data"]
    assert shown.data["text/plain"] == "Dashboard(project='k')"
    assert "application/vnd.jupyter.widget-view+json" in shown.data
    assert "<strong>k: runs</strong>" in shown.data["text/html"]
    states = [m["state"] for m in nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"].values()]
    tables = [s for s in states if s.get("_anywidget_id", "").endswith("RunTable")]
    assert [[(r["name"], r["status"], r["last_step"]) for r in t["rows"]] for t in tables] == [
        [("child", "finished", 24), ("threaded", "finished", 1999), ("shown", "finished", 0)]
    ] * 2
