"""A real PostgreSQL server for the tests: Debian's binaries, a temporary cluster, a random loopback port.

PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` user the
package creates (runuser); as any other user it is that user's. Authentication is `trust`
on 127.0.0.1 only; every test database is created fresh (`new_database`).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from tests.remote_support import free_port


def _bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise RuntimeError("PostgreSQL is not installed: apt-get install postgresql (the tests need a real server)")
    return Path(found[-1]).parent


class PostgresCluster:
    """initdb + pg_ctl in a temporary directory; `url(db)` names a database on it."""

    def __init__(self) -> None:
        self.bin = _bin_dir()
        self.dir = Path(tempfile.mkdtemp(prefix="tnb-pg-"))
        self.data, self.sockets = self.dir / "data", self.dir / "sockets"
        self.port = free_port()
        self.user = "postgres"
        self._created = 0

    def _as_owner(self, *argv: str) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--", *argv]
        return list(argv)

    def start(self) -> PostgresCluster:
        self.sockets.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
            shutil.chown(self.sockets, "postgres")
        else:
            self.user = os.environ.get("USER") or "postgres"
        run = dict(check=True, capture_output=True, text=True)
        subprocess.run(
            self._as_owner(
                str(self.bin / "initdb"), "-D", str(self.data), "-U", self.user, "--auth=trust", "-E", "UTF8"
            ),
            **run,
        )
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.sockets}"
            " -c max_connections=200 -c shared_buffers=64MB"
        )
        subprocess.run(
            self._as_owner(
                str(self.bin / "pg_ctl"),
                "-D",
                str(self.data),
                "-o",
                options,
                "-l",
                str(self.dir / "log"),
                "-w",
                "start",
            ),
            **run,
        )
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def new_database(self, prefix: str = "t") -> str:
        """A new empty database; returns its URL."""
        import psycopg

        self._created += 1
        name = f"{prefix}_{os.getpid()}_{self._created}_{time.monotonic_ns() % 100000}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def restart(self) -> None:
        """Restart the server (fast shutdown: every open connection is dropped), same options."""
        subprocess.run(
            self._as_owner(
                str(self.bin / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.dir / "log"),
                "-m",
                "fast",
                "-w",
                "restart",
            ),
            check=True,
            capture_output=True,
        )

    def stop(self) -> None:
        subprocess.run(
            self._as_owner(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"),
            capture_output=True,
        )
        shutil.rmtree(self.dir, ignore_errors=True)
