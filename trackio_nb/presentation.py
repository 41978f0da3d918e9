"""How every surface shows the same fact: one rule each, called by the Api, CLI, widgets, reports and server.

- Floats JSON cannot hold are spelled "NaN", "Infinity", "-Infinity" (protobuf's JSON
  mapping; Python's `float(s)` reads them back) in every JSON document: `jsonable`, `dumps`.
- Times in JSON are ISO 8601 UTC ending in `Z` (`iso_utc`); people see `human_time`.
- An alert is one dict shape: id, run, run_id, timestamp, step, level, title, text, data.
- A run is picked by id, or by a name only one run has (`resolve_run`); legends label runs
  by name, adding the id where two runs share it (`run_labels`).
- `since` (alert filters) is read by `parse_since` everywhere.
- Text from runs shown on a terminal (CLI tables, the alert line on stderr) has its control
  characters shown as U+FFFD (`printable`).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from .errors import AmbiguousRun, InvalidValue, MetricNotFound, RunNotFound

if TYPE_CHECKING:
    import polars as pl

NAN, INFINITY, NEG_INFINITY = "NaN", "Infinity", "-Infinity"
ALERT_FIELDS = ("id", "run", "run_id", "timestamp", "step", "level", "title", "text", "data")


# -- numbers in JSON ------------------------------------------------------------------------


def json_float(value: float) -> float | str:
    """`value`, or its spelling when JSON cannot hold it ("NaN", "Infinity", "-Infinity")."""
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return NAN
    return INFINITY if value > 0 else NEG_INFINITY


def jsonable(value: Any) -> Any:
    """A copy of `value` (dicts, lists, tuples, scalars) with non-finite floats spelled as strings."""
    if isinstance(value, float):
        return json_float(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def dumps(document: Any, *, compact: bool = False) -> str:
    """`document` as strictly legal JSON text (non-finite floats spelled; datetimes as ISO UTC)."""
    separators = (",", ":") if compact else None
    try:  # the C encoder first; it refuses NaN/Inf, and only then is the document walked
        return json.dumps(document, ensure_ascii=False, allow_nan=False, default=_default, separators=separators)
    except ValueError:
        return json.dumps(
            jsonable(document), ensure_ascii=False, allow_nan=False, default=_default, separators=separators
        )


def _default(value: object) -> object:
    if isinstance(value, datetime):
        return iso_utc(value)
    return str(value)


# -- text for a terminal -----------------------------------------------------------------------


_CONTROL = {c: "\ufffd" for c in [*range(32), *range(127, 160)] if chr(c) not in "\n\t"}


def printable(doc: object) -> object:
    """`doc` with control characters in its strings (ESC, CR, C1 ...) shown as U+FFFD: logged data never drives the terminal."""
    if isinstance(doc, str):
        return doc.translate(_CONTROL)
    if isinstance(doc, dict):
        return {printable(key): printable(value) for key, value in doc.items()}
    if isinstance(doc, (list, tuple)):
        return [printable(value) for value in doc]
    return doc


# -- time -------------------------------------------------------------------------------------


def to_datetime(moment: float | datetime | None) -> datetime | None:
    """An aware UTC datetime from epoch seconds or a datetime (naive means UTC)."""
    if moment is None:
        return None
    if isinstance(moment, datetime):
        aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)
        return aware.astimezone(timezone.utc)
    return datetime.fromtimestamp(moment, tz=timezone.utc)


def iso_utc(moment: float | datetime | None) -> str | None:
    """ISO 8601 in UTC ending in `Z` (microseconds kept when not zero), e.g. 2025-01-31T12:00:00.5Z."""
    when = to_datetime(moment)
    return None if when is None else when.replace(tzinfo=None).isoformat() + "Z"


def human_time(moment: float | datetime | str | None) -> str | None:
    """`YYYY-MM-DD HH:MM:SS` in UTC for people (tables, static HTML); None when missing."""
    if isinstance(moment, str):
        moment = parse_since(moment)
    when = to_datetime(moment)
    return None if when is None else when.strftime("%Y-%m-%d %H:%M:%S")


def parse_since(since: object) -> datetime | None:
    """An aware datetime from a datetime or an ISO 8601 date/time string (no zone, or `Z`, means UTC).

    TypeError for another type, InvalidValue for a string that is not ISO 8601.
    """
    if since is None:
        return None
    if isinstance(since, str):
        text = since.strip()
        if text[-1:] in ("Z", "z"):
            text = text[:-1] + "+00:00"
        try:
            since = datetime.fromisoformat(text)
        except ValueError:
            raise InvalidValue(
                f"since must be an ISO-8601 date or time such as 2025-01-31T12:00:00Z, got {since!r}"
            ) from None
    if not isinstance(since, datetime):
        raise TypeError(f"since must be a datetime or an ISO-8601 string, got {type(since).__name__}")
    return to_datetime(since)


# -- alerts -----------------------------------------------------------------------------------


def alert_dict(row: Mapping[str, Any], run: str | None = None) -> dict[str, Any]:
    """One stored alert row as the documented dict (timestamp ISO UTC, data parsed and JSON-safe).

    `run` overrides the row's run name (a report's label for runs that share a name).
    """
    data = row["data"]
    if isinstance(data, str):
        data = json.loads(data)
    return {
        "id": row["id"],
        "run": row["run"] if run is None else run,
        "run_id": row["run_id"],
        "timestamp": iso_utc(row["timestamp"]),
        "step": row["step"],
        "level": str(row["level"]),
        "title": row["title"],
        "text": row["text"],
        "data": None if data is None else jsonable(data),
    }


def alert_dicts(frame: pl.DataFrame | Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Every row of an alerts frame (or of dict rows) as `alert_dict`s, in order."""
    rows = frame.iter_rows(named=True) if hasattr(frame, "iter_rows") else frame
    return [alert_dict(row) for row in rows]


