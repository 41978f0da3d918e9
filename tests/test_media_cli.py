"""`trackio-nb list media` and `get media`: the rows as JSON, and one object written to a file."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image as PILImage

import trackio_nb as tnb
from tests.test_cli import strict_json
from trackio_nb.cli import main

PIXELS = np.array([[[255, 0, 0], [0, 255, 0]]], dtype=np.uint8)


def _seed():
    with tnb.init("cli-media", "a") as run:
        run.log({"img": tnb.Image(PIXELS, caption="first"), "loss": 1.0})
        run.log({"img": tnb.Image(PIXELS[:, ::-1].copy()), "notes": tnb.Markdown("# done")})
        run.log({"h": tnb.Histogram(np_histogram=([2, 0], [0.0, 0.5, float("nan")]))})
    with tnb.init("cli-media", "b"):
        tnb.log({"notes": tnb.Markdown("other")})
    return run


def _cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_media_json_and_text(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    run = _seed()
    code, out, _ = _cli(capsys, "list", "media", "--project", "cli-media", "--run", "a", "--json")
    doc = strict_json(out)
    assert code == 0
    assert (doc["run"], doc["run_id"], doc["key"]) == ("a", run.id, None)
    rows = [(m["step"], m["key"], m["kind"], m["caption"], m["value"]) for m in doc["media"]]
    assert rows == [
        (0, "img", "image", "first", None),
        (1, "img", "image", None, None),
        (1, "notes", "markdown", None, "# done"),
        (2, "h", "histogram", None, {"bins": [0.0, 0.5, "NaN"], "values": [2, 0]}),
    ]
    assert doc["media"][0]["file"].endswith(".png") and doc["media"][2]["file"] is None
    code, out, _ = _cli(capsys, "list", "media", "--project", "cli-media", "--key", "notes", "--json")
    assert [(m["run"], m["value"]) for m in strict_json(out)["media"]] == [("a", "# done"), ("b", "other")]
    code, out, _ = _cli(capsys, "list", "media", "--project", "cli-media", "--key", "img")
    assert out.splitlines() == [
        "run  step  key  kind   caption",
        "a       0  img  image  first",
        "a       1  img  image  -",
    ]


def test_get_media_writes_the_file(capsys, tmp_path):
    _seed()
    latest, first = tmp_path / "latest.png", tmp_path / "first.png"
    code, out, _ = _cli(
        capsys, "get", "media", "--project", "cli-media", "--run", "a", "--key", "img", "-o", str(latest), "--json"
    )
    doc = strict_json(out)
    assert (code, doc["step"], doc["kind"], doc["output"]) == (0, 1, "image", str(latest))
    assert np.array_equal(np.asarray(PILImage.open(latest)), PIXELS[:, ::-1])
    code, out, _ = _cli(
        capsys, "get", "media", "--project", "cli-media", "--run", "a", "--key", "img", "--step", "0", "-o", str(first)
    )
    assert " ".join(out.split()) == f"wrote image 'img' (step 0) of run 'a' to {first}"  # wrapped to COLUMNS
    assert np.array_equal(np.asarray(PILImage.open(first)), PIXELS)
    notes = tmp_path / "notes.md"
    _cli(capsys, "get", "media", "--project", "cli-media", "--run", "a", "--key", "notes", "-o", str(notes))
    assert notes.read_text() == "# done"
    hist = tmp_path / "h.json"
    _cli(capsys, "get", "media", "--project", "cli-media", "--run", "a", "--key", "h", "-o", str(hist))
    assert json.loads(hist.read_text()) == {"bins": [0.0, 0.5, "NaN"], "values": [2, 0]}
    code, _, err = _cli(
        capsys, "get", "media", "--project", "cli-media", "--run", "a", "--key", "img", "--step", "9", "-o", "x"
    )
    assert (code, err.strip()) == (1, f"trackio-nb: error: run 'a' (id {_run_id('a')}) has no media 'img' at step 9")


def _run_id(name: str) -> str:
    return tnb.Api().run("cli-media", name).id
