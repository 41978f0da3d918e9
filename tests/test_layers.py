"""The layers hold: storage at the bottom, the run above it, surfaces on top through public calls.

Checked on the source (imports, attribute access, SQL text) and by behaviour (Run.subscribe,
session.add_init_hook, the one open/resume rule shared by the local backend and the server).
"""

from __future__ import annotations

import ast
import math
import re
from pathlib import Path

import trackio_nb as tnb
from trackio_nb import session

PACKAGE = Path(tnb.__file__).resolve().parent
SQL = re.compile(r"\b(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM|CREATE TABLE)\b")


def tree(relative: str) -> ast.Module:
    return ast.parse((PACKAGE / relative).read_text(encoding="utf-8"))


def imported_modules(module: ast.Module) -> set[str]:
    names = set()
    for node in ast.walk(module):
        if isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            names.add(base)
            names.update(f"{base}.{alias.name}" if node.module else f"{base}{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_session_imports_no_widget_module():
    assert not [name for name in imported_modules(tree("session.py")) if "widgets" in name]


def test_storage_imports_nothing_from_above():
    allowed = {".", ".errors", "..errors", "..enums"}
    for path in (PACKAGE / "storage").glob("*.py"):
        above = [n for n in imported_modules(ast.parse(path.read_text())) if n.startswith("..") and n not in allowed]
        assert not [n for n in above if not n.startswith(("..errors", "..enums"))], (path.name, above)


def test_the_hub_touches_no_private_attribute_of_a_run():
    private = [
        node.attr
        for node in ast.walk(tree("widgets/hub.py"))
        if isinstance(node, ast.Attribute)
        and node.attr.startswith("_")
        and not node.attr.startswith("__")
        and isinstance(node.value, (ast.Name, ast.Attribute))
        and (getattr(node.value, "id", None) == "run" or getattr(node.value, "attr", None) == "run")
    ]
    assert private == []


def test_no_sql_outside_storage_in_the_reader_and_the_local_backend():
    for name in ("readers.py", "local_backend.py", "api.py", "documents.py", "analysis.py", "session.py"):
        text = (PACKAGE / name).read_text(encoding="utf-8")
        assert not SQL.search(text), name


def test_subscribe_hands_stored_rows_calls_due_and_end_until_unsubscribed(data_dir):
    stored, due, ended = [], [], []
    run = tnb.init("layers")

    def on_due(now: float) -> tuple[float, float]:
        due.append(now)
        return now, now + 3600.0  # not due again within the hour

    unsubscribe = run.subscribe(lambda entries: stored.extend(e[:3] for e in entries), ended.append, on_due)
    run.log({"loss": 1.0})
    run.log({"loss": 0.5}, step=7)
    assert len(due) == 1  # the first log() after subscribing, then not before the window ends
    assert run.flush(5.0)
    assert [(step, numbers) for step, _, numbers in stored] == [(0, {"loss": 1.0}), (7, {"loss": 0.5})]
    assert due[0] == stored[0][1]  # on_due got log()'s own timestamp
    unsubscribe()
    run.log({"loss": 0.25})
    assert run.flush(5.0)
    assert len(stored) == 2 and len(due) == 1
    assert (run._due_from, run._due_to) == (-math.inf, math.inf)  # nobody due: log() never calls out
    only_end = run.subscribe(on_end=ended.append)
    run.finish()
    assert ended == [run]
    only_end()
    assert run.location == ("local", str(data_dir.resolve()))


def test_init_hooks_are_called_for_every_new_run_until_removed(data_dir):
    started = []
    remove = session.add_init_hook(started.append)
    try:
        first = tnb.init("layers-hooks")
        second = tnb.init("layers-hooks")
    finally:
        remove()
    third = tnb.init("layers-hooks")
    tnb.finish()
    assert started == [first, second]
    assert third not in started


def test_local_backend_and_server_store_open_runs_by_the_same_rule(data_dir, tmp_path):
    """Default names, resume by name with config merged, next step after the highest logged one."""
    from trackio_nb.remote.app import sqlite_store

    run = tnb.init("same-rule", config={"a": 1})
    run.log({"x": 1.0}, step=4)
    run.finish()
    resumed = tnb.init("same-rule", run.name, resume="allow", config={"b": 2})
    assert (resumed.id, dict(resumed.config), resumed._next_step) == (run.id, {"a": 1, "b": 2}, 5)
    resumed.finish()

    store = sqlite_store(data_dir)
    batch = {
        "kind": "open",
        "project": "same-rule",
        "run_id": "server000001",
        "name": run.name,
        "group": None,
        "config": {"c": 3},
        "resume": "allow",
        "created_at": 1.0,
        "host": "h",
        "pid": 1,
    }
    reply = store.apply(batch)
    assert (reply["id"], reply["next_step"], reply["resumed"], reply["config"]) == (
        run.id,
        5,
        True,
        {"a": 1, "b": 2, "c": 3},
    )
    fresh = store.apply({**batch, "run_id": "server000002", "name": None, "resume": "never"})
    assert re.fullmatch(r"[a-z]+-[a-z]+-1", fresh["name"])  # numbered by the project's run count
