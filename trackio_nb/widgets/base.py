"""What the three widgets share: the source they read, deltas vs full syncs, repr and fallback."""

from __future__ import annotations

import os
from typing import Any

import anywidget
import traitlets

from ..storage import validate_project
from . import assets
from .hub import HUB, Batch, Source, source_for


class LiveWidget(anywidget.AnyWidget):
    """A widget that follows one project live (see trackio_nb.widgets.hub for how)."""

    project = traitlets.Unicode("").tag(sync=True)
    seq = traitlets.Int(0).tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    _css = assets.css()

    def __init__(
        self,
        project: str,
        *,
        server_url: str | None = None,
        token: str | None = None,
        dir: str | os.PathLike[str] | None = None,
        **traits: Any,
    ) -> None:
        validate_project(project)
        self.source: Source = source_for(server_url, dir)
        self._reader = HUB.reader(self.source, token)
        self._sent = 0  # seq of the last delta message sent
        super().__init__(project=project, **traits)
        HUB.attach(self)

    # -- what subclasses implement ------------------------------------------------------------

    def _update(self, batch: Batch, *, full: bool, initial: bool) -> None:
        raise NotImplementedError

    def _html(self) -> str:
        raise NotImplementedError

    def _describe(self) -> str:
        return f"project={self.project!r}"

    # -- sending ---------------------------------------------------------------------------

    def _send_delta(self, message: dict, buffers: list[bytes] | None = None) -> None:
        self._sent += 1
        self.send({**message, "seq": self._sent}, buffers)

    def _sync_full(self, **traits: Any) -> None:
        """Set the full state traits (one message; nothing is sent if nothing changed)."""
        with self.hold_sync():
            for name, value in traits.items():
                setattr(self, name, value)
            self.seq = self._sent
            if self.error and not traits.get("error"):
                self.error = ""

    def _live_ids(self) -> list[str]:
        return HUB.live_ids(self.project, self.source)

    # -- public ----------------------------------------------------------------------------

    def refresh(self) -> None:
        """Pull new rows now (throttled like log()): for a busy cell that waits on other processes."""
        HUB.refresh()

    def close(self) -> None:
        """Stop following the project and close the widget."""
        HUB.detach(self)
        super().close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._describe()})"

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict, dict]:
        """The widget view, plus text/plain (stable) and a static text/html table as fallbacks."""
        return with_html(super()._repr_mimebundle_(**kwargs), repr(self), self._html())


def with_html(bundle: tuple[dict, dict] | dict | None, text: str, html: str) -> tuple[dict, dict]:
    """A display bundle with `text/plain` and `text/html` fallbacks added."""
    data, metadata = bundle if isinstance(bundle, tuple) else (bundle or {}, {})
    return {**data, "text/plain": text, "text/html": html}, metadata
