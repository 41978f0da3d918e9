"""Human output of each command, from the same document `--json` prints."""

from __future__ import annotations

import json
from typing import Any

from ..presentation import human_time
from .tables import Column, number, render, shorten, terminal_width

MAX_HEADER = 24
MAX_NAME_IN_TEXT = 32
ALL_RUNS_HINT = "finished runs only (--include-all adds running and failed runs)"


def _when(iso_text: str | None) -> str:
    return human_time(iso_text) or "-"


def _name(name: str) -> str:
    """A run, metric or project name inside a sentence: long ones shortened in the middle."""
    return shorten(name, MAX_NAME_IN_TEXT)


def _text(value: object) -> str:
    return "-" if value is None else " ".join(str(value).split())


def _metric_columns(names: list[str], rows: list[dict[str, Any]]) -> list[Column]:
    return [
        Column(shorten(name, MAX_HEADER), [number(row["metrics"].get(name)) for row in rows], right=True)
        for name in names
    ]


def list_projects(doc: dict[str, Any]) -> str:
    return "\n".join(doc["projects"]) if doc["projects"] else "no projects"


def list_runs(doc: dict[str, Any]) -> str:
    runs = doc["runs"]
    if not runs:
        return f"project {doc['project']!r} has no runs"
    return render(
        [
            Column("run", [r["run"] for r in runs]),
            Column("id", [r["id"] for r in runs]),
            Column("status", [r["status"] for r in runs]),
            Column("group", [_text(r["group"]) for r in runs]),
            Column("created (UTC)", [_when(r["created_at"]) for r in runs]),
        ],
        shrink=(0, 3),
    )


def list_metrics(doc: dict[str, Any]) -> str:
    where = f"run {doc['run']!r} (id {doc['run_id']})" if doc["run_id"] else f"project {doc['project']!r}"
    if not doc["metrics"]:
        return f"{where} has no metrics"
    return "\n".join(doc["metrics"])


def list_alerts(doc: dict[str, Any]) -> str:
    alerts = doc["alerts"]
    if not alerts:
        return f"no alerts (last id {doc['last_id']})"
    table = render(
        [
            Column("id", [str(a["id"]) for a in alerts], right=True),
            Column("time (UTC)", [_when(a["timestamp"]) for a in alerts]),
            Column("level", [a["level"] for a in alerts]),
            Column("run", [a["run"] for a in alerts]),
            Column("step", [number(a["step"]) for a in alerts], right=True),
            Column("title", [_text(a["title"]) for a in alerts]),
        ],
        shrink=(3, 5),
        notes=[None if a["text"] is None else _text(a["text"]) for a in alerts],  # wrapped under the row
    )
    return f"{table}\n\nlast id {doc['last_id']} (pass --after-id {doc['last_id']} to see only newer alerts)"


get_alerts = list_alerts


def list_media(doc: dict[str, Any]) -> str:
    media = doc["media"]
    if not media:
        return "no media"
    return render(
        [
            Column("run", [m["run"] for m in media]),
            Column("step", [str(m["step"]) for m in media], right=True),
            Column("key", [m["key"] for m in media]),
            Column("kind", [m["kind"] for m in media]),
            Column("caption", [_text(m["caption"]) for m in media]),
        ],
        shrink=(0, 2, 4),
    )


def get_media(doc: dict[str, Any]) -> str:
    return f"wrote {doc['kind']} {doc['key']!r} (step {doc['step']}) of run {doc['run']!r} to {doc['output']}"


def get_run(doc: dict[str, Any]) -> str:
    lines = [
        f"run      {doc['run']}",
        f"id       {doc['id']}",
        f"project  {doc['project']}",
        f"status   {doc['status']}",
        f"group    {_text(doc['group'])}",
        f"created  {_when(doc['created_at'])} UTC",
        f"finished {_when(doc['finished_at'])}{' UTC' if doc['finished_at'] else ''}",
        f"alerts   {doc['num_alerts']}",
        f"step     {number(doc['last_step'])}",
        f"config   {json.dumps(doc['config'], sort_keys=True)}",
    ]
    last = doc["last_values"]
    if last:
        lines.append("")
        lines.append(
            render([Column("metric", list(last)), Column("last value", [number(v) for v in last.values()], right=True)])
        )
    return "\n".join(lines)


def _values_table(values: list[dict[str, Any]]) -> str:
    return render(
        [
            Column("step", [number(v["step"]) for v in values], right=True),
            Column("time (UTC)", [_when(v["timestamp"]) for v in values]),
            Column("value", [number(v["value"]) for v in values], right=True),
        ]
    )


def get_metric(doc: dict[str, Any]) -> str:
    values = doc["values"]
    head = f"{_name(doc['metric'])} of run {_name(doc['run'])!r} (id {doc['run_id']}), {len(values)} values"
    if not values:
        return head
    return f"{head}\n{_values_table(values)}"


def get_history(doc: dict[str, Any]) -> str:
    parts = [f"history of run {doc['run']!r} (id {doc['run_id']}), at most {doc['max_points']} points per metric"]
    for series in doc["metrics"]:
        values = series["values"]
        parts.append(f"\n{series['metric']}: {len(values)} of {series['num_values']} values")
        if values:
            parts.append(_values_table(values))
    return "\n".join(parts)


