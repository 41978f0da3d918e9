"""Findings of the upstream review that are about the shape of our files rather than behaviour.

Behavioural findings have their tests beside the code they concern (see the closing notes);
these three would otherwise come back unnoticed.
"""

from __future__ import annotations

import ast
import re

from tests.conftest import REPO

EXAMPLES = REPO / "examples" / "autonomous"


def _calls(path, attribute: str) -> list[int]:
    tree = ast.parse(path.read_text())
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == attribute
    ]


def test_s6_the_simulator_raises_no_alert_by_hand():
    simulator = EXAMPLES / "simulate_training.py"
    assert _calls(simulator, "alert") == []  # every alert comes from a watcher
    assert len(_calls(simulator, "watch")) == 2
    assert len(_calls(simulator, "should_stop")) == 1


def test_n3_the_agent_calls_the_cli_with_its_own_interpreter():
    source = (EXAMPLES / "agent_runner.py").read_text()
    assert '[sys.executable, "-m", "trackio_nb", *args]' in source
    assert not re.search(r"""["']trackio-nb["']""", source)  # never a bare command from PATH


def test_s8_the_changelog_names_every_surface():
    changelog = (REPO / "CHANGELOG.md").read_text()
    for needle in (
        "watch(",
        "should_stop()",
        "AlertReason",
        "AlertLevel",
        "`best`",
        "`compare`",
        "`summary`",
        "`stop`",
        "final_metrics",
        "history(",
        "RunTable",
        "report",
        "serve",
        "v1:",
        "v2:",
        "v3:",
    ):
        assert needle in changelog, needle
    from trackio_nb.storage import SCHEMA_VERSION

    assert f"v{SCHEMA_VERSION}:" in changelog and f"v{SCHEMA_VERSION + 1}:" not in changelog
