"""`MediaPanel`: the latest media of each key per run, with a step slider per key, live.

Rows come from `Reader.media(after_id=cursor)`, so each tick reads only what is new.
Files travel as binary buffers: new ones in a delta message (`buffers=`), all of them in
the `files` trait ({name: bytes}) at full syncs (which the saved notebook keeps). Each
(run, key) keeps its latest MAX_STEPS steps. Html is rendered only in a sandboxed iframe.
"""

from __future__ import annotations

import json
from collections import defaultdict
from html import escape
from pathlib import Path
from typing import Any

import polars as pl
import traitlets

from ..presentation import jsonable
from ..storage import ProjectNotFound
from .base import LiveWidget
from .hub import Batch
from .media_html import files_used, item_html, mime_of

MAX_STEPS = 50  # per run and key, the most recent
MAX_FILE_BYTES = 16 * 1024 * 1024  # larger files are listed, not sent to the page
_ASSETS = Path(__file__).resolve().parent / "assets"
_ESM = (_ASSETS / "media_panel.js").read_text(encoding="utf-8")


class MediaPanel(LiveWidget):
    """Logged media of a project (or one `run`, by name or id; one `key`), live."""

    _esm = _ESM
    key = traitlets.Unicode(None, allow_none=True).tag(sync=True)
    run = traitlets.Unicode(None, allow_none=True).tag(sync=True)
    max_steps = traitlets.Int(MAX_STEPS).tag(sync=True)
    items = traitlets.List(traitlets.Dict()).tag(sync=True)
    files = traitlets.Dict().tag(sync=True)  # name -> bytes: binary buffers, not base64

    def __init__(self, project: str, key: str | None = None, run: str | None = None, **source: Any) -> None:
        for name, value in (("key", key), ("run", run)):
            if value is not None and (not isinstance(value, str) or not value):
                raise TypeError(f"{name} must be a non-empty string or None")
        self._items: dict[int, dict] = {}
        self._data: dict[str, bytes] = {}
        self._cursor = 0
        super().__init__(project, key=key, run=run, **source)

    # -- reading -----------------------------------------------------------------------------

    def _update(self, batch: Batch, *, full: bool, initial: bool) -> None:
        try:
            frame = self._reader.media(self.project, None, self.key, self._cursor)
        except ProjectNotFound:
            if full:
                self._sync_full(items=[], files={})
            return
        if self.run is not None:
            frame = frame.filter((pl.col("run") == self.run) | (pl.col("run_id") == self.run))
        new = [self._item(row) for row in frame.iter_rows(named=True)]
        if frame.height:
            self._cursor = max(self._cursor, frame["id"].max())
        new_files = self._fetch(new)
        self._trim()
        if full:
            self._sync_full(items=self._ordered(), files=dict(self._data))
        elif new:
            names = list(new_files)
            self._sent += 1
            message = {"type": "media", "items": new, "names": names, "seq": self._sent}
            self.send(message, buffers=[new_files[n] for n in names])

    def _item(self, row: dict) -> dict:
        value = None if row["value"] is None else jsonable(json.loads(row["value"]))
        item = {
            "id": row["id"],
            "run": row["run"],
            "run_id": row["run_id"],
            "step": row["step"],
            "key": row["key"],
            "kind": row["kind"],
            "caption": row["caption"],
            "value": value,
            "file": row["file"],
            "mime": mime_of(row["file"]),
            "meta": None if row["meta"] is None else json.loads(row["meta"]),
        }
        self._items[row["id"]] = item
        return item

    def _fetch(self, items: list[dict]) -> dict[str, bytes]:
        """The bytes of files these items need that the page does not have yet."""
        new: dict[str, bytes] = {}
        for item in items:
            for name in files_used(item["value"], item["file"]):
                if name in self._data or name in new:
                    continue
                data = self._reader.media_file(self.project, name)
                if len(data) <= MAX_FILE_BYTES:
                    new[name] = data
        self._data.update(new)
        return new

    def _trim(self) -> None:
        """Keep the latest `max_steps` items per (run, key), and only the files those use."""
        series: dict[tuple[str, str], list[dict]] = defaultdict(list)
        for item in self._items.values():
            series[(item["run_id"], item["key"])].append(item)
        dropped = False
        for items in series.values():
            if len(items) > self.max_steps:
                items.sort(key=lambda i: (i["step"], i["id"]))
                for old in items[: len(items) - self.max_steps]:
                    del self._items[old["id"]]
                    dropped = True
        if dropped:
            used = {n for i in self._items.values() for n in files_used(i["value"], i["file"])}
            self._data = {n: b for n, b in self._data.items() if n in used}

    def _ordered(self) -> list[dict]:
        return [self._items[i] for i in sorted(self._items)]

    # -- display -----------------------------------------------------------------------------

    def _describe(self) -> str:
        where = "".join(f", {n}={v!r}" for n, v in (("key", self.key), ("run", self.run)) if v is not None)
        keys = len({i["key"] for i in self._items.values()})
        return f"project={self.project!r}{where}, keys={keys}, items={len(self._items)}"

    def _html(self) -> str:
        """Static fallback: the latest item of each key per run."""
        latest: dict[tuple[str, str], dict] = {}
        for item in self._ordered():
            current = latest.get((item["key"], item["run"]))
            if current is None or item["step"] >= current["step"]:
                latest[(item["key"], item["run"])] = item
        parts = [f'<div class="tnb-static tnb-media-static"><div><strong>{escape(self.project)}: media</strong></div>']
        if not latest:
            parts.append("<em>no media</em>")
        for (key, run), item in sorted(latest.items()):
            parts.append(f"<h4>{escape(key)} · {escape(run)} · step {item['step']}</h4>")
            parts.append(item_html(item, self._data.get, thumbnails=True))
        return "".join(parts) + "</div>"
