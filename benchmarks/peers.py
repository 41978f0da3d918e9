"""The peer we measure against: trackio 0.43.0 from PyPI, in a venv of its own.

`trackio_python()` creates benchmarks/.venv-trackio once (pip install trackio==0.43.0) and
returns its interpreter, so every benchmark runs the same workloads on both trackers in
one run.
"""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv-trackio"
TRACKIO_VERSION = "0.43.0"


def trackio_python() -> Path:
    """Interpreter of a venv holding trackio==TRACKIO_VERSION (created on first use)."""
    python = VENV / "bin" / "python"
    marker = VENV / f".trackio-{TRACKIO_VERSION}"
    if not marker.exists():
        print(f"creating {VENV} with trackio=={TRACKIO_VERSION} (once) ...", file=sys.stderr)
        venv.create(VENV, with_pip=True, clear=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", f"trackio=={TRACKIO_VERSION}"],
            check=True,
        )
        marker.touch()
    return python


def run_in_trackio(code: str, env: dict[str, str] | None = None, timeout: float = 1800) -> str:
    """Run `code` with the trackio venv's interpreter; returns its stdout."""
    import os

    done = subprocess.run(
        [str(trackio_python()), "-c", code],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise RuntimeError(f"trackio peer failed:\n{done.stderr[-3000:]}")
    return done.stdout