def alert_reason(alert: Mapping[str, Any]) -> str | None:
    """The watcher reason an alert's data carries (None for alerts raised by hand)."""
    data = alert.get("data")
    reason = data.get("reason") if isinstance(data, Mapping) else None
    return reason if isinstance(reason, str) else None


# -- runs -------------------------------------------------------------------------------------


def run_fields(row: Mapping[str, Any]) -> dict[str, Any]:
    """A run as every JSON document shows it: id, name (`run`), group, status, ISO times."""
    return {
        "id": row["id"],
        "run": row["name"],
        "group": row["group"],
        "status": row["status"],
        "created_at": iso_utc(row["created_at"]),
        "finished_at": iso_utc(row["finished_at"]),
    }


def run_labels(runs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Label per run id from (id, name) pairs: the name, plus the id where two runs share it."""
    pairs = list(runs)
    counts = Counter(name for _, name in pairs)
    return {rid: name if counts[name] == 1 else f"{name} ({rid})" for rid, name in pairs}


def resolve_run(runs: pl.DataFrame, project: str, name_or_id: str) -> dict[str, Any]:
    """The run row whose id is `name_or_id`, else the only run with that name.

    RunNotFound when none matches; AmbiguousRun (listing the ids) when several share the name.
    """
    if not isinstance(name_or_id, str):
        raise TypeError(f"run must be a name or id string, got {type(name_or_id).__name__}")
    ids = runs["id"].to_list()
    if name_or_id in ids:
        return runs.row(ids.index(name_or_id), named=True)
    matches = [i for i, name in enumerate(runs["name"].to_list()) if name == name_or_id]
    if len(matches) == 1:
        return runs.row(matches[0], named=True)
    if matches:
        listed = ", ".join(ids[i] for i in matches)
        raise AmbiguousRun(f"{len(matches)} runs in {project!r} are named {name_or_id!r} (ids {listed}); pass an id")
    raise RunNotFound(f"project {project!r} has no run named or with id {name_or_id!r}")


def select_run_ids(runs: pl.DataFrame, project: str, wanted: Iterable[str], *, missing_ok: bool = False) -> list[str]:
    """The ids of the runs named (by id or unique name) in `wanted`, in that order, each once.

    `missing_ok` skips names no run has yet (live widgets wait for them); ambiguity always raises.
    """
    out: list[str] = []
    for name_or_id in wanted:
        try:
            run_id = resolve_run(runs, project, name_or_id)["id"]
        except RunNotFound:
            if missing_ok:
                continue
            raise
        if run_id not in out:
            out.append(run_id)
    return out


def require_metric(known: list[str], metric: str, where: str) -> str:
    """`metric` if it is in `known`, else MetricNotFound naming `where` and the metrics it has."""
    if not isinstance(metric, str):
        raise TypeError(f"metric must be a string, got {type(metric).__name__}")
    if metric in known:
        return metric
    shown = ", ".join(known[:20]) + (f", ... ({len(known)} in all)" if len(known) > 20 else "")
    raise MetricNotFound(f"{where} has no metric {metric!r} (it has: {shown or 'none'})")
