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


def _cli_without(modules: tuple[str, ...], *argv: str, tmp_path) -> subprocess.CompletedProcess:
    code = (
        "import sys\n"
        f"for m in {modules!r}:\n"
        "    sys.modules[m] = None  # as if the extra were not installed\n"
        "from trackio_nb.cli import main\n"
        f"sys.exit(main({list(argv)!r}))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "TRACKIO_NB_DIR": str(tmp_path)}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)


def test_serve_without_the_server_extra_names_it(tmp_path):
    out = _cli_without(("uvicorn", "starlette"), "serve", "--port", "0", tmp_path=tmp_path)
    assert out.returncode == 1
    assert out.stderr == (
        "trackio-nb: error: trackio-nb serve (the tracking server) needs the [server] extra:"
        " pip install 'trackio_nb[server]'\n"
    )


def test_export_without_the_export_extra_names_it(tmp_path):
    notebook = tmp_path / "n.ipynb"
    notebook.write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    out = _cli_without(("nbconvert", "nbformat", "nbclient"), "export", str(notebook), tmp_path=tmp_path)
    assert out.returncode == 1
    assert out.stderr == (
        "trackio-nb: error: trackio-nb export (notebook to HTML) needs the [export] extra:"
        " pip install 'trackio_nb[export]'\n"
    )


def test_readme_shows_both_installs_and_names_only_real_extras():
    import re

    import tomllib

    text = (REPO / "README.md").read_text()
    install = text.split("## Install", 1)[1].split("## ", 1)[0]
    assert "pip install trackio_nb " in install and "pip install 'trackio_nb[all]'" in install
    extras = set(tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"])
    named = set(re.findall(r"`\[(\w+)\]`", install))
    assert named == extras  # every extra is described, none that does not exist
