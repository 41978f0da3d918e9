"""`tnb.Markdown` and `tnb.Html`: text stored inline (Html is only ever shown in a sandboxed iframe)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ..errors import InvalidValue
from .base import Encoded, Media, check_caption, existing_file


class Markdown(Media):
    """Markdown text, rendered by the panel and reports."""

    KIND = "markdown"

    def __init__(self, text: str = "") -> None:
        if not isinstance(text, str):
            raise InvalidValue(f"Markdown text must be a string, got {type(text).__name__}")
        self.text = text

    def _encode(self, blobs: dict[str, bytes]) -> Encoded:
        return Encoded(self.text, None, None)


class Html(Media):
    """An HTML document (a string, a path to an .html file, or a Plotly/Matplotlib figure)."""

    KIND = "html"

    def __init__(
        self, data: object, inject: bool = True, data_is_not_path: bool = False, caption: str | None = None
    ) -> None:
        # `inject` and `data_is_not_path` are trackio's; the document is stored as given.
        self.caption = check_caption(caption)
        self.html = _resolve(data, data_is_not_path)

    def _encode(self, blobs: dict[str, bytes]) -> Encoded:
        return Encoded(self.html, None, None)


def _resolve(data: object, data_is_not_path: bool) -> str:
    plotly = sys.modules.get("plotly.basedatatypes")
    if plotly is not None and isinstance(data, plotly.BaseFigure):
        return data.to_html(include_plotlyjs=True, full_html=True)
    matplotlib = sys.modules.get("matplotlib.figure")
    if matplotlib is not None and isinstance(data, matplotlib.Figure):
        import io

        out = io.StringIO()
        data.savefig(out, format="svg")
        return out.getvalue()
    if isinstance(data, str):
        if not data_is_not_path and "<" not in data and os.path.isfile(data):
            return Path(data).read_text(encoding="utf-8")
        return data
    path = existing_file(data)
    if path is None:
        raise InvalidValue(f"Html takes an HTML string, a file path or a figure, got {type(data).__name__}")
    return path.read_text(encoding="utf-8")
