"""Docs are tests: every ```python and ```bash block of README.md and docs/*.md runs.

One fresh interpreter per doc file (tests/docs_runner.py) with its own temporary
TRACKIO_NB_DIR and working directory; python blocks share state in document order, bash
blocks run with bash. A block whose first line is a `# not run here: <reason>` comment is
skipped (the reason must be given); an ```output block right after a block is the stdout
that block must print. Each page runs in its own process group, ended when the page is done,
so a page may start a server in the background (docs/remote.md) without leaking it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
FENCE = re.compile(r"^([ \t]*)```(\w*)[^\n]*\n(.*?)^\1```[ \t]*$", re.DOTALL | re.MULTILINE)  # list items indent
SKIP = re.compile(r"^#\s*(.*\bnot run\b.*\S.*)$")  # "# not run here: why" (first line of the block)
RUNNABLE = ("python", "bash")


def blocks(path: Path) -> list[dict]:
    """The doc's runnable blocks in order: kind, code, where (file:line), expect (the output shown), skip reason."""
    text = path.read_text(encoding="utf-8")
    found: list[dict] = []
    for match in FENCE.finditer(text):
        kind, code = match.group(2), textwrap.dedent(match.group(3))
        line = text.count("\n", 0, match.start()) + 1
        if kind == "output":
            gap = text.count("\n", 0, match.start()) - found[-1]["end"] if found else 0
            if gap not in (1, 2):  # right after the block, a blank line between at most
                found.append({"kind": "orphan-output", "where": f"{path.name}:{line}", "end": -1})
            else:
                found[-1]["expect"] = code
            continue
        if kind not in RUNNABLE:
            continue
        first = code.split("\n", 1)[0]
        skip = SKIP.match(first)
        found.append(
            {
                "kind": kind,
                "code": code,
                "where": f"{path.relative_to(REPO)}:{line}",
                "skip": skip.group(1) if skip else None,
                "end": text.count("\n", 0, match.end()),
                "expect": None,
            }
        )
    return found


def test_every_doc_block_is_runnable_or_says_why_not():
    for path in DOCS:
        for block in blocks(path):
            assert block["kind"] != "orphan-output", f"{block['where']}: an output block must follow a code block"
            if block["skip"] is not None:
                assert len(block["skip"]) > 25, f"{block['where']}: say why the block is not run"


@pytest.mark.parametrize("path", DOCS, ids=[p.name for p in DOCS])
def test_doc_blocks_run(path, tmp_path):
    runnable = [b for b in blocks(path) if b["kind"] in RUNNABLE and b["skip"] is None]
    if not runnable:
        pytest.skip(f"{path.name} has no runnable block")  # architecture.md: prose and diagrams only
    script = tmp_path / "blocks.json"
    script.write_text(json.dumps(runnable), encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    env = {
        **os.environ,
        "TRACKIO_NB_DIR": str(tmp_path / "data"),
        "COLUMNS": "80",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    }
    for name in ("TRACKIO_NB_SERVER", "TRACKIO_NB_TOKEN", "TRACKIO_NB_WEBHOOK_URL"):
        env.pop(name, None)
    runner = subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "docs_runner.py"), str(script)],
        cwd=work,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: what a page starts in the background ends with it
    )
    try:
        _, stderr = runner.communicate(timeout=900)
    finally:
        end_process_group(runner)
    assert runner.returncode == 0, stderr[-6000:]


def end_process_group(runner: subprocess.Popen) -> None:
    """Stop what a page left running (a `trackio-nb serve ... &`), as its reader would with kill."""
    try:
        os.killpg(runner.pid, signal.SIGTERM)
    except ProcessLookupError:  # nothing of the group is left
        return
    runner.wait(timeout=30)


def test_python_api_signatures_are_the_real_ones():
    """The call table of docs/python-api.md shows the real signatures of init, log, alert and finish."""
    import trackio_nb as tnb
    from tests.test_alerts_doc import plain_signature

    text = (REPO / "docs" / "python-api.md").read_text(encoding="utf-8")
    for name in ("init", "log", "alert", "finish"):
        assert f"| `{plain_signature(name, getattr(tnb, name))}` |" in text, name


def test_every_file_the_docs_and_docstrings_name_exists():
    """A path such as tests/test_x.py, docs/x.md or trackio_nb/x.py named in a doc or the package's source exists."""
    named = re.compile(r"\b((?:tests|docs|examples|benchmarks|trackio_nb)/[\w/.-]*\w\.(?:py|md|js|css|json))\b")
    sources = [*DOCS, REPO / "CHANGELOG.md", *sorted((REPO / "trackio_nb").rglob("*.py"))]
    # Named by code on main before the files land (the validation module, the widget spec test).
    pending = {"trackio_nb/validation.py", "tests/test_widget_specs.py"}
    missing = []
    for path in sources:
        for name in named.findall(path.read_text(encoding="utf-8")):
            if name not in pending and not (REPO / name).exists():
                missing.append(f"{path.relative_to(REPO)} names {name}")
    assert missing == []
