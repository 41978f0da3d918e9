"""The report's media section: per key, per run, a step selector over the latest steps.

Everything is rendered here as static HTML (the same renderer as the MediaPanel's
fallback): files embedded as data URIs, images above THUMBNAIL_PX downscaled, Html only in
`<iframe sandbox="">`. The selector is a `<select>` plus a few lines of script; without
JavaScript the latest step of each run is shown.
"""

from __future__ import annotations

import json
from collections import defaultdict
from html import escape
from typing import Any

from ..widgets.media_html import THUMBNAIL_PX, files_used, item_html

MAX_REPORT_STEPS = 20  # per run and key: the latest ones

SCRIPT = """document.querySelectorAll('.tnbr-media-step').forEach((select) => {
  select.addEventListener('change', () => {
    select.closest('.tnbr-media-run').querySelectorAll('[data-step]').forEach((el) => {
      el.hidden = el.dataset.step !== select.value;
    });
  });
});"""


def media_section(reader, project: str, runs: list[dict[str, Any]], labels: dict[str, str]) -> str:
    """The section's HTML, or "" when the selected runs logged no media."""
    run_ids = [r["id"] for r in runs]
    frame = reader.media(project, run_ids) if run_ids else None
    if frame is None or frame.is_empty():
        return ""
    series: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for row in frame.iter_rows(named=True):
        series[row["key"]][row["run_id"]].append(row)
    cache: dict[str, bytes] = {}

    def files(name: str) -> bytes | None:
        if name not in cache:
            cache[name] = reader.media_file(project, name)
        return cache[name]

    parts = [
        '<section id="tnbr-media-section"><h2>Media</h2>'
        f'<p class="tnbr-chart-note">The latest {MAX_REPORT_STEPS} steps of each run and key are included.'
        f" Images larger than {THUMBNAIL_PX} px on a side are shown as downscaled thumbnails (JPEG when opaque)"
        " (<code>trackio-nb get media</code> writes the originals). Html is shown in sandboxed frames"
        " where no script runs.</p>"
    ]
    order = {rid: i for i, rid in enumerate(run_ids)}
    for key in sorted(series):
        parts.append(f'<div class="tnbr-media-key" data-key="{escape(key, quote=True)}"><h3>{escape(key)}</h3>')
        for run_id in sorted(series[key], key=order.__getitem__):
            rows = series[key][run_id][-MAX_REPORT_STEPS:]
            parts.append(_run_block(labels[run_id], rows, files))
        parts.append("</div>")
    parts.append(f"<script>{SCRIPT}</script></section>")
    return "".join(parts)


def _run_block(label: str, rows: list[dict], files) -> str:
    options = "".join(
        f'<option value="{r["step"]}"{" selected" if r is rows[-1] else ""}>{r["step"]}</option>' for r in rows
    )
    steps = []
    for r in rows:
        value = None if r["value"] is None else json.loads(r["value"])
        item = {"kind": r["kind"], "value": value, "file": r["file"], "caption": r["caption"]}
        for name in files_used(value, r["file"]):
            files(name)
        hidden = "" if r is rows[-1] else " hidden"
        steps.append(f'<div data-step="{r["step"]}"{hidden}>{item_html(item, files, thumbnails=True)}</div>')
    return (
        f'<div class="tnbr-media-run"><h4>{escape(label)}</h4>'
        f'<label>step <select class="tnbr-media-step">{options}</select></label>' + "".join(steps) + "</div>"
    )
