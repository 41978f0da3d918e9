"""Static HTML of logged media: the MediaPanel's text/html fallback and the report's media section.

Every text is escaped; Html payloads are only ever put in an `<iframe sandbox="">` (no
scripts, no same-origin access) through `srcdoc`. Files are embedded as data URIs; images
above THUMBNAIL_PX on a side are downscaled first when `thumbnails` is on (Pillow; JPEG
unless the image has transparency).
"""

from __future__ import annotations

import base64
import io
import json
import mimetypes
from collections.abc import Callable
from html import escape
from typing import Any

THUMBNAIL_PX = 384
MAX_EMBED_BYTES = 4 * 1024 * 1024  # files larger than this are named, not embedded
MAX_TABLE_ROWS = 200

Files = Callable[[str], bytes | None]  # content-addressed name -> bytes (None: not available)


def mime_of(name: str | None) -> str:
    """The MIME type a browser needs for a stored media file."""
    if name is None:
        return ""
    if name.endswith(".npy"):
        return "application/x-npy"
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def thumbnail(data: bytes, name: str) -> tuple[bytes, str, bool]:
    """`data` downscaled to THUMBNAIL_PX on its longer side (JPEG, or PNG with transparency) when larger; else as is."""
    if name.endswith((".svg", ".gif")):
        return data, mime_of(name), False
    try:
        from PIL import Image as PILImage
    except ImportError:
        return data, mime_of(name), False
    with PILImage.open(io.BytesIO(data)) as image:
        if max(image.size) <= THUMBNAIL_PX:
            return data, mime_of(name), False
        image.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
        out = io.BytesIO()
        if image.mode in ("RGB", "L"):  # no transparency: a JPEG thumbnail is a fraction of a PNG's size
            image.save(out, format="JPEG", quality=85)
            return out.getvalue(), "image/jpeg", True
        image.save(out, format="PNG")
    return out.getvalue(), "image/png", True


def _data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def item_html(item: dict, files: Files, *, thumbnails: bool = False) -> str:
    """One media item (a MediaPanel item dict) as self-contained HTML."""
    kind, value = item["kind"], item.get("value")
    body = _body(kind, value, item.get("file"), files, thumbnails)
    caption = item.get("caption")
    note = f"<figcaption>{escape(caption)}</figcaption>" if caption else ""
    return f'<figure class="tnb-media-item tnb-media-{escape(kind)}">{body}{note}</figure>'


def _body(kind: str, value: Any, file: str | None, files: Files, thumbnails: bool) -> str:
    if kind == "markdown":
        return f'<pre class="tnb-media-markdown-text">{escape(str(value))}</pre>'
    if kind == "html":
        return f'<iframe sandbox="" class="tnb-media-html-frame" srcdoc="{escape(str(value), quote=True)}"></iframe>'
    if kind == "histogram":
        return _histogram(value)
    if kind == "table":
        return _table(value, files, thumbnails)
    if kind == "trace":
        return _trace(value)
    return _file(kind, file, files, thumbnails)


def _file(kind: str, name: str | None, files: Files, thumbnails: bool) -> str:
    data = files(name) if name else None
    if data is None:
        return f"<em>{escape(kind)} file not available</em>"
    if name.endswith(".npy"):
        return "<em>video frames stored as given (.npy): no encoder was available to make a playable file</em>"
    if len(data) > MAX_EMBED_BYTES:
        return f"<em>{escape(kind)} of {len(data)} bytes: too large to embed ({escape(name)})</em>"
    mime = mime_of(name)
    if kind == "image" or mime == "image/gif":
        scaled = False
        if thumbnails:
            data, mime, scaled = thumbnail(data, name)
        mark = ' data-thumbnail="1"' if scaled else ""
        return f'<img class="tnb-media-img" alt="" src="{_data_uri(data, mime)}"{mark}>'
    tag = "audio" if kind == "audio" else "video"
    return f'<{tag} controls src="{_data_uri(data, mime)}"></{tag}>'


def _histogram(value: dict) -> str:
    bins, counts = value.get("bins", []), value.get("values", [])
    if not counts:
        return "<em>empty histogram</em>"
    top = max(counts) or 1
    width, height = 300, 100
    bar = width / len(counts)
    rects = "".join(
        f'<rect x="{i * bar:.2f}" y="{height - c / top * height:.2f}" width="{max(bar - 1, 1):.2f}"'
        f' height="{c / top * height:.2f}"><title>{escape(_edge(bins, i))}: {c}</title></rect>'
        for i, c in enumerate(counts)
    )
    low, high = (escape(_num(bins[0])), escape(_num(bins[-1]))) if bins else ("", "")
    return (
        f'<svg class="tnb-media-hist" viewBox="0 0 {width} {height + 14}" width="{width}" height="{height + 14}">'
        f'{rects}<text x="0" y="{height + 12}" font-size="10">{low}</text>'
        f'<text x="{width}" y="{height + 12}" font-size="10" text-anchor="end">{high}</text></svg>'
    )


def _num(x: object) -> str:
    return f"{x:.4g}" if isinstance(x, float) else str(x)


def _edge(bins: list, i: int) -> str:
    return f"[{_num(bins[i])}, {_num(bins[i + 1])})" if i + 1 < len(bins) else str(i)


def _table(value: dict, files: Files, thumbnails: bool) -> str:
    head = "".join(f"<th>{escape(str(c))}</th>" for c in value.get("columns", []))
    rows = value.get("data", [])
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(v, files, thumbnails)}</td>" for v in row) + "</tr>"
        for row in rows[:MAX_TABLE_ROWS]
    )
    more = f"<p><em>{len(rows) - MAX_TABLE_ROWS} more rows not shown</em></p>" if len(rows) > MAX_TABLE_ROWS else ""
    return f'<table class="tnb-media-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}'


def _cell(value: Any, files: Files, thumbnails: bool) -> str:
    if isinstance(value, dict) and "_type" in value:
        return _body(value["_type"], value.get("value"), value.get("file"), files, thumbnails)
    if isinstance(value, (dict, list)):
        return escape(json.dumps(value))
    return "" if value is None else escape(str(value))


def _trace(value: dict) -> str:
    parts = []
    for message in value.get("messages", []):
        role = escape(str(message.get("role", "")))
        content = message.get("content", "")
        text = content if isinstance(content, str) else json.dumps(content)
        parts.append(f'<div class="tnb-media-msg"><strong>{role}</strong> {escape(text)}</div>')
    return '<div class="tnb-media-trace">' + "".join(parts) + "</div>"


def files_used(value: Any, file: str | None = None) -> list[str]:
    """Every content-addressed file an item needs: its own and those of media inside its value."""
    names = [file] if file else []
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            if "_type" in v and isinstance(v.get("file"), str):
                names.append(v["file"])
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return list(dict.fromkeys(names))
