"""The status readers report: the stored one, except for a run whose writer has died.

A running process refreshes `heartbeat_at` every HEARTBEAT_INTERVAL_S. A `running` run
whose heartbeat is older than STALE_AFTER_S is reported `failed` when its process is gone
(same host) or, for a run on another host, once the heartbeat is older than LOST_AFTER_S.
"""

from __future__ import annotations

import os
import socket

from ..enums import RunStatus

HEARTBEAT_INTERVAL_S = 2.0
STALE_AFTER_S = 10.0
LOST_AFTER_S = 300.0

RUNNING, FINISHED, FAILED = RunStatus.RUNNING.value, RunStatus.FINISHED.value, RunStatus.FAILED.value

HOST = socket.gethostname()


def pid_alive(pid: int) -> bool:
    """True if a process with `pid` exists on this host and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:  # no /proc (macOS): the signal probe is all there is
        return True


def effective_status(status: str, heartbeat_at: float | None, host: str | None, pid: int | None, now: float) -> str:
    """The status to report for a stored run row at time `now`."""
    if status != RUNNING or heartbeat_at is None:
        return status
    age = now - heartbeat_at
    if age <= STALE_AFTER_S:
        return RUNNING
    if age > LOST_AFTER_S:
        return FAILED
    if host == HOST and pid is not None and not pid_alive(pid):
        return FAILED
    return RUNNING
