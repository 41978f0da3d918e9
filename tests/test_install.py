"""The core install is lean: resolving `pip install .` (dry run, the whole dependency tree) pulls in no web
server, no Jupyter conversion stack or front end, no Altair/vl-convert, no PostgreSQL driver, MCP or torch."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO

HEAVY = {
    "starlette",
    "uvicorn",
    "nbconvert",
    "nbclient",
    "nbformat",
    "altair",
    "vl-convert-python",
    "jupyterlab",
    "notebook",
    "jupyter-server",
    "psycopg",
    "psycopg-binary",
    "adbc-driver-postgresql",
    "pyarrow",
    "mcp",
    "torch",
    "pillow",
}


def test_core_install_resolves_without_heavy_packages(tmp_path):
    report = tmp_path / "report.json"
    result = subprocess.run(
        [
            sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--no-build-isolation",
            "--quiet", "--report", str(report), str(REPO),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    names = {item["metadata"]["name"].lower().replace("_", "-") for item in json.loads(report.read_text())["install"]}
    assert {"trackio-nb", "polars", "numpy", "sqlite-utils", "anywidget", "ipywidgets", "httpx"} <= names
    assert names & HEAVY == set()
