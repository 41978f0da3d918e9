"""Human output never sends a terminal control sequence that came from logged data.

An alert title, alert text or string value may hold ESC, CR or other control characters
(they are valid Unicode, so they are stored); printed raw they would clear the screen or
rewrite lines. The tables show U+FFFD in their place; --json keeps the exact value.
"""

from __future__ import annotations

import json

import trackio_nb as tnb
from trackio_nb.cli import main


def test_control_characters_from_data_are_not_printed(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TRACKIO_NB_DIR", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "80")
    with tnb.init("ctl", "r") as run:
        run.log({"s": "ok\x1b[31mred\rX\x9b2J"}, step=0)
        run.alert("title\x1b[2J", text="line1\nline2\x07")
    outputs = []
    for argv in (
        ["list", "alerts", "--project", "ctl"],
        ["get", "metric", "--project", "ctl", "--run", "r", "--metric", "s"],
        ["get", "alerts", "--project", "ctl", "--run", "r"],
    ):
        assert main(argv) == 0
        outputs.append(capsys.readouterr().out)
    text = "".join(outputs)
    assert [c for c in text if (ord(c) < 32 and c != "\n") or 127 <= ord(c) < 160] == []
    assert "title\ufffd[2J" in outputs[0] and "line2\ufffd" in outputs[0]
    assert "ok\ufffd[31mred\ufffdX\ufffd2J" in outputs[1]
    assert main(["get", "metric", "--project", "ctl", "--run", "r", "--metric", "s", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["values"][0]["value"] == "ok\x1b[31mred\rX\x9b2J"
