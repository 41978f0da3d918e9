"""`TrackioNbCallback`: Hugging Face `Trainer` logging to trackio_nb, with watchers that stop training.

    trainer = Trainer(..., args=TrainingArguments(..., report_to="none"),
                      callbacks=[TrackioNbCallback(watch={"loss": dict(nan=True)})])

Metrics keep Transformers' names (`loss`, `grad_norm`, `learning_rate`, `eval_loss`,
`test_loss`, ...) and are logged at the Trainer's global step. A watcher that fires a
stopping alert (or a stop request from `trackio-nb stop`) sets `control.should_training_stop`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from transformers import TrainerCallback

from ._reopen import FrameworkRun


class TrackioNbCallback(TrainerCallback):
    """Logs config, every metric the Trainer reports (at its global step) and eval/predict metrics.

    project/name default to `TrainingArguments.project` / `run_name`. If a run is already
    current (the user's, or one `report_to="trackio"` opened), metrics go there instead.
    `watch={"loss": dict(nan=True), ...}` registers `trackio_nb.watch` rules on the run.
    Other keywords (`group`, `resume`, `server_url`, `dir`, `webhook_url`, ...) go to `trackio_nb.init`.
    """

    def __init__(
        self,
        project: str | None = None,
        name: str | None = None,
        *,
        watch: Mapping[str, Mapping[str, Any]] | None = None,
        **init_kwargs: Any,
    ) -> None:
        self._tracked = FrameworkRun(project, name, init_kwargs, watch)

    @property
    def run(self):
        """The trackio_nb run being written (None before training starts)."""
        return self._tracked.run

    def _open(self, args, state, model=None):
        tracked = self._tracked
        project = tracked.project or getattr(args, "project", None) or "huggingface"
        first = tracked.run is None
        run = tracked.open(project, tracked.name or args.run_name)
        if first and tracked.owned:
            config = {**_model_config(model), **args.to_dict()}
            if model is not None and hasattr(model, "num_parameters"):
                config["model/num_parameters"] = model.num_parameters()
            run.config.update(config)
        return run

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        if state.is_world_process_zero:
            self._open(args, state, model)
            self._tracked.active = True  # an exception until on_train_end fails the run

    def on_log(self, args, state, control, logs=None, model=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return
        run = self._open(args, state, model)
        run.log(dict(logs), step=state.global_step)
        if run.should_stop():
            control.should_training_stop = True

    def on_step_end(self, args, state, control, **kwargs):
        run = self._tracked.run
        if state.is_world_process_zero and run is not None and run.status == "running" and run.should_stop():
            control.should_training_stop = True

    def on_predict(self, args, state, control, metrics=None, **kwargs):
        if state.is_world_process_zero and metrics:
            self._open(args, state).log(dict(metrics), step=state.global_step)

    def on_train_end(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            self._tracked.active = False
            self._tracked.finish()


def _model_config(model) -> dict:
    config = getattr(model, "config", None)
    if config is None:
        return {}
    return dict(config) if isinstance(config, Mapping) else config.to_dict()
