"""Alert webhooks: Slack, Discord or plain JSON, posted from one background thread.

`deliver()` only queues, so an alert never waits on the network. Each POST has a
timeout; a webhook that fails is reported once on stderr (by host, never the full URL,
which usually holds a secret) and never raises into the training loop. At interpreter
exit the queue gets a short deadline to drain.
"""

from __future__ import annotations

import atexit
import json
import queue
import sys
import threading
import time
import urllib.request
from urllib.parse import urlsplit

from .enums import LEVEL_ORDER, parse_level
from .presentation import iso_utc
from .storage.records import AlertRecord

TIMEOUT_S = 5.0
EXIT_DEADLINE_S = 2.0
MAX_QUEUED = 1000
_DISCORD_HOSTS = ("discord.com", "discordapp.com", "ptb.discord.com", "canary.discord.com")
_DISCORD_COLOURS = {"info": 0x3498DB, "warn": 0xF1C40F, "error": 0xE74C3C}
_SLACK_EMOJI = {"info": ":information_source:", "warn": ":warning:", "error": ":rotating_light:"}


def check_url(url: object, name: str = "webhook_url") -> str | None:
    """None, or an http(s) URL; anything else is a clear error."""
    if url is None:
        return None
    if not isinstance(url, str):
        raise TypeError(f"{name} must be a string, got {type(url).__name__}")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{name} must be an http:// or https:// URL, got {url!r}")
    return url


def check_min_level(level: object) -> int:
    """The rank of `webhook_min_level` (None means every level)."""
    if level is None:
        return 0
    try:
        return LEVEL_ORDER[parse_level(level)]
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"webhook_min_level: {exc}") from None


def kind_of(url: str) -> str:
    """Which payload shape `url` takes (slack, discord or json), from its host and path."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host == "hooks.slack.com":
        return "slack"
    if host in _DISCORD_HOSTS and parts.path.startswith("/api/webhooks/"):
        return "discord"
    return "json"


def payload_for(url: str, alert: AlertRecord, project: str, run_name: str) -> dict:
    """The JSON body for `url`: Slack's `text`/`blocks`, Discord's `embeds`, or the alert itself."""
    kind = kind_of(url)
    when = iso_utc(alert.timestamp)
    where = f"{project} / {run_name}" + (f" @ step {alert.step}" if alert.step is not None else "")
    if kind == "slack":
        head = f"{_SLACK_EMOJI[alert.level]} *[{alert.level.upper()}] {alert.title}*"
        body = f"{head}\n{alert.text}" if alert.text else head
        return {
            "text": f"[{alert.level.upper()}] {alert.title} ({where})",
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": body[:3000]}},
                {"type": "context", "elements": [{"type": "mrkdwn", "text": where[:3000]}]},
            ],
        }
    if kind == "discord":
        embed = {
            "title": f"[{alert.level.upper()}] {alert.title}"[:256],
            "color": _DISCORD_COLOURS[alert.level],
            "footer": {"text": where[:2048]},
            "timestamp": when,
        }
        if alert.text:
            embed["description"] = alert.text[:4096]
        return {"embeds": [embed]}
    return {
        "project": project,
        "run": run_name,
        "level": alert.level,
        "title": alert.title,
        "text": alert.text,
        "step": alert.step,
        "timestamp": when,
        "data": None if alert.data is None else json.loads(alert.data),
    }


class Sender:
    """One daemon thread posting queued (url, body) pairs; failures reported once per host."""

    def __init__(self, timeout: float = TIMEOUT_S) -> None:
        self.timeout = timeout
        self._queue: queue.Queue = queue.Queue(maxsize=MAX_QUEUED)
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._reported: set[str] = set()
        self._dropped_reported = False

    def deliver(self, url: str, payload: dict) -> None:
        """Queue one POST; never blocks (a full queue drops it and says so once)."""
        self._ensure_thread()
        try:
            self._queue.put_nowait((url, json.dumps(payload).encode()))
        except queue.Full:
            if not self._dropped_reported:
                self._dropped_reported = True
                _report(
                    f"{MAX_QUEUED} webhook posts are waiting; further alerts are not sent to webhooks until they drain"
                )

    def drain(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for queued posts to be sent; True when none is left."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    def _ensure_thread(self) -> None:
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is None:
                thread = threading.Thread(target=self._loop, name="trackio_nb-webhooks", daemon=True)
                thread.start()
                self._thread = thread

    def _loop(self) -> None:
        while True:
            url, body = self._queue.get()
            try:
                self._post(url, body)
            finally:
                self._queue.task_done()

    def _post(self, url: str, body: bytes) -> None:
        request = urllib.request.Request(
            url, data=body, headers={"Content-Type": "application/json", "User-Agent": "trackio_nb"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
        except Exception as exc:  # noqa: BLE001  (any failure: report once, never raise into training)
            host = urlsplit(url).netloc
            if host not in self._reported:
                self._reported.add(host)
                _report(
                    f"alert webhook to {host} failed ({type(exc).__name__}: {exc}); "
                    "alerts are still stored, further failures of this webhook are not reported"
                )


def _report(message: str) -> None:
    if sys.stderr is not None:
        print(f"trackio_nb: {message}", file=sys.stderr, flush=True)


_sender: Sender | None = None
_sender_lock = threading.Lock()


def sender() -> Sender:
    """The process's webhook sender (made on first use, drained briefly at exit)."""
    global _sender
    if _sender is None:
        with _sender_lock:
            if _sender is None:
                _sender = Sender()
                atexit.register(_sender.drain, EXIT_DEADLINE_S)
    return _sender


def notify(url: str, alert: AlertRecord, project: str, run_name: str) -> None:
    """Queue `alert` for `url` in the payload shape its host expects."""
    sender().deliver(url, payload_for(url, alert, project, run_name))
