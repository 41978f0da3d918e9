"""trackio's `context_vars`: `current_run`, `current_project`, `current_space_id`, ... `.get()`.

Read from trackio_nb's one current run (`trackio_nb.current_run()`), so they agree with it
whichever API started the run. Spaces and trackio's own servers do not exist here: those
always read None.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class SessionVar:
    """Read-only, ContextVar-shaped view of the current session (`.get(default=None)`)."""

    def __init__(self, name: str, read: Callable[[], Any]) -> None:
        self.name = name
        self._read = read

    def get(self, default: Any = None) -> Any:
        value = self._read()
        return default if value is None else value

    def set(self, value: Any) -> None:
        raise TypeError(
            f"trackio_nb keeps one current run: call trackio.init() instead of setting context_vars.{self.name}"
        )

    def __repr__(self) -> str:
        return f"<context_vars.{self.name} = {self._read()!r}>"


def _run():
    from ...session import current_run

    return current_run()


def _compat_run():
    from . import wrap

    run = _run()
    return None if run is None else wrap(run)


def _project():
    run = _run()
    return None if run is None else run.project


def _none():
    return None


current_run = SessionVar("current_run", _compat_run)
current_project = SessionVar("current_project", _project)
current_server = SessionVar("current_server", _none)
current_space_id = SessionVar("current_space_id", _none)
current_server_write_token = SessionVar("current_server_write_token", _none)
