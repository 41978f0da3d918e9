"""`trackio-nb` in process (main(argv) with captured output) over one project seeded per module."""

from __future__ import annotations

import json
import math
import time
from datetime import datetime, timedelta, timezone

import pytest

import trackio_nb as tnb
from trackio_nb.cli import main

PROJECT = "cli-seed"
LONG = "run-" + "a" * 30 + "-MIDDLE-" + "z" * 34 + "-end"  # 80 characters
# name -> (status, loss per step, acc per step); created in this order.
RUNS = [
    ("alpha", "finished", [3.0, 1.0, 2.0], [0.1, 0.5, 0.4]),
    ("beta", "finished", [5.0, 0.5, 1.5], [0.2, 0.9, 0.7]),
    ("alpha", "finished", [4.0, 2.5, 0.8], [0.3, 0.6, 0.8]),
    (LONG, "finished", [2.0, 1.8, 2.5], [0.4, 0.45, 0.3]),
    ("broken", "failed", [0.1, 0.05], [0.95, 0.99]),
    ("nanrun", "finished", [6.0, math.nan], [0.0, 0.0]),
]


def strict_json(text: str):
    """Parse `text` as exactly one JSON document, refusing NaN/Infinity literals."""

    def refuse(name: str):
        raise AssertionError(f"illegal JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture(scope="module")
def seed(tmp_path_factory):
    """The seeded data directory, run ids in creation order, and the alert timeline."""
    root = tmp_path_factory.mktemp("cli")
    ids, marks = [], {}
    for name, status, losses, accs in RUNS:
        run = tnb.init(PROJECT, name, config={"name": name, "n": len(ids)}, dir=root)
        if name == "nanrun":
            run.watch("loss", nan=True)
        for loss, acc in zip(losses, accs, strict=True):
            run.log({"loss": loss, "acc": acc})
        if name == "alpha" and not ids:
            run.log({"only_first": 7.0})
            run.alert("first alert", "info text", level="info")
            run.flush(10)
            time.sleep(0.05)
            marks["after_first"] = datetime.now(timezone.utc)
            time.sleep(0.05)
        if name == "beta":
            run.alert("beta warn", level="warn")
            run.alert("beta error", "bad things", level="error", data={"reason": "custom", "x": 1})
        run.finish(status=status)
        ids.append(run.id)
    return {"root": root, "ids": ids, "marks": marks, "alerts": 4}


@pytest.fixture
def cli(seed, monkeypatch, capsys):
    """Run the CLI in process on the seeded directory: returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("TRACKIO_NB_DIR", str(seed["root"]))
    monkeypatch.setenv("COLUMNS", "100")

    def run(*argv: str):
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def jcli(cli, *argv: str):
    code, out, err = cli(*argv, "--json")
    assert (code, err) == (0, "")
    return strict_json(out)


# best: ranking order and values for each direction and mode ------------------------------


def _expected_ranking(seed, mode: str, direction: str, include_all: bool = False):
    pick = {
        "last": lambda xs: xs[-1],
        "min": lambda xs: min(x for x in xs if x == x),
        "max": lambda xs: max(x for x in xs if x == x),
    }[mode]
    rows = [
        (pick(losses), seed["ids"][i])
        for i, (_, status, losses, _) in enumerate(RUNS)
        if include_all or status == "finished"
    ]
    numeric = [r for r in rows if r[0] == r[0]]
    nan = [r for r in rows if r[0] != r[0]]
    numeric.sort(key=lambda r: r[0], reverse=direction == "max")
    return numeric + nan


@pytest.mark.parametrize("mode", ["last", "min", "max"])
@pytest.mark.parametrize("direction", ["min", "max"])
def test_best_ranking(cli, seed, mode, direction):
    doc = jcli(cli, "best", "--project", PROJECT, "--metric", "loss", "--direction", direction, "--mode", mode)
    expected = _expected_ranking(seed, mode, direction)
    got = [(r["value"], r["run_id"]) for r in doc["ranking"]]
    assert [g[1] for g in got] == [e[1] for e in expected]
    for (value, _), (want, _) in zip(got, expected, strict=True):
        assert value == ("NaN" if want != want else want)
    assert doc["best_run_id"] == expected[0][1]
    assert doc["best_value"] == expected[0][0]
    assert doc["best_run"] == RUNS[seed["ids"].index(expected[0][1])][0]
    assert (doc["project"], doc["metric"], doc["direction"], doc["mode"]) == (PROJECT, "loss", direction, mode)
    assert all(r["status"] == "finished" for r in doc["ranking"])


def test_best_concrete_values(cli, seed):
    ids = seed["ids"]
    doc = jcli(cli, "best", "--project", PROJECT, "--metric", "loss")
    assert [(r["run"], r["value"], r["step"]) for r in doc["ranking"]] == [
        ("alpha", 0.8, 2),
        ("beta", 1.5, 2),
        ("alpha", 2.0, 2),
        (LONG, 2.5, 2),
        ("nanrun", "NaN", 1),
    ]
    assert (doc["best_run"], doc["best_run_id"], doc["best_step"]) == ("alpha", ids[2], 2)
    assert doc["ranking"][0]["config"] == {"name": "alpha", "n": 2}
    doc = jcli(cli, "best", "--project", PROJECT, "--metric", "loss", "--mode", "min")
    assert [(r["value"], r["step"]) for r in doc["ranking"]][:2] == [(0.5, 1), (0.8, 2)]


def test_best_include_all_adds_failed_runs(cli, seed):
    doc = jcli(cli, "best", "--project", PROJECT, "--metric", "loss", "--include-all")
    assert [r["run_id"] for r in doc["ranking"]] == [e[1] for e in _expected_ranking(seed, "last", "min", True)]
    assert (doc["best_run"], doc["best_value"], doc["ranking"][0]["status"]) == ("broken", 0.05, "failed")
    assert doc["include_all"] is True


def test_best_human_output(cli, seed):
    code, out, err = cli("best", "--project", PROJECT, "--metric", "loss")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == f"best run by loss (min of each run's last value): alpha (id {seed['ids'][2]}) = 0.8 at step 2"
    assert lines[1] == "considering finished runs only (--include-all adds running and failed runs)"
    assert lines[3].split() == ["rank", "run", "id", "status", "last", "step"]
    assert [ln.split()[1] for ln in lines[4:]][:3] == ["alpha", "beta", "alpha"]
    assert [ln.split()[2] for ln in lines[4:]] == [e[1] for e in _expected_ranking(seed, "last", "min")]
    assert lines[-1].split()[-2:] == ["nan", "1"]
    assert all(len(ln) <= 100 for ln in lines[2:])


# compare ---------------------------------------------------------------------------------


def test_compare_values(cli, seed):
    ids = seed["ids"]
    doc = jcli(cli, "compare", "--project", PROJECT)
    assert (doc["selection"], doc["include_all"]) == ("finished", False)
    assert doc["metrics"] == ["acc", "loss", "only_first"]
    assert [r["id"] for r in doc["runs"]] == [ids[i] for i in (0, 1, 2, 3, 5)]
    by_id = {r["id"]: r for r in doc["runs"]}
    assert by_id[ids[0]]["metrics"] == {"acc": 0.4, "loss": 2.0, "only_first": 7.0}
    assert by_id[ids[1]]["metrics"] == {"acc": 0.7, "loss": 1.5, "only_first": None}
    assert by_id[ids[5]]["metrics"] == {"acc": 0.0, "loss": "NaN", "only_first": None}
    assert by_id[ids[1]]["status"] == "finished" and by_id[ids[1]]["run"] == "beta"
    assert by_id[ids[1]]["config"] == {"name": "beta", "n": 1}


def test_compare_runs_metrics_and_mode(cli, seed):
    ids = seed["ids"]
    doc = jcli(
        cli, "compare", "--project", PROJECT, "--runs", f"broken,{ids[2]},beta", "--metrics", "loss", "--mode", "max"
    )
    assert [(r["run"], r["id"]) for r in doc["runs"]] == [("broken", ids[4]), ("alpha", ids[2]), ("beta", ids[1])]
    assert [r["metrics"] for r in doc["runs"]] == [{"loss": 0.1}, {"loss": 4.0}, {"loss": 5.0}]
    assert [r["steps"] for r in doc["runs"]] == [{"loss": 0}, {"loss": 0}, {"loss": 0}]
    assert (doc["mode"], doc["metrics"], doc["selection"], doc["include_all"]) == ("max", ["loss"], "given", True)
    doc = jcli(cli, "compare", "--project", PROJECT, "--metrics", "acc", "--mode", "min", "--include-all")
    assert [r["metrics"]["acc"] for r in doc["runs"]] == [0.1, 0.2, 0.3, 0.3, 0.95, 0.0]
    assert doc["selection"] == "all"
    code, out, _ = cli("compare", "--project", PROJECT, "--runs", "beta")
    assert (
        code == 0
        and out.splitlines()[0] == f"last values of 1 runs of project {PROJECT!r}; considering the runs given (--runs)"
    )


def test_compare_reads_all_values_in_one_query(seed):
    from trackio_nb import analysis
    from trackio_nb.readers import LocalReader

    class Counting(LocalReader):
        calls = 0

        def final_values(self, *args, **kwargs):
            Counting.calls += 1
            return super().final_values(*args, **kwargs)

    reader = Counting(seed["root"])
    doc = analysis.compare(reader, PROJECT, mode="last", include_all=True)
    assert (Counting.calls, len(doc["runs"]), len(doc["metrics"])) == (1, 6, 3)
    analysis.best(reader, PROJECT, "loss")
    assert Counting.calls == 2
    reader.close()


def test_compare_human_output_fits_columns(cli, seed):
    code, out, err = cli("compare", "--project", PROJECT, "--metrics", "loss,acc")
    assert (code, err) == (0, "")
    head, table = out.split("\n\n", 1)
    assert " ".join(head.split()) == (  # wrapped to the terminal's 100 columns
        f"last values of 5 runs of project {PROJECT!r}; considering finished runs only "
        "(--include-all adds running and failed runs)"
    )
    lines = table.splitlines()
    assert lines[0].split() == ["run", "id", "status", "loss", "acc"]
    assert all(len(ln) <= 100 for ln in out.splitlines())
    long_line = next(ln for ln in lines if seed["ids"][3] in ln)
    shown = long_line.split()[0]
    assert LONG not in out
    assert shown.startswith("run-aaaa") and shown.endswith("zzzz-end") and "…" in shown
    assert len(shown) < 80
    assert long_line.split()[1:] == [seed["ids"][3], "finished", "2.5", "0.3"]


def test_compare_long_name_kept_when_it_fits(cli, seed, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    code, out, _ = cli("compare", "--project", PROJECT, "--metrics", "loss")
    assert code == 0 and LONG in out


# summary ---------------------------------------------------------------------------------


def test_summary_json(cli, seed):
    ids = seed["ids"]
    doc = jcli(cli, "summary", "--project", PROJECT)
    assert doc["total_alerts"] == seed["alerts"]
    assert doc["num_runs"] == len(RUNS)
    assert doc["status_counts"] == {"running": 0, "finished": 5, "failed": 1}
    assert doc["alerts_by_level"] == {"info": 1, "warn": 1, "error": 2}
    assert [r["id"] for r in doc["runs"]] == ids
    assert [r["num_alerts"] for r in doc["runs"]] == [1, 2, 0, 0, 0, 1]
    assert doc["runs"][4]["metrics"] == {"acc": 0.99, "loss": 0.05}
    assert doc["runs"][5]["metrics"]["loss"] == "NaN"
    doc = jcli(cli, "summary", "--project", PROJECT, "--metric", "only_first")
    assert doc["metrics"] == ["only_first"]
    assert [r["metrics"] for r in doc["runs"]][:2] == [{"only_first": 7.0}, {}]


def test_summary_human_output(cli, seed):
    code, out, err = cli("summary", "--project", PROJECT)
    assert (code, err) == (0, "")
    head, table = out.split("\n\n", 1)
    assert " ".join(head.split()) == (
        f"project {PROJECT!r}: 6 runs (0 running, 5 finished, 1 failed), 4 alerts (2 error, 1 warn, 1 info)"
        " last values:"
    )
    lines = table.splitlines()
    assert lines[0].split() == ["run", "id", "status", "alerts", "acc", "loss", "only_first"]
    rows = [ln.split() for ln in lines[1:]]
    assert [r[0] for r in rows][:3] == ["alpha", "beta", "alpha"]
    assert [r[1] for r in rows] == seed["ids"]
    assert rows[4] == ["broken", seed["ids"][4], "failed", "0", "0.99", "0.05", "-"]
    assert all(len(ln) <= 100 for ln in lines[1:])


# lists, gets, duplicate names ---------------------------------------------------------------


def test_list_runs_shows_duplicate_names_apart(cli, seed):
    doc = jcli(cli, "list", "runs", "--project", PROJECT)
    assert [(r["run"], r["id"], r["status"]) for r in doc["runs"]] == [
        (name, seed["ids"][i], status) for i, (name, status, _, _) in enumerate(RUNS)
    ]
    code, out, _ = cli("list", "runs", "--project", PROJECT)
    assert code == 0
    alpha_lines = [ln.split() for ln in out.splitlines() if ln.startswith("alpha ")]
    assert [(ln[1], ln[2]) for ln in alpha_lines] == [(seed["ids"][0], "finished"), (seed["ids"][2], "finished")]


def test_list_projects_and_metrics(cli, seed):
    assert jcli(cli, "list", "projects") == {"projects": [PROJECT]}
    assert jcli(cli, "list", "metrics", "--project", PROJECT)["metrics"] == ["acc", "loss", "only_first"]
    doc = jcli(cli, "list", "metrics", "--project", PROJECT, "--run", seed["ids"][1])
    assert (doc["run"], doc["metrics"]) == ("beta", ["acc", "loss"])


def test_get_run_and_metric(cli, seed):
    doc = jcli(cli, "get", "run", "--project", PROJECT, "--run", "beta")
    assert (doc["id"], doc["status"], doc["num_alerts"], doc["last_step"]) == (seed["ids"][1], "finished", 2, 2)
    assert doc["last_values"] == {"acc": 0.7, "loss": 1.5}
    assert doc["config"] == {"name": "beta", "n": 1}
    doc = jcli(cli, "get", "metric", "--project", PROJECT, "--run", seed["ids"][5], "--metric", "loss")
    assert [(v["step"], v["value"]) for v in doc["values"]] == [(0, 6.0), (1, "NaN")]
    assert datetime.fromisoformat(doc["values"][0]["timestamp"]).tzinfo is not None
    code, out, _ = cli("get", "metric", "--project", PROJECT, "--run", "beta", "--metric", "loss")
    assert code == 0
    assert out.splitlines()[0] == f"loss of run 'beta' (id {seed['ids'][1]}), 3 values"
    assert [ln.split()[0::3] for ln in out.splitlines()[2:]] == [["0", "5"], ["1", "0.5"], ["2", "1.5"]]


# alerts: ids, cursor, since -----------------------------------------------------------------


def test_alerts_carry_ids_and_after_id_is_a_cursor(cli, seed):
    doc = jcli(cli, "list", "alerts", "--project", PROJECT)
    ids = [a["id"] for a in doc["alerts"]]
    assert len(ids) == seed["alerts"] and ids == sorted(ids) and doc["last_id"] == ids[-1]
    assert [a["title"] for a in doc["alerts"]][:3] == ["first alert", "beta warn", "beta error"]
    assert doc["alerts"][2]["data"] == {"reason": "custom", "x": 1}
    assert (doc["alerts"][3]["run_id"], doc["alerts"][3]["data"]["reason"]) == (seed["ids"][5], "nan_inf")
    newer = jcli(cli, "list", "alerts", "--project", PROJECT, "--after-id", str(ids[1]))
    assert [a["id"] for a in newer["alerts"]] == ids[2:]
    none = jcli(cli, "get", "alerts", "--project", PROJECT, "--after-id", str(ids[-1]))
    assert (none["alerts"], none["last_id"]) == ([], ids[-1])
    errors = jcli(cli, "list", "alerts", "--project", PROJECT, "--level", "error", "--run", "beta")
    assert [a["title"] for a in errors["alerts"]] == ["beta error"]
    nan = jcli(cli, "list", "alerts", "--project", PROJECT, "--reason", "nan_inf")
    assert [a["run"] for a in nan["alerts"]] == ["nanrun"]


@pytest.mark.parametrize("form", ["utc", "naive", "offset"])
def test_alerts_since_compares_real_datetimes(cli, seed, form):
    mark = seed["marks"]["after_first"]
    text = {
        "utc": mark.isoformat().replace("+00:00", "Z"),
        "naive": mark.replace(tzinfo=None).isoformat(),
        "offset": mark.astimezone(timezone(timedelta(hours=5, minutes=30))).isoformat(),
    }[form]
    doc = jcli(cli, "list", "alerts", "--project", PROJECT, "--since", text)
    assert [(a["run"], a["level"]) for a in doc["alerts"]] == [("beta", "warn"), ("beta", "error"), ("nanrun", "error")]
    assert len(doc["alerts"]) == seed["alerts"] - 1
    assert datetime.fromisoformat(doc["since"]) == mark


def test_alerts_human_output(cli, seed):
    code, out, _ = cli("list", "alerts", "--project", PROJECT, "--run", "beta")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["id", "time", "(UTC)", "level", "run", "step", "title"]
    assert lines[1].split()[3:5] == ["warn", "beta"]
    assert lines[2].split()[3:5] == ["error", "beta"] and lines[2].endswith("beta error")
    assert lines[3] == "    bad things"  # the alert's text, wrapped under its row
    last = json.loads(cli("list", "alerts", "--project", PROJECT, "--run", "beta", "--json")[1])["last_id"]
    assert lines[-1] == f"last id {last} (pass --after-id {last} to see only newer alerts)"


# stop ------------------------------------------------------------------------------------


def test_stop_on_finished_run_says_nothing_listens(cli, seed):
    code, out, _ = cli("stop", "--project", PROJECT, "--run", seed["ids"][1])
    assert code == 0
    assert out.splitlines() == [
        f"stop requested for run 'beta' (id {seed['ids'][1]}) of project {PROJECT!r}",
        "note: the run is finished, so nothing is listening for the request",
    ]


# errors: exit code and the one line on stderr ------------------------------------------------

ERRORS = [
    (["best", "--project", "nope", "--metric", "loss"], 1, "no project named 'nope'"),
    (["best", "--project", PROJECT, "--metric", "ghost"], 1, f"project {PROJECT!r} has no metric 'ghost'"),
    (
        ["best", "--project", PROJECT, "--metric", "loss", "--direction", "up"],
        1,
        "--direction must be one of min, max, got 'up'",
    ),
    (
        ["best", "--project", PROJECT, "--metric", "loss", "--mode", "mean"],
        1,
        "--mode must be one of last, min, max, got 'mean'",
    ),
    (
        ["compare", "--project", PROJECT, "--metrics", "loss,ghost"],
        1,
        f"no compared run of project {PROJECT!r} logged metric 'ghost'",
    ),
    (
        ["compare", "--project", PROJECT, "--runs", "ghost"],
        1,
        f"project {PROJECT!r} has no run named or with id 'ghost'",
    ),
    (["compare", "--project", PROJECT, "--runs", "beta,"], 1, "--runs takes comma-separated names, got 'beta,'"),
    (["get", "run", "--project", PROJECT, "--run", "alpha"], 1, f"2 runs in {PROJECT!r} are named 'alpha'"),
    (
        ["get", "metric", "--project", PROJECT, "--run", "beta", "--metric", "only_first"],
        1,
        "has no metric 'only_first'",
    ),
    (["summary", "--project", PROJECT, "--metric", "ghost"], 1, f"project {PROJECT!r} has no metric 'ghost'"),
    (["list", "alerts", "--project", PROJECT, "--after-id", "x"], 1, "--after-id must be an integer, got 'x'"),
    (["list", "alerts", "--project", PROJECT, "--after-id", "-3"], 1, "--after-id must be >= 0, got -3"),
    (
        ["list", "alerts", "--project", PROJECT, "--level", "fatal"],
        1,
        "--level must be one of info, warn, error, got 'fatal'",
    ),
    (["list", "alerts", "--project", PROJECT, "--reason", "boom"], 1, "--reason must be one of nan_inf,"),
    (["list", "alerts", "--project", PROJECT, "--since", "yesterday"], 1, "--since must be an ISO-8601 date or time"),
    (["stop", "--project", PROJECT, "--run", "ghost"], 1, "has no run named or with id 'ghost'"),
    (["serve", "--port", "http"], 1, "--port must be an integer, got 'http'"),
    (["serve", "--port", "70000"], 1, "--port must be between 0 and 65535, got '70000'"),
    (["report", "--project", "nope", "-o", "never.html"], 1, "no project named 'nope'"),
    (["push", "--project", "nope", "--server", "http://127.0.0.1:9"], 1, "error: no project named 'nope' in "),
    (
        ["report", "--project", PROJECT, "--runs", "ghost"],
        1,
        f"project {PROJECT!r} has no run named or with id 'ghost'",
    ),
    (["best", "--metric", "loss"], 2, "the following arguments are required: --project"),
    (["frobnicate"], 2, "invalid choice: 'frobnicate'"),
    (["list", "runs", "--project", PROJECT, "--bogus"], 2, "unrecognized arguments: --bogus"),
]


@pytest.mark.parametrize(("argv", "code", "message"), ERRORS, ids=[" ".join(e[0][:3]) for e in ERRORS])
def test_errors_are_one_line_with_exit_code(cli, argv, code, message):
    got, out, err = cli(*argv)
    assert got == code
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("trackio-nb: error: ")
    assert message in err


def test_unreadable_database_is_an_input_error(cli, seed, tmp_path, monkeypatch):
    from trackio_nb.storage import project_path

    monkeypatch.setenv("TRACKIO_NB_DIR", str(tmp_path))
    project_path("garbage", tmp_path).write_bytes(b"this is not a sqlite database at all" * 100)
    code, out, err = cli("summary", "--project", "garbage", "--json")
    assert (code, out) == (1, "")
    assert err == "trackio-nb: error: garbage.db is not a trackio_nb database (file is not a database)\n"


def test_server_flag_is_never_ignored(cli, monkeypatch):
    from importlib.util import find_spec

    code, out, err = cli("summary", "--project", PROJECT, "--server", "http://127.0.0.1:9", "--json")
    assert code == 1 and out == "" and err.count("\n") == 1
    if find_spec("trackio_nb.remote.client_reader") is None:
        assert "--server (reading from a tracking server) is not available in this installation" in err
    else:
        assert "127.0.0.1:9" in err or "connect" in err.lower()
    monkeypatch.setenv("TRACKIO_NB_SERVER", "http://127.0.0.1:9")
    assert cli("summary", "--project", PROJECT)[0] == 1


def test_report_writes_the_file_and_prints_its_path(cli, tmp_path):
    target = tmp_path / "out" / "r.html"
    target.parent.mkdir()
    code, out, err = cli("report", "--project", PROJECT, "-o", str(target), "--title", "CLI report", "--json")
    assert (code, err) == (0, "")
    assert strict_json(out) == {"project": PROJECT, "path": str(target)}
    page = target.read_text(encoding="utf-8")
    assert "CLI report" in page and "beta" in page


def test_sync_with_an_empty_outbox(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKIO_NB_DIR", str(tmp_path / "d"))
    code, out, err = cli("sync", "--json")
    assert (code, err) == (0, "")
    assert strict_json(out)["outbox"] == str((tmp_path / "d" / "outbox").resolve())


def test_help_and_version(cli, capsys):
    code, out, _ = cli("--help")
    assert code == 0 and "compare" in out and "summary" in out and "--version" in out
    code, out, _ = cli("best", "--help")
    assert code == 0 and "--include-all" in out and "--server URL" in out
    assert cli("--version")[:2] == (0, f"trackio-nb {tnb.__version__}\n")
