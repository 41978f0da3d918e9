"""A framework's run: opened once, finished when the framework ends training, re-opened by
name when the framework logs again afterwards (evaluate/predict/validate after fit)."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from .. import session
from ..tracked_run import Run


class FrameworkRun:
    """Holds the run a callback or logger writes to; the runs it opens finish at a clean exit."""

    def __init__(
        self,
        project: str | None,
        name: str | None,
        init_kwargs: Mapping[str, Any],
        watch: Mapping[str, Mapping[str, Any]] | None,
    ) -> None:
        self.project = project
        self.name = name
        self._init_kwargs = dict(init_kwargs)
        self._watch = {metric: dict(rules) for metric, rules in (watch or {}).items()}
        self.run: Run | None = None
        self.owned = False  # True when this object started the run (then it also ends it)
        self.active = False  # inside the framework's training call (set by the callback)
        self._cell_hook = False

    def open(self, project: str, name: str | None, config: Mapping[str, Any] | None = None) -> Run:
        """The current run when one is running (started by the user, or by report_to="trackio"),
        else a new one (or the one this object finished, resumed by name)."""
        current = session.current_run()
        running = current is not None and current.status == "running"
        if running and current is self.run:
            return current
        if running and (self.run is None or not self.owned):  # someone else's run: write there
            self.run, self.owned = current, False
        else:
            resume = "allow" if self.run is not None else self._init_kwargs.pop("resume", "never")
            name = self.run.name if self.run is not None else name
            self.run = session.init(project, name, config=config, resume=resume, **self._init_kwargs)
            self.owned = True
            self.run.finish_at_exit = True  # a run the user started keeps the user's exit rule
        for metric, rules in self._watch.items():
            self.run.watch(metric, **rules)
        self._hook_cell_errors()
        return self.run

    def _hook_cell_errors(self) -> None:
        """In IPython, an exception escaping a cell while training fails the run at once: the
        kernel lives on, so no exit hook would see it."""
        ipython = sys.modules.get("IPython")
        shell = ipython.get_ipython() if ipython is not None else None
        if shell is not None and not self._cell_hook:
            shell.events.register("post_run_cell", self._after_cell)
            self._cell_hook = True

    def _after_cell(self, result) -> None:
        if self.active and getattr(result, "error_in_exec", None) is not None:
            self.active = False
            self.finish("failed")

    def finish(self, status: str = "finished") -> None:
        """End the run if this object started it (a run the user started is theirs to finish)."""
        run = self.run
        if run is None or not self.owned or run.status != "running":
            return
        if session.current_run() is run:
            session.finish(status)
        else:
            run.finish(status)
