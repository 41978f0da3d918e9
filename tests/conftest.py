"""Shared fixtures: every test gets its own data directory and no run leaks between tests.

`tests` is a package: import helpers with `from tests.conftest import run_python`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import subprocess
import sys
from pathlib import Path

import pytest

import trackio_nb as tnb
from trackio_nb import session

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch) -> Path:
    """TRACKIO_NB_DIR points at a fresh directory; a run left current is finished afterwards."""
    root = tmp_path / "trackio_nb"
    monkeypatch.setenv("TRACKIO_NB_DIR", str(root))
    monkeypatch.delenv("TRACKIO_NB_SERVER", raising=False)
    monkeypatch.delenv("TRACKIO_NB_TOKEN", raising=False)
    yield root
    run = session.current_run()
    if run is not None:
        tnb.finish()


def run_coroutine(coro, timeout: float = 120):
    """asyncio.run(coro) in a thread of its own, with a timeout.

    The session-scoped Playwright fixture (sync API) keeps an event loop running in the main
    thread once a browser test has run, and asyncio.run() refuses to start there.
    """
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, asyncio.wait_for(coro, timeout)).result()


def run_python(code: str, root: Path, *, timeout: float = 60, env: dict | None = None, **kwargs):
    """Run `code` in a fresh interpreter with TRACKIO_NB_DIR=root; returns CompletedProcess."""
    full_env = {**os.environ, "TRACKIO_NB_DIR": str(root), **(env or {})}
    return subprocess.run(
        [sys.executable, "-c", code], env=full_env, capture_output=True, text=True, timeout=timeout, **kwargs
    )


@pytest.fixture(scope="session")
def chromium_browser():
    """One headless Debian Chromium for the whole session (see tests/browser.py)."""
    from playwright.sync_api import sync_playwright

    from tests.browser import CHROMIUM, FLAGS

    if not Path(CHROMIUM).exists():  # a test dependency: CI installs it (README.md, .ci/run)
        pytest.fail(f"needs Debian's chromium at {CHROMIUM}: apt-get install chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def postgres():
    """One real PostgreSQL server for the session (Debian's binaries, tests/pg_support.py).

    Each user asks it for a fresh database: `postgres.new_database()` returns its URL.
    """
    from tests.pg_support import PostgresCluster

    cluster = PostgresCluster().start()
    yield cluster
    cluster.stop()
