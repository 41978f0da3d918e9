"""The backend of a remote run: every write goes to a tracking server, in batches applied once.

Logs, alerts and config travel from the background writer's thread; status changes from
the run's thread with a short timeout. Every batch has an id (a per-process nonce and a
sequence number) and the server records the ids it applied, so a resend never duplicates.
When the server cannot take a batch, the batch goes to this process's outbox file
(fsync'd) and every later batch queues behind it, so the server sees them in order; the
writer retries with backoff, `close()` tries for a few seconds more, and whatever is left
is delivered by the next run on this machine or by `trackio-nb sync`. Nothing here raises
into the training loop because of the network, and no project database is created locally.
"""

from __future__ import annotations

import base64
import itertools
import json
import math
import secrets
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path

import httpx

from .. import rejected
from ..backend import RunIdentity, RunSpec
from ..enums import RunStatus
from ..errors import ServerError
from ..names import new_run_id, new_run_name
from ..storage.records import AlertRecord, LogEntry, MediaRecord
from ..writer import Loss
from . import wire
from .delivery import JSON_HEADERS, OK, RETRY, deliver_orphans, send_batch
from .media_wire import encode_media
from .outbox import REJECTED, OutboxFile, outbox_dir, reject
from .transport import make_client, normalize_url, raise_for

SEND_TIMEOUT_S = 10.0
HURRY_SEND_TIMEOUT_S = 1.0  # while the run is ending: a slow server sends the batch to the outbox
OPEN_TIMEOUT_S = 5.0
STATUS_TIMEOUT_S = 1.5
STATUS_LOCK_WAIT_S = 0.2
CLOSE_DEADLINE_S = 3.0
FAIL_CLOSE_DEADLINE_S = 1.5
MAX_BATCH_BYTES = 8 * 1024 * 1024
BACKOFF_MIN_S = 0.25
BACKOFF_MAX_S = 2.0
STOP_FRESH_S = 0.5