def best(doc: dict[str, Any]) -> str:
    ranking = doc["ranking"]
    head = (
        f"best run by {_name(doc['metric'])} ({doc['direction']} of each run's {doc['mode']} value): "
        f"{_name(doc['best_run'])} (id {doc['best_run_id']}) = {number(doc['best_value'])} at step {number(doc['best_step'])}"
    )
    scope = "all runs (--include-all)" if doc["include_all"] else ALL_RUNS_HINT
    table = render(
        [
            Column("rank", [str(i) for i in range(1, len(ranking) + 1)], right=True),
            Column("run", [r["run"] for r in ranking]),
            Column("id", [r["run_id"] for r in ranking]),
            Column("status", [r["status"] for r in ranking]),
            Column(doc["mode"], [number(r["value"]) for r in ranking], right=True),
            Column("step", [number(r["step"]) for r in ranking], right=True),
        ],
        shrink=(1,),
    )
    return f"{head}\nconsidering {scope}\n\n{table}"


def compare(doc: dict[str, Any]) -> str:
    runs = doc["runs"]
    scope = {"given": "the runs given (--runs)", "all": "all runs (--include-all)"}.get(doc["selection"], ALL_RUNS_HINT)
    head = f"{doc['mode']} values of {len(runs)} runs of project {_name(doc['project'])!r}; considering {scope}"
    if not runs:
        return f"{head}\nno runs to compare"
    table = render(
        [
            Column("run", [r["run"] for r in runs]),
            Column("id", [r["id"] for r in runs]),
            Column("status", [r["status"] for r in runs]),
        ],
        _metric_columns(doc["metrics"], runs),
    )
    return f"{head}\n\n{table}"


def summary(doc: dict[str, Any]) -> str:
    counts, levels, runs = doc["status_counts"], doc["alerts_by_level"], doc["runs"]
    head = (
        f"project {_name(doc['project'])!r}: {doc['num_runs']} runs ({counts['running']} running, {counts['finished']} "
        f"finished, {counts['failed']} failed), {doc['total_alerts']} alerts ({levels['error']} error, "
        f"{levels['warn']} warn, {levels['info']} info)"
    )
    if not runs:
        return head
    table = render(
        [
            Column("run", [r["run"] for r in runs]),
            Column("id", [r["id"] for r in runs]),
            Column("status", [r["status"] for r in runs]),
            Column("alerts", [str(r["num_alerts"]) for r in runs], right=True),
        ],
        _metric_columns(doc["metrics"], runs),
    )
    return f"{head}\nlast values:\n\n{table}"


def stop(doc: dict[str, Any]) -> str:
    line = f"stop requested for run {_name(doc['run'])!r} (id {doc['run_id']}) of project {_name(doc['project'])!r}"
    if doc["status"] != "running":
        line += f"\nnote: the run is {doc['status']}, so nothing is listening for the request"
    return line


def _named(prefix: str, name: str, suffix: str = "") -> str:
    """`prefix 'name' suffix`, the name shortened so that the line fits the terminal."""
    room = max(8, terminal_width() - len(prefix) - len(suffix) - 2)
    return f"{prefix}{shorten(name, room)!r}{suffix}"


def _counts(doc: dict[str, Any], *, runs: bool = False) -> str:
    from ..documents import describe_counts

    return describe_counts(doc, runs=runs)


def delete_run(doc: dict[str, Any]) -> str:
    lines = [_named("deleted run ", doc["run"], f" (id {doc['run_id']})"), _named("of project ", doc["project"])]
    return "\n".join([*lines, _counts(doc)])


def delete_project(doc: dict[str, Any]) -> str:
    return "\n".join([_named("deleted project ", doc["project"]), _counts(doc, runs=True)])


def rename_run(doc: dict[str, Any]) -> str:
    return "\n".join(
        [
            _named("renamed run ", doc["previous_name"], f" (id {doc['run_id']})"),
            _named("of project ", doc["project"]),
            _named("to ", doc["run"]),
        ]
    )


def move_run(doc: dict[str, Any]) -> str:
    return "\n".join(
        [
            _named("moved run ", doc["run"], f" (id {doc['run_id']})"),
            _named("from project ", doc["from_project"]),
            _named("to project ", doc["project"]),
            _counts(doc),
        ]
    )


def report(doc: dict[str, Any]) -> str:
    return f"wrote the report of project {doc['project']!r} to {doc['path']}"


def export(doc: dict[str, Any]) -> str:
    return f"exported {doc['notebook']} to {doc['path']}"


def sync(doc: dict[str, Any]) -> str:
    return "\n".join(f"{key}: {value}" for key, value in doc.items()) or "nothing to deliver"


def migrate(doc: dict[str, Any]) -> str:
    if doc["from_version"] == doc["to_version"]:
        return f"{doc['database']}: schema version {doc['to_version']}, nothing to do"
    return f"{doc['database']}: schema version {doc['from_version']} -> {doc['to_version']}"


def push(doc: dict[str, Any]) -> str:
    return (
        f"pushed project {doc['project']} to {doc['server']}: {doc['runs']} runs"
        f" ({doc['runs_created']} new), {doc['values']} values, {doc['alerts']} alerts, {doc['media']} media,"
        f" {doc['batches_applied']} batches applied, {doc['batches_skipped']} already there"
    )
