"""docs/media.md runs: its Python examples in order (each states its results), then its shell block."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import numpy as np
from PIL import Image as PILImage

import trackio_nb as tnb

DOC = Path(__file__).resolve().parent.parent / "docs" / "media.md"
TEXT = DOC.read_text(encoding="utf-8")
PYTHON = re.findall(r"^```python\n(.*?)^```$", TEXT, flags=re.DOTALL | re.MULTILINE)
BASH = re.findall(r"^```bash\n(.*?)^```$", TEXT, flags=re.DOTALL | re.MULTILINE)


def test_docs_examples_run_in_order(data_dir, tmp_path):
    assert len(PYTHON) == 4 and len(BASH) == 1
    for index, code in enumerate(PYTHON):
        assert "assert " in code  # every example states its results
        exec(compile(code, f"{DOC.name} example {index + 1}", "exec"), {"__name__": f"media_doc_{index}"})
        assert tnb.current_run() is None or tnb.current_run().status == "finished"  # each example ends its run
    env = {**os.environ, "TRACKIO_NB_DIR": str(data_dir), "PYTHONPATH": str(DOC.parent.parent)}
    env.pop("TRACKIO_NB_SERVER", None)
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", BASH[0]], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert np.asarray(PILImage.open(tmp_path / "latest.png")).tolist() == np.full((8, 8, 3), 200).tolist()
