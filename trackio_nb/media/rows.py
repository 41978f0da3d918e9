"""Stored media rows as the documented dicts (`RunView.media`, `trackio-nb list media --json`)."""

from __future__ import annotations

import json
from typing import Any

import polars as pl


def media_dicts(reader, project: str, frame: pl.DataFrame, *, with_run: bool = False) -> list[dict[str, Any]]:
    """Rows `step, key, kind, caption, path, value` (+ `run`, `run_id`): `path` is a local file
    (fetched from the server into a cache in remote mode), `value` the decoded inline JSON;
    media inside tables and traces get their `path` too."""
    out = []
    for row in frame.iter_rows(named=True):
        value = None if row["value"] is None else json.loads(row["value"])
        item: dict[str, Any] = {
            "step": row["step"],
            "key": row["key"],
            "kind": row["kind"],
            "caption": row["caption"],
            "path": None if row["file"] is None else str(reader.media_path(project, row["file"])),
            "value": _with_paths(reader, project, value),
        }
        if with_run:
            item = {"run": row["run"], "run_id": row["run_id"], **item}
        out.append(item)
    return out


def _with_paths(reader, project: str, value: Any) -> Any:
    if isinstance(value, list):
        return [_with_paths(reader, project, v) for v in value]
    if isinstance(value, dict):
        out = {k: _with_paths(reader, project, v) for k, v in value.items()}
        if "_type" in value and isinstance(value.get("file"), str):
            out["path"] = str(reader.media_path(project, value["file"]))
        return out
    return value
