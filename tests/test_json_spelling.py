"""One spelling of NaN/±Inf and of time in every JSON document: every CLI `--json` command, the server, the Api.

The project holds NaN, +Inf and -Inf in metric values and in alert data (watcher alerts and a
custom rule's data). Each document must parse with NaN/Infinity literals refused, hold the
strings "NaN", "Infinity", "-Infinity" where the floats are, and ISO 8601 UTC times ending in Z.
"""

from __future__ import annotations

import json
import math

import pytest

import trackio_nb as tnb
from trackio_nb.cli import main
from trackio_nb.presentation import ALERT_FIELDS, dumps, iso_utc, jsonable, parse_since

PROJECT = "spell"
SPELLED = {"NaN", "Infinity", "-Infinity"}


def strict(text: str):
    def refuse(name: str):
        raise AssertionError(f"bare JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


def walk(value, path=""):
    """(path, leaf) pairs of a parsed document."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from walk(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from walk(v, f"{path}[{i}]")
    else:
        yield path, value


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    root = tmp_path_factory.mktemp("spell")
    run = tnb.init(PROJECT, "wild", dir=root)
    run.watch("loss")  # NaN -> nan_inf alert with value "NaN"
    run.watch("acc", max_value=1.0)  # +inf -> a nan_inf alert on acc with value "Infinity"
    run.watch(
        "low",
        nan=False,
        fn=lambda v, s: [{"title": "floor", "data": {"floor": -math.inf, "top": [math.inf]}}] if v < 0 else None,
    )
    run.log({"loss": 1.0, "acc": 0.5, "low": 1.0})
    run.log({"loss": math.nan, "acc": math.inf, "low": -math.inf})
    run.finish()
    return root, run.id


def cli_json(root, monkeypatch, capsys, *argv):
    monkeypatch.setenv("TRACKIO_NB_DIR", str(root))
    code = main([*argv, "--json"])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    return out, strict(out)


COMMANDS = [
    ("list", "projects"),
    ("list", "runs", "--project", PROJECT),
    ("list", "metrics", "--project", PROJECT),
    ("list", "alerts", "--project", PROJECT),
    ("get", "alerts", "--project", PROJECT, "--since", "2000-01-01"),
    ("get", "run", "--project", PROJECT, "--run", "wild"),
    ("get", "metric", "--project", PROJECT, "--run", "wild", "--metric", "loss"),
    ("get", "metric", "--project", PROJECT, "--run", "wild", "--metric", "acc"),
    ("get", "metric", "--project", PROJECT, "--run", "wild", "--metric", "low"),
    ("best", "--project", PROJECT, "--metric", "acc", "--direction", "max"),
    ("compare", "--project", PROJECT),
    ("summary", "--project", PROJECT),
    ("stop", "--project", PROJECT, "--run", "wild"),
]


@pytest.mark.parametrize("argv", COMMANDS, ids=[" ".join(c[:2]) for c in COMMANDS])
def test_every_cli_json_document_spells_non_finite_numbers_and_times_one_way(seeded, monkeypatch, capsys, argv):
    root, _ = seeded
    text, doc = cli_json(root, monkeypatch, capsys, *argv)
    for word in ("nan", "inf", "-inf", "NaN,", "Infinity,"):
        assert f'"{word}"' not in text.replace('"NaN"', "").replace('"Infinity"', "")
    for path, leaf in walk(doc):
        if path.endswith(("timestamp", "created_at", "finished_at", "since")) and leaf is not None:
            assert isinstance(leaf, str) and leaf.endswith("Z"), (path, leaf)
            assert parse_since(leaf).tzinfo is not None
        if isinstance(leaf, float):
            assert math.isfinite(leaf), path


def test_the_non_finite_values_are_where_they_were_logged(seeded, monkeypatch, capsys):
    root, run_id = seeded
    _, run = cli_json(root, monkeypatch, capsys, "get", "run", "--project", PROJECT, "--run", run_id)
    assert run["last_values"] == {"acc": "Infinity", "loss": "NaN", "low": "-Infinity"}
    _, alerts = cli_json(root, monkeypatch, capsys, "list", "alerts", "--project", PROJECT)
    by_metric = {a["data"]["metric"]: a for a in alerts["alerts"]}
    assert by_metric["loss"]["data"] == {"metric": "loss", "value": "NaN", "step": 1, "reason": "nan_inf"}
    assert by_metric["loss"]["title"] == "loss is NaN"
    assert by_metric["acc"]["data"] == {"metric": "acc", "value": "Infinity", "step": 1, "reason": "nan_inf"}
    assert by_metric["low"]["data"] == {
        "floor": "-Infinity",
        "top": ["Infinity"],
        "metric": "low",
        "value": "-Infinity",
        "step": 1,
        "reason": "custom",
    }
    assert all(list(a) == list(ALERT_FIELDS) for a in alerts["alerts"])
    _, metric = cli_json(
        root, monkeypatch, capsys, "get", "metric", "--project", PROJECT, "--run", "wild", "--metric", "low"
    )
    assert [v["value"] for v in metric["values"]] == [1.0, "-Infinity"]
    _, summary = cli_json(root, monkeypatch, capsys, "summary", "--project", PROJECT)
    assert summary["runs"][0]["metrics"] == {"acc": "Infinity", "loss": "NaN", "low": "-Infinity"}


def test_the_api_gives_the_same_alert_dicts_as_the_cli(seeded, monkeypatch, capsys):
    root, _ = seeded
    _, doc = cli_json(root, monkeypatch, capsys, "list", "alerts", "--project", PROJECT)
    assert tnb.Api(dir=str(root)).alerts(PROJECT) == doc["alerts"]


def test_presentation_rules():
    assert jsonable({"a": [math.nan, math.inf, -math.inf, 1.5], "b": (2,)}) == {
        "a": ["NaN", "Infinity", "-Infinity", 1.5],
        "b": [2],
    }
    assert dumps({"x": math.nan}) == '{"x": "NaN"}'
    assert dumps([1.0, -math.inf], compact=True) == '[1.0,"-Infinity"]'
    assert iso_utc(0) == "1970-01-01T00:00:00Z"
    assert iso_utc(1.5) == "1970-01-01T00:00:01.500000Z"
    assert parse_since("2025-01-31T12:00:00Z") == parse_since("2025-01-31T12:00:00")
    assert iso_utc(parse_since("2025-01-31T13:00:00+01:00")) == "2025-01-31T12:00:00Z"
    with pytest.raises(tnb.errors.InvalidValue, match="since must be an ISO-8601"):
        parse_since("yesterday")
    with pytest.raises(TypeError, match="since must be a datetime"):
        parse_since(12)


def test_the_server_answers_every_command_with_the_same_document(seeded, monkeypatch, capsys):
    """`--server`: the CLI reading through a tracking server prints the very documents the local read prints."""
    from tests.remote_support import TOKEN, ServerProcess

    root, _ = seeded
    server = ServerProcess(root, token=TOKEN).start()
    try:
        for argv in COMMANDS[:-1]:  # stop last, after the reads
            _, local = cli_json(root, monkeypatch, capsys, *argv)
            _, remote = cli_json(root, monkeypatch, capsys, *argv, "--server", server.url, "--token", TOKEN)
            assert remote == local, argv
        _, stopped = cli_json(root, monkeypatch, capsys, *COMMANDS[-1], "--server", server.url, "--token", TOKEN)
        assert stopped["stop_requested"] is True
    finally:
        server.stop()
