"""The README's set-up commands are the ones CI and users run."""

from __future__ import annotations

import re

from tests.conftest import REPO


def _bash_blocks() -> list[str]:
    text = (REPO / "README.md").read_text()
    section = text.split("## Set-up commands", 1)[1]
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    return ["\n".join(ln for ln in b.strip().splitlines() if not ln.startswith("#")) for b in blocks]


def test_readme_has_exactly_two_setup_commands_and_ci_runs_the_test_one():
    demo, tests = _bash_blocks()
    assert demo == "pip install . && python examples/autonomous/agent_runner.py --quick --report report.html"
    ci = (REPO / ".ci" / "run").read_text().strip().splitlines()
    assert ci[-1] == tests
