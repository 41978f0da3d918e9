"""`TrackioNbLogger`: a Lightning logger writing to a trackio_nb run.

    trainer = L.Trainer(logger=TrackioNbLogger("my-project", watch={"train_loss": dict(nan=True)}))

Hyperparameters become the run's config; metrics are logged at Lightning's global step;
`finalize("success")` finishes the run and `finalize("failed")` (Lightning calls it when
training raises) marks it `failed`. A `validate()`/`test()` after `fit()` re-opens the run.
Watchers stop training when the `TrackioNbStopping` callback is added:

    trainer = L.Trainer(logger=logger, callbacks=[TrackioNbStopping()])
"""

from __future__ import annotations

from argparse import Namespace
from collections.abc import Mapping
from typing import Any

from lightning.fabric.utilities.logger import _convert_params, _sanitize_callable_params
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.loggers.logger import Logger
from lightning.pytorch.utilities import rank_zero_only

from ._reopen import FrameworkRun


class TrackioNbLogger(Logger):
    """Lightning `Logger` for trackio_nb. Other keywords (`group`, `resume`, `server_url`, `dir`,
    `webhook_url`, ...) go to `trackio_nb.init`."""

    def __init__(
        self,
        project: str,
        name: str | None = None,
        *,
        config: Mapping[str, Any] | None = None,
        watch: Mapping[str, Mapping[str, Any]] | None = None,
        **init_kwargs: Any,
    ) -> None:
        super().__init__()
        self._tracked = FrameworkRun(project, name, init_kwargs, watch)
        self._config = dict(config or {})

    @property
    @rank_zero_only
    def experiment(self):
        """The trackio_nb run (started on first use)."""
        tracked = self._tracked
        first = tracked.run is None
        run = tracked.open(tracked.project, tracked.name)
        if first and self._config and tracked.owned:
            run.config.update(self._config)
        return run

    @property
    def name(self) -> str:
        return self._tracked.project

    @property
    def version(self) -> str | None:
        run = self._tracked.run
        return run.name if run is not None else self._tracked.name

    @rank_zero_only
    def log_hyperparams(self, params: dict[str, Any] | Namespace, *args: Any, **kwargs: Any) -> None:
        """Store hyperparameters in the run's config (callables by name, Namespaces as dicts)."""
        params = _sanitize_callable_params(_convert_params(params))
        self.experiment.config.update(params)

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        self.experiment.log(dict(metrics), step=step)

    def should_stop(self) -> bool:
        """True once a stopping watcher fired or a stop was requested for the run."""
        run = self._tracked.run
        return run is not None and run.should_stop()

    @rank_zero_only
    def finalize(self, status: str) -> None:
        self._tracked.finish("failed" if status == "failed" else "finished")


class TrackioNbStopping(Callback):
    """Sets `trainer.should_stop` once a TrackioNbLogger's run should stop (a watcher fired a
    stopping alert, or `trackio-nb stop` asked): Lightning then ends `fit` cleanly."""

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if any(isinstance(lg, TrackioNbLogger) and lg.should_stop() for lg in trainer.loggers):
            trainer.should_stop = True
