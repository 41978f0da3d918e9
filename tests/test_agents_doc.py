"""docs/agents.md runs as written: its python and bash blocks, in order, in one fresh data directory."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "agents.md"
BLOCKS = [
    (lang, textwrap.dedent(body))
    for lang, body in re.findall(r"^ *```(python|bash)\n(.*?)^ *```$", DOC.read_text(), flags=re.S | re.M)
]


def test_the_doc_has_the_cli_loop_and_the_mcp_loop():
    assert [lang for lang, _ in BLOCKS] == ["python", "bash", "bash", "bash", "python"]
    assert "stdio_client" in BLOCKS[-1][1] and '"-m", "trackio_nb", "mcp"' in BLOCKS[-1][1]


def test_every_block_runs_in_order(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKIO_NB_")}
    env["TRACKIO_NB_DIR"] = str(tmp_path / "data")
    outputs = []
    for index, (lang, code) in enumerate(BLOCKS):
        argv = [sys.executable, "-c", code] if lang == "python" else ["bash", "-e", "-c", code]
        proc = subprocess.run(argv, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=180)
        assert proc.returncode == 0, f"block {index + 1} ({lang}) failed:\n{code}\n{proc.stderr[-3000:]}"
        outputs.append(proc.stdout)
    alerts = json.loads(outputs[1])
    assert {a["run"] for a in alerts["alerts"] if a["data"]["reason"] == "max_exceeded"} == {"lr-2"}
    stop = json.loads(outputs[2])
    assert (stop["run"], stop["status"], stop["stop_requested"]) == ("lr-0.01", "finished", True)
    best, compare, summary, history = (json.loads(line) for line in outputs[3].splitlines())
    assert (best["best_run"], compare["metrics"], summary["num_runs"]) == ("lr-0.1", ["val/loss", "train/loss"], 3)
    [curve] = history["metrics"]
    # 60 falling values cut by windows of 15: each window's first and last (its max and min) are kept
    assert (curve["metric"], curve["num_values"]) == ("val/loss", 60)
    assert [p["step"] for p in curve["values"]] == [0, 14, 15, 29, 30, 44, 45, 59]
