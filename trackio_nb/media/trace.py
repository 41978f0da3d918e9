"""`tnb.Trace`: an agent or chat conversation as trackio shapes it (a list of message dicts)."""

from __future__ import annotations

from ..errors import InvalidValue
from .base import Encoded, Media, jsonable


class Trace(Media):
    """Stored inline as {"messages": [...], "metadata": {...}}; media inside messages keep their files."""

    KIND = "trace"

    def __init__(self, messages: list[dict], metadata: dict | None = None) -> None:
        if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
            raise InvalidValue("Trace messages must be a list of dictionaries")
        if metadata is not None and not isinstance(metadata, dict):
            raise InvalidValue("Trace metadata must be a dictionary or None")
        self.messages = [dict(m) for m in messages]
        self.metadata = dict(metadata) if metadata is not None else {}

    def _encode(self, blobs: dict[str, bytes]) -> Encoded:
        value = {
            "messages": jsonable(self.messages, blobs, "messages"),
            "metadata": jsonable(self.metadata, blobs, "metadata"),
        }
        return Encoded(value, None, {"messages": len(self.messages)})
