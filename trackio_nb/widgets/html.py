"""Static text/html fallbacks: what a notebook without widget state (or an export) shows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape


def _cell(value: object) -> str:
    return "" if value is None else escape(str(value))


def table(title: str, headers: Sequence[str], rows: Iterable[Sequence[object]], empty: str) -> str:
    """An HTML table with every value escaped."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>" for row in rows)
    if not body:
        body = f'<tr><td colspan="{len(headers)}"><em>{escape(empty)}</em></td></tr>'
    return (
        f'<div class="tnb-static"><div><strong>{escape(title)}</strong></div>'
        f'<table border="1" style="border-collapse:collapse"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )
