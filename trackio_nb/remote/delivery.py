"""Sending one encoded batch, and delivering outbox files left by processes that are gone."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from . import wire
from .outbox import orphans, reject
from .transport import error_message

OK, RETRY, REJECTED = "ok", "retry", "rejected"
JSON_HEADERS = {"content-type": "application/json"}


def send_batch(client: httpx.Client, body: bytes, timeout: float) -> tuple[str, dict | str]:
    """POST one batch. (OK, reply) | (RETRY, why: try again later) | (REJECTED, why: never accepted)."""
    try:
        response = client.post("/batches", content=body, headers=JSON_HEADERS, timeout=timeout)
    except httpx.HTTPError as exc:
        return RETRY, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    code = response.status_code
    if code == 200:
        return OK, response.json()
    message, _ = error_message(response)
    if code in (401, 403):
        return RETRY, f"the server refused the token ({message})"
    if code in (408, 425, 429) or code >= 500:
        return RETRY, f"HTTP {code}: {message}"
    return REJECTED, f"HTTP {code}: {message}"


@dataclass
class SyncReport:
    """What a delivery of outbox files did."""

    delivered: int = 0  # batches the server applied now
    duplicates: int = 0  # batches it had applied before
    rejected: int = 0  # batches it refused for good (kept in outbox/rejected.jsonl)
    remaining: int = 0  # batches still in the outbox (server unreachable)
    files_done: int = 0
    files_left: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "delivered": self.delivered,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "remaining": self.remaining,
            "files_done": self.files_done,
            "files_left": self.files_left,
            "errors": list(self.errors),
        }


def deliver_orphans(
    client: httpx.Client, directory: Path, server_url: str | None, *, only_matching: bool, timeout: float
) -> SyncReport:
    """Deliver, in order, every outbox file under `directory` whose writer is gone.

    With `only_matching`, only files recorded for `server_url` are touched. Delivery of a
    file stops at the first batch the server cannot take now; the file stays for later.
    """
    report = SyncReport()
    for orphan in orphans(directory):
        if only_matching and orphan.header.get("server") != server_url:
            orphan.release(delete=False)
            continue
        done = True
        for index, batch in enumerate(orphan.batches):
            problem = refusal(batch)
            if problem is not None:  # the server would refuse it (400): kept aside without sending
                reject(directory, batch, problem)
                report.rejected += 1
                continue
            outcome, detail = send_batch(client, wire.dumps(batch), timeout)
            if outcome == RETRY:
                report.remaining += len(orphan.batches) - index
                report.errors.append(f"{orphan.path.name}: {detail}")
                done = False
                break
            if outcome == REJECTED:
                reject(directory, batch, str(detail))
                report.rejected += 1
            elif detail.get("applied"):
                report.delivered += 1
            else:
                report.duplicates += 1
        if orphan.damaged:
            report.errors.append(f"{orphan.path.name}: {orphan.damaged} damaged line(s) skipped")
        report.files_done += done
        report.files_left += not done
        orphan.release(delete=done)
        if not done:
            break  # the server is unreachable: later files must wait their turn too
    return report


def refusal(batch: object) -> str | None:
    """Why the server's batch check (trackio_nb.validation's rules) would refuse `batch`, or None."""
    from ..errors import InvalidValue
    from .store import check_batch

    try:
        check_batch(json.loads(wire.dumps(batch)))  # a copy: the check decodes fields in place
    except InvalidValue as exc:
        return f"refused before sending: {exc}"
    return None
