"""Human output fits COLUMNS (60 and 80), headers and footers included, for every read command.

The project has an 80-character run name, a long metric name, a long alert title and note,
and config values; no line of any command's output may be wider than COLUMNS.
"""

from __future__ import annotations

import pytest

import trackio_nb as tnb
from trackio_nb.cli import main

PROJECT = "width-" + "p" * 30
LONG = "run-" + "a" * 30 + "-MIDDLE-" + "z" * 34 + "-end"
METRIC = "validation/" + "cross_entropy_" * 3 + "loss"


@pytest.fixture
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("width")
    for i, name in enumerate([LONG, "short", LONG + "-2"]):
        run = tnb.init(PROJECT, name, group="g" * 40, config={"lr": 10.0**-i, "path": "/x" * 30}, dir=root)
        for step in range(3):
            run.log({METRIC: 1.0 / (step + 1 + i), "acc": 0.1 * step, "m" * 50: float(step)})
        run.alert("a long alert title " * 5, "a long note that explains in detail " * 6, level="warn")
        run.finish()
    return root


def commands(root) -> list[list[str]]:
    runs = tnb.Api(dir=str(root)).runs(PROJECT)
    first = runs[0].id
    return [
        ["list", "projects"],
        ["list", "runs", "--project", PROJECT],
        ["list", "metrics", "--project", PROJECT],
        ["list", "metrics", "--project", PROJECT, "--run", first],
        ["list", "alerts", "--project", PROJECT],
        ["get", "alerts", "--project", PROJECT, "--run", first],
        ["get", "run", "--project", PROJECT, "--run", first],
        ["get", "metric", "--project", PROJECT, "--run", first, "--metric", METRIC],
        ["get", "history", "--project", PROJECT, "--run", first, "--max-points", "5"],
        ["rename", "run", "--project", PROJECT, "--run", first, "--to", LONG + "-renamed"],
        ["delete", "run", "--project", PROJECT, "--run", runs[2].id, "--yes"],
        ["best", "--project", PROJECT, "--metric", METRIC],
        ["best", "--project", PROJECT, "--metric", METRIC, "--include-all", "--direction", "max"],
        ["compare", "--project", PROJECT],
        ["compare", "--project", PROJECT, "--runs", f"{first},short"],
        ["summary", "--project", PROJECT],
        ["summary", "--project", PROJECT, "--metric", METRIC],
        ["stop", "--project", PROJECT, "--run", first],
    ]


@pytest.mark.parametrize("columns", [60, 80])
def test_every_command_fits_the_terminal(root, monkeypatch, capsys, columns):
    monkeypatch.setenv("TRACKIO_NB_DIR", str(root))
    monkeypatch.setenv("COLUMNS", str(columns))
    too_wide = []
    for argv in commands(root):
        code = main(argv)
        out, err = capsys.readouterr()
        assert (code, err) == (0, ""), argv
        assert out.strip(), argv
        too_wide += [(" ".join(argv[:2]), len(line), line) for line in out.splitlines() if len(line) > columns]
    assert too_wide == []


def test_long_names_are_shortened_not_dropped(root, monkeypatch, capsys):
    monkeypatch.setenv("TRACKIO_NB_DIR", str(root))
    monkeypatch.setenv("COLUMNS", "80")
    main(["list", "runs", "--project", PROJECT])
    out = capsys.readouterr().out
    assert "short" in out and "run-aaaa" in out and "-end" in out  # both ends of a long name kept
    assert out.count("…") + out.count("...") >= 2


def test_without_columns_or_a_terminal_output_fits_80(root, monkeypatch, capsys):
    """An agent reads through a pipe with no COLUMNS: SPEC's default width, 80, applies."""
    monkeypatch.setenv("TRACKIO_NB_DIR", str(root))
    monkeypatch.delenv("COLUMNS", raising=False)

    def no_terminal(*_args):
        raise OSError("not a terminal")  # what os.get_terminal_size does on a pipe

    monkeypatch.setattr("os.get_terminal_size", no_terminal)
    widths = []
    for argv in commands(root):
        assert main(argv) == 0, argv
        widths += [len(line) for line in capsys.readouterr().out.splitlines()]
    assert max(widths) == 80


@pytest.mark.parametrize("columns", [60, 80])
def test_help_fits_the_terminal(monkeypatch, capsys, columns):
    monkeypatch.setenv("COLUMNS", str(columns))
    too_wide = []
    for argv in ([], ["list"], ["get"], ["best"], ["compare"], ["summary"], ["delete"], ["serve"], ["sync"]):
        assert main([*argv, "--help"]) == 0
        out = capsys.readouterr().out
        too_wide += [(argv, line) for line in out.splitlines() if len(line) > columns]
    assert too_wide == []
