"""Commands that need an extra name it when it is missing: one line on stderr, exit 1, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _cli_without(modules: list[str], argv: list[str], tmp_path) -> subprocess.CompletedProcess:
    hide = "; ".join(f"sys.modules[{m!r}] = None" for m in modules)
    code = f"import sys; {hide}; from trackio_nb.cli import main; sys.exit(main({argv!r}))"
    env = {**os.environ, "TRACKIO_NB_DIR": str(tmp_path), "PYTHONPATH": REPO}
    env.pop("TRACKIO_NB_TOKEN", None)
    return subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize("missing", [["uvicorn"], ["starlette"]])
def test_serve_without_the_server_extra_names_it(tmp_path, missing):
    proc = _cli_without(missing, ["serve", "--port", "0"], tmp_path)
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == (
        "trackio-nb: error: trackio-nb serve (the tracking server) needs the [server] extra:"
        " pip install 'trackio_nb[server]'\n"
    )


@pytest.mark.parametrize("missing", [["nbformat"], ["nbconvert"]])
def test_export_without_the_export_extra_names_it(tmp_path, missing):
    (tmp_path / "nb.ipynb").write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    proc = _cli_without(missing, ["export", "nb.ipynb"], tmp_path)
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == (
        "trackio-nb: error: trackio-nb export (notebook to HTML) needs the [export] extra:"
        " pip install 'trackio_nb[export]'\n"
    )
    assert not (tmp_path / "nb.html").exists()