class RemoteBackend:
    """Sends one run's writes to `server_url`; see the module docstring for the guarantees."""

    def __init__(self, project: str, server_url: str, token: str | None, root: str | Path | None = None) -> None:
        self.project = project
        self.server_url = normalize_url(server_url)
        self.location = ("remote", self.server_url.rstrip("/"))
        self._token = token
        self._http = make_client(self.server_url, token, read_timeout=SEND_TIMEOUT_S)
        self._directory = outbox_dir(root)
        self._outbox: OutboxFile | None = None
        # Queued batches, oldest first: (body if it could not be written to disk else None,
        # (offset, length) in the outbox file, steps, alerts). Bodies on disk are read back
        # when sent, so a long outage costs disk, not memory.
        self._pending: deque[tuple[bytes | None, tuple[int, int] | None, int, int]] = deque()
        self._lock = threading.Lock()  # guards _pending and the outbox file
        self._send_lock = threading.Lock()  # one sender at a time: batches arrive in order
        self._nonce = secrets.token_hex(8)
        self._seq = itertools.count()
        self.run_id: str | None = None
        self.name: str | None = None
        self._retry_at = 0.0
        self._failures = 0
        self._stop = False
        self._stop_seen_at = -math.inf
        self._reported: set[str] = set()
        self._failing = False
        self._closed = False
        self._owner: list | None = None
        self._hurry = False  # set by closing()
        self.on_loss: Callable[[Loss], None] | None = None  # set by the run: batches the server refused

    # -- the Backend protocol -------------------------------------------------------------

    def open_run(self, spec: RunSpec) -> RunIdentity:
        run_id = new_run_id()
        self._owner = [spec.host, spec.pid]  # write batches carry it: a run taken over refuses them
        batch = {
            "id": self._batch_id(),
            "kind": "open",
            "project": self.project,
            "run_id": run_id,
            "name": spec.name,
            "group": spec.group,
            "config": spec.config,
            "resume": spec.resume,
            "host": spec.host,
            "pid": spec.pid,
            "created_at": spec.created_at,
        }
        problem = None
        try:
            response = self._http.post(
                "/batches", content=wire.dumps(batch), headers=JSON_HEADERS, timeout=OPEN_TIMEOUT_S
            )
        except httpx.HTTPError as exc:
            response, problem = None, f"{type(exc).__name__}: {exc}"
        if response is not None and response.status_code < 500 and response.status_code not in (408, 429):
            raise_for(response, self.server_url)  # a wrong token or bad arguments: say so now
            reply = response.json()
            self.run_id, self.name = reply["id"], reply["name"]
            self._start_orphan_delivery()
            return RunIdentity(reply["id"], reply["name"], reply["next_step"], reply["resumed"], reply["config"])
        if problem is None:
            problem = f"HTTP {response.status_code}"
        if spec.resume == "must":
            raise ServerError(
                f"cannot resume run {spec.name!r}: the server at {self.server_url} is unreachable ({problem})"
            )
        # Offline start: the run gets its id and name here; the server creates it on delivery.
        name = spec.name or f"{new_run_name(0).rsplit('-', 1)[0]}-{run_id[:4]}"
        batch.update(name=name, resume="never")
        self.run_id, self.name = run_id, name
        self._offline(problem)
        self._enqueue(wire.dumps(batch), 0, 0)
        if spec.resume == "allow":
            _say(f"trackio_nb: cannot resume {spec.name!r} while {self.server_url} is unreachable; starting a new run")
        return RunIdentity(run_id, name, 0, resumed=False, config=dict(spec.config))

    def write(
        self,
        logs: Sequence[LogEntry],
        alerts: Sequence[AlertRecord],
        config: dict | None,
        media: Sequence[MediaRecord] = (),
    ) -> None:
        if not logs and not alerts and config is None and not media:
            return
        alert_dicts = [_alert_dict(a) for a in alerts]
        bodies = self._encode(list(logs), alert_dicts, config) if logs or alerts or config is not None else []
        if media:
            bodies += self._encode_media(list(media))
        for body, steps, n_alerts in bodies:
            self._drain()  # returns at once when the run is ending (see closing())
            timeout = HURRY_SEND_TIMEOUT_S if self._hurry else SEND_TIMEOUT_S
            self._submit(body, steps, n_alerts, timeout=timeout, lock_wait=None)

    def set_status(self, status: str, finished_at: float | None, *, durable: bool = False) -> None:
        if status == RunStatus.FAILED:
            self._failing = True
        batch = {
            "id": self._batch_id(),
            "kind": "status",
            "project": self.project,
            "run_id": self.run_id,
            "status": status,
            "finished_at": finished_at,
            "owner": self._owner,
        }
        self._submit(wire.dumps(batch), 0, 0, timeout=STATUS_TIMEOUT_S, lock_wait=STATUS_LOCK_WAIT_S)

    def heartbeat(self, now: float) -> None:
        self._drain()
        if self._pending or self._backing_off():
            return
        self._ask("/heartbeat", {"project": self.project, "run_id": self.run_id, "now": now})

    def stop_requested(self) -> bool:
        fresh = time.monotonic() - self._stop_seen_at < STOP_FRESH_S
        if not (fresh or self._stop or self._pending or self._backing_off()):
            self._ask("/stop-requested", {"project": self.project, "run_id": self.run_id})
        return self._stop

    def closing(self) -> None:
        """The run is ending: from now on the writer queues in the outbox instead of draining it
        (so finish() keeps its deadline); close() then delivers what it can in its own time."""
        self._hurry = True

    def keep_rejected(self, rows: list, error: str) -> str:
        """Rows refused for good go to the outbox's rejected.jsonl (the server's database is not ours)."""
        return rejected.append(self._directory / REJECTED, self.project, self.run_id, self.name, rows)

    def close(self, deadline: float | None = None) -> None:
        if self._closed:
            return
        self._closed = True
        own = time.monotonic() + (FAIL_CLOSE_DEADLINE_S if self._failing else CLOSE_DEADLINE_S)
        deadline = own if deadline is None else min(own, deadline)
        while self._pending and time.monotonic() < deadline:
            self._retry_at = 0.0  # a last try now, whatever the backoff said
            self._drain(deadline=deadline, lock_wait=max(0.0, deadline - time.monotonic()))
            if self._pending:
                time.sleep(min(BACKOFF_MIN_S, max(0.0, deadline - time.monotonic())))
        with self._lock:
            if self._pending:
                steps = sum(p[2] for p in self._pending)
                alerts = sum(p[3] for p in self._pending)
                path = self._outbox.path if self._outbox is not None else self._directory
                _say(
                    f"trackio_nb: run {self.name!r}: {len(self._pending)} batch(es) ({steps} steps, {alerts} alerts)"
                    f" are not on {self.server_url} yet; they are kept in {path} and will be delivered by the"
                    f" next run on this machine or by `trackio-nb sync --server {self.server_url}`"
                )
            if self._outbox is not None:
                self._outbox.close()
        self._http.close()

    def describe_pending(self) -> str:
        return (
            f"they were still being sent to {self.server_url} and are lost"
            f" (batches already in the outbox {self._directory} are kept)"
        )

    # -- sending ---------------------------------------------------------------------------

    def pending(self) -> int:
        """Batches waiting in the outbox (for tests and messages)."""
        return len(self._pending)

    def _batch_id(self) -> str:
        return f"{self._nonce}-{next(self._seq)}"

    def _encode(self, logs: list, alerts: list, config: dict | None) -> list[tuple[bytes, int, int]]:
        """The write batch(es) for one writer batch, split so that each stays under MAX_BATCH_BYTES."""
        batch = {
            "id": self._batch_id(),
            "kind": "write",
            "project": self.project,
            "run_id": self.run_id,
            "owner": self._owner,
            "logs": wire.encode_logs(logs),
            "alerts": alerts,
            "config": config,
        }
        body = wire.dumps(batch)
        if len(body) <= MAX_BATCH_BYTES:
            return [(body, len(logs), len(alerts))]
        if len(logs) > 1:
            half = len(logs) // 2
            return self._encode(logs[:half], alerts, config) + self._encode(logs[half:], [], None)
        path = reject(self._directory, batch, f"larger than {MAX_BATCH_BYTES} bytes")
        _say(f"trackio_nb: one logged step of run {self.name!r} is too large to send; it is kept in {path}")
        return []

    def _encode_media(self, media: list[MediaRecord]) -> list[tuple[bytes, int, int]]:
        """Write batches carrying logged media (rows + files), each under MAX_BATCH_BYTES."""
        rows, blobs = encode_media(media)
        batch = {
            "id": self._batch_id(),
            "kind": "write",
            "project": self.project,
            "run_id": self.run_id,
            "owner": self._owner,
            "logs": [],
            "alerts": [],
            "config": None,
            "media": rows,
            "blobs": blobs,
        }
        body = wire.dumps(batch)
        if len(body) <= MAX_BATCH_BYTES:
            return [(body, 0, 0)]
        if len(media) > 1:
            half = len(media) // 2
            return self._encode_media(media[:half]) + self._encode_media(media[half:])
        path = reject(self._directory, batch, f"larger than {MAX_BATCH_BYTES} bytes")
        _say(f"trackio_nb: a logged {media[0].kind} of run {self.name!r} is too large to send; it is kept in {path}")
        return []

    def _submit(self, body: bytes, steps: int, alerts: int, *, timeout: float, lock_wait: float | None) -> None:
        """Send now when nothing is queued before it and the server is up; else queue in the outbox."""
        if not self._pending and not self._backing_off():
            acquired = self._send_lock.acquire() if lock_wait is None else self._send_lock.acquire(timeout=lock_wait)
            if acquired:
                try:
                    if not self._pending and self._post(body, timeout) != RETRY:
                        return
                finally:
                    self._send_lock.release()
        self._enqueue(body, steps, alerts)

    def _enqueue(self, body: bytes, steps: int, alerts: int) -> None:
        with self._lock:
            try:
                if self._outbox is None:
                    self._outbox = OutboxFile(self._directory, self.server_url, self.project, self.run_id or "")
                self._pending.append((None, self._outbox.append(body), steps, alerts))
            except OSError as exc:  # the batch stays in memory; say once that it is not on disk
                self._pending.append((body, None, steps, alerts))
                self._report("disk", f"trackio_nb: cannot write the outbox in {self._directory} ({exc})")

    def _drain(self, deadline: float | None = None, lock_wait: float | None = None) -> None:
        """Deliver queued batches in order until the queue is empty or the server fails."""
        if not self._pending or self._backing_off():
            return
        acquired = self._send_lock.acquire() if lock_wait is None else self._send_lock.acquire(timeout=lock_wait)
        if not acquired:
            return
        try:
            while self._pending and not self._backing_off():
                if self._hurry and deadline is None:
                    return  # the run is ending: the writer must not spend its deadline here
                timeout = SEND_TIMEOUT_S
                if deadline is not None:
                    timeout = min(timeout, deadline - time.monotonic())
                    if timeout <= 0:
                        return
                if self._post(self._head(), timeout) == RETRY:
                    return
                with self._lock:
                    self._pending.popleft()
                    if not self._pending and self._outbox is not None:
                        self._outbox.discard()
        finally:
            self._send_lock.release()

    def _head(self) -> bytes:
        with self._lock:
            body, where, _, _ = self._pending[0]
            return body if where is None else self._outbox.read(*where)

    def _post(self, body: bytes, timeout: float) -> str:
        outcome, detail = send_batch(self._http, body, timeout)
        if outcome == OK:
            self._online()
            self._note_stop(detail.get("stop"))
        elif outcome == RETRY:
            self._offline(str(detail))
        else:
            batch = json.loads(body)
            if str(detail).startswith("HTTP 409"):  # RunInProgress: another process took the run over
                self._stop = True
            path = reject(self._directory, batch, str(detail))
            _say(f"trackio_nb: {self.server_url} refused a batch of run {self.name!r} ({detail}); it is kept in {path}")
            if self.on_loss is not None:  # never retried: the run reports it (DATA_LOSS) and ends `failed`
                self.on_loss(refused_loss(batch, str(detail), str(path)))
        return outcome

    def _ask(self, path: str, payload: dict) -> None:
        """A small request whose answer carries the stop flag; failures only start a backoff."""
        try:
            response = self._http.post(path, content=wire.dumps(payload), headers=JSON_HEADERS)
        except httpx.HTTPError as exc:
            self._offline(f"{type(exc).__name__}: {exc}")
            return
        if response.status_code == 200:
            self._online()
            self._note_stop(response.json().get("stop"))
        elif response.status_code >= 500 or response.status_code in (401, 403):
            self._offline(f"HTTP {response.status_code}")

    def _note_stop(self, flag: object) -> None:
        self._stop_seen_at = time.monotonic()
        if flag:
            self._stop = True

    def _backing_off(self) -> bool:
        return self._failures > 0 and time.monotonic() < self._retry_at

    def _offline(self, why: str) -> None:
        self._failures += 1
        self._retry_at = time.monotonic() + min(BACKOFF_MAX_S, BACKOFF_MIN_S * 2 ** (self._failures - 1))
        if self._failures == 1:
            _say(
                f"trackio_nb: cannot reach {self.server_url} ({why}); run {self.name!r} keeps its data in"
                f" {self._directory} and sends it when the server is back"
            )

    def _online(self) -> None:
        if self._failures:
            self._failures = 0
            self._retry_at = 0.0

    def _report(self, key: str, message: str) -> None:
        if key not in self._reported:
            self._reported.add(key)
            _say(message)

    def _start_orphan_delivery(self) -> None:
        """Deliver, in the background, outbox files earlier processes left for this server."""
        if not self._directory.is_dir():
            return
        thread = threading.Thread(target=self._deliver_orphans, name="trackio_nb-outbox", daemon=True)
        thread.start()

    def _deliver_orphans(self) -> None:
        with make_client(self.server_url, self._token, read_timeout=SEND_TIMEOUT_S) as client:
            report = deliver_orphans(
                client, self._directory, self.server_url, only_matching=True, timeout=SEND_TIMEOUT_S
            )
        if report.delivered or report.rejected:
            _say(
                f"trackio_nb: delivered {report.delivered} batch(es) an earlier run left in {self._directory}"
                + (f"; {report.rejected} refused (see rejected.jsonl)" if report.rejected else "")
            )


def _alert_dict(alert: AlertRecord) -> dict:
    return {
        "timestamp": alert.timestamp,
        "step": alert.step,
        "level": alert.level,
        "title": alert.title,
        "text": alert.text,
        "data": alert.data,
    }


def _say(message: str) -> None:
    stream = sys.stderr
    if stream is not None:
        print(message, file=stream, flush=True)


def refused_loss(batch: dict, error: str, path: str) -> Loss:
    """What a batch the server refused held, as the writer's loss report."""
    loss = Loss(first_error=error, kept_in=path, only_loss_alerts=False)
    if batch.get("kind") == "write":
        loss.logs = sum(len(base64.b64decode(g.get("steps", ""))) // 8 for g in batch.get("logs", []))
        loss.alerts = len(batch.get("alerts", []))
        loss.media = len(batch.get("media") or [])
        loss.config = int(batch.get("config") is not None)
    return loss
