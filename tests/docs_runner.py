"""Runs one doc file's code blocks in order, in this fresh interpreter (used by tests/test_docs.py).

argv[1]: a JSON file holding [{"kind": "python"|"bash", "code", "where", "expect"}]. Python
blocks share one namespace (state carries from block to block, as a reader would type them);
bash blocks run with `bash -e -o pipefail` in the same working and data directory. When a
block has `expect` (the ```output block the doc shows after it), its stdout must match it:
`...` inside a line stands for any text, a line holding only `...` for any lines.
Exit status 1 with the failing block's place and the reason on stderr.

The only magic, for pages that need a live service: a bash block may start one in the
background (`trackio-nb serve --port 0 ... > serve.log 2>&1 &`, output redirected so the
block's own output ends) and later blocks read its address from that file. tests/test_docs.py
runs each page in its own process group and ends the group afterwards, so nothing outlives
the page even when a block fails before the page stops its server.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import subprocess
import sys
import traceback


def pattern(expect: str) -> re.Pattern[str]:
    """The regex an ```output block stands for."""
    parts = []
    for line in expect.rstrip("\n").split("\n"):
        if line.strip() == "...":
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            parts.append(".*".join(re.escape(piece) for piece in line.split("...")) + r"[ \t]*\n")
    return re.compile("".join(parts) + r"\Z", re.DOTALL)


def run_python(code: str, where: str, namespace: dict) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, where, "exec"), namespace)  # running the docs' own examples is the point
    return out.getvalue()


def run_bash(code: str) -> tuple[int, str, str]:
    done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", code], capture_output=True, text=True, timeout=600)
    return done.returncode, done.stdout, done.stderr


def main() -> int:
    with open(sys.argv[1], encoding="utf-8") as handle:
        blocks = json.load(handle)
    namespace: dict = {"__name__": "__main__"}
    for block in blocks:
        where = block["where"]
        if block["kind"] == "python":
            try:
                stdout = run_python(block["code"], where, namespace)
            except BaseException:  # noqa: BLE001 - reported with its traceback, then the file fails
                print(f"{where}: the python block failed\n{traceback.format_exc()}", file=sys.stderr)
                return 1
        else:
            code, stdout, stderr = run_bash(block["code"])
            if code != 0:
                print(f"{where}: the bash block exited {code}\nstdout:\n{stdout}\nstderr:\n{stderr}", file=sys.stderr)
                return 1
        expect = block.get("expect")
        if expect is not None and not pattern(expect).match(stdout):
            print(f"{where}: the output differs from the doc's\n--- doc\n{expect}\n--- real\n{stdout}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
