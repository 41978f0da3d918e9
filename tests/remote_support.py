"""Helpers for the remote tests: a real tracking server process on 127.0.0.1, and client processes."""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx

TOKEN = "test-token-0123456789"
# One plain-http client for the tests' own requests (httpx.get() would load the CA bundle each call).
HTTP = httpx.Client(verify=False, timeout=30.0)
_URL_LINE = re.compile(r"trackio-nb server on (http://[0-9.]+:(\d+))")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """`serve()` in its own interpreter; stdout and stderr go to files (no pipe can fill up)."""

    def __init__(
        self,
        root: Path,
        *,
        token: str | None = TOKEN,
        port: int = 0,
        public_read: bool = False,
        cli: bool = False,
        database: str | None = None,
    ) -> None:
        self.root, self.token, self.port, self.public_read, self.cli = root, token, port, public_read, cli
        self.database = database  # a PostgreSQL URL: serve --db instead of SQLite files under root
        self.proc: subprocess.Popen | None = None
        self.url = ""
        self.log_dir = root.parent / f"{root.name}-server-logs"

    def start(self, timeout: float = 20.0) -> ServerProcess:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        if self.cli:  # the console command itself: trackio-nb serve
            argv = ["-m", "trackio_nb", "serve", "--port", str(self.port), "--dir", str(self.root)]
            argv += ["--token", self.token] if self.token else []
            argv += ["--public-read"] if self.public_read else []
            argv += ["--db", self.database] if self.database else []
        else:
            argv = [
                "-c",
                "import sys; from trackio_nb.remote.commands import serve; "
                f"sys.exit(serve(port={self.port}, dir={str(self.root)!r}, token={self.token!r},"
                f" public_read={self.public_read!r}, db={self.database!r}))",
            ]
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKIO_NB_")}
        self.stdout_path = self.log_dir / f"stdout-{time.time_ns()}.txt"
        self.stderr_path = self.log_dir / f"stderr-{time.time_ns()}.txt"
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen([sys.executable, *argv], stdout=out, stderr=err, env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = _URL_LINE.search(self.stdout_path.read_text())
            if match and self._healthy(match.group(1)):
                self.url, self.port = match.group(1), int(match.group(2))
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"server did not start: {self.stdout_path.read_text()} {self.stderr_path.read_text()}")

    @staticmethod
    def _healthy(url: str) -> bool:
        try:
            return HTTP.get(url + "/api/v1/health", timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    def stdout(self) -> str:
        return self.stdout_path.read_text()

    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def db(self, project: str) -> sqlite3.Connection:
        """A read connection to the server's database of `project`."""
        from trackio_nb.storage import project_path

        return sqlite3.connect(f"file:{project_path(project, self.root)}?mode=ro", uri=True)


def client_env(server: ServerProcess | str, root: Path, token: str | None = TOKEN) -> dict:
    url = server if isinstance(server, str) else server.url
    env = {"TRACKIO_NB_DIR": str(root), "TRACKIO_NB_SERVER": url}
    if token is not None:
        env["TRACKIO_NB_TOKEN"] = token
    return env


def spawn(code: str, env: dict, log_dir: Path, name: str) -> tuple[subprocess.Popen, Path, Path]:
    """Start `code` in a new interpreter; stdin is a pipe, stdout/stderr go to files."""
    log_dir.mkdir(parents=True, exist_ok=True)
    out_path, err_path = log_dir / f"{name}.out", log_dir / f"{name}.err"
    full = {**{k: v for k, v in os.environ.items() if not k.startswith("TRACKIO_NB_")}, **env}
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=out, stderr=err, env=full, text=True
        )
    return proc, out_path, err_path


def wait_for_line(path: Path, text: str, proc: subprocess.Popen, timeout: float = 30.0) -> str:
    """Wait until `path` holds a whole line starting with `text`; returns that line.

    Only lines that end with a newline count: an unbuffered child (PYTHONUNBUFFERED) writes
    `print("started", run_id)` in pieces, and a reader between them would see "started" alone.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in path.read_text().split("\n")[:-1]:
            if line.startswith(text):
                return line
        if proc.poll() is not None:
            break
        time.sleep(0.02)
    raise AssertionError(f"no line {text!r} in {path}: {path.read_text()!r} (exit {proc.poll()})")


def wait_until(predicate, timeout: float = 20.0, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not reached in time")


def local_files(root: Path, pattern: str) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob(pattern)) if root.exists() else []
