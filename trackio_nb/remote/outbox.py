"""The outbox: batches a client could not deliver, kept in append-only files until sent.

Each backend that meets an unreachable server writes one file under
TRACKIO_NB_DIR/outbox/: a header line naming the server and run, then one JSON batch per
line, each written with one `write` and fsync'd. The owning process holds an exclusive
`flock` on its file while it lives; anyone else (`trackio-nb sync`, the next run on the
machine) delivers only files whose lock is free, i.e. whose writer is gone. A file is
deleted once everything in it was delivered. Batches carry ids and the server applies
each once, so delivering a file twice is harmless.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..storage import data_dir
from . import wire

SUFFIX = ".jsonl"
REJECTED = "rejected.jsonl"
FORMAT = 1


def outbox_dir(root: str | os.PathLike[str] | None = None) -> Path:
    """TRACKIO_NB_DIR/outbox (not created here)."""
    return data_dir(root) / "outbox"


class OutboxFile:
    """This process's outbox file: created on first append, locked until `close()`."""

    def __init__(self, directory: Path, server_url: str, project: str, run_id: str) -> None:
        self.directory = directory
        self.header = {"outbox": FORMAT, "server": server_url, "project": project, "run_id": run_id}
        self.path: Path | None = None
        self._fd: int | None = None
        self._size = 0

    def append(self, body: bytes) -> tuple[int, int]:
        """Write one encoded batch as one line, fsync it; returns where it is (offset, length)."""
        if self._fd is None:
            self._create()
        offset = self._size
        _write_all(self._fd, body + b"\n")
        os.fsync(self._fd)
        self._size += len(body) + 1
        return offset, len(body)

    def read(self, offset: int, length: int) -> bytes:
        """A batch this file holds (so queued batches need not stay in memory)."""
        data = os.pread(self._fd, length, offset)
        if len(data) != length:
            raise OSError(f"outbox file {self.path} is shorter than expected")
        return data

    def _create(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        stem = f"{time.time_ns()}-{os.getpid()}-{self.header['run_id']}"
        temp = self.directory / (stem + ".tmp")
        fd = os.open(temp, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_EXCL, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        header = wire.dumps(self.header) + b"\n"
        _write_all(fd, header)
        self._size = len(header)
        os.fsync(fd)
        final = self.directory / (stem + SUFFIX)
        os.rename(temp, final)  # visible to others only once locked and headed
        _fsync_dir(self.directory)
        self._fd, self.path = fd, final

    def discard(self) -> None:
        """Everything in the file was delivered: delete it (a later append starts a new one)."""
        if self._fd is None:
            return
        self.path.unlink(missing_ok=True)
        os.close(self._fd)
        self._fd, self.path = None, None

    def close(self) -> None:
        """Release the lock, leaving the file for `sync` or the next run."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass
class OrphanFile:
    """An outbox file whose writer is gone, locked by us while we deliver it."""

    path: Path
    header: dict
    batches: list[dict] = field(default_factory=list)
    torn: bool = False  # the last line was cut short (the writer died mid-write)
    damaged: int = 0  # lines that are not JSON (skipped)
    fd: int = -1

    def release(self, *, delete: bool) -> None:
        if delete:
            self.path.unlink(missing_ok=True)
        os.close(self.fd)


def orphans(directory: Path) -> Iterator[OrphanFile]:
    """Outbox files nobody holds, oldest first, each locked while the caller handles it.

    The caller must call `release()` on each one it gets.
    """
    if not directory.is_dir():
        return
    for path in sorted(directory.glob("*" + SUFFIX)):
        if path.name == REJECTED:
            continue
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue  # its process is alive and delivers it itself
        orphan = _read(path, fd)
        if orphan is None:
            os.close(fd)
            continue
        yield orphan


def _read(path: Path, fd: int) -> OrphanFile | None:
    with os.fdopen(os.dup(fd), "rb") as f:
        data = f.read()
    lines = data.split(b"\n")
    torn = lines[-1] != b""  # no final newline: the last write was cut short
    parsed = []
    for line in lines[:-1]:
        try:
            parsed.append(json.loads(line))
        except ValueError:
            parsed.append(None)
    if not parsed or not isinstance(parsed[0], dict) or parsed[0].get("outbox") != FORMAT:
        return None  # not an outbox file of ours: leave it alone
    batches = [b for b in parsed[1:] if isinstance(b, dict)]
    return OrphanFile(path, parsed[0], batches, torn, len(parsed) - 1 - len(batches), fd)


def reject(directory: Path, batch: dict, reason: str) -> Path:
    """Keep a batch the server refused for good (bad request) beside the outbox, with why."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / REJECTED
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        _write_all(fd, wire.dumps({"reason": reason, "batch": batch}) + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    return path
