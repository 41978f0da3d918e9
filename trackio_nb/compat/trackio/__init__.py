"""trackio's public API (0.43) on trackio_nb: `import trackio_nb.compat.trackio as trackio`.

Every call goes to trackio_nb's own run, Api and media classes; nothing here stores data
itself. Hugging Face Spaces, datasets and buckets do not exist in trackio_nb: passing one is
refused with a clear error, `None`/`False` are accepted silently. docs/compat.md lists
every difference and its reason.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ... import __version__ as _tnb_version
from ... import session as _session
from ...enums import AlertLevel
from ...tracked_run import Run as _CoreRun
from .._shared import ConfigProxy, adopt, in_notebook_kernel, notice_once, save_files, warn
from . import context_vars
from . import system as _system

# trackio's version whose API this module follows, tagged as trackio_nb's (PEP 440 local label).
__version__ = f"0.43.0+trackio.nb.{_tnb_version}"

# Keys trackio_nb refuses in log() (system names); trackio renames its reserved keys too.
_RESERVED = frozenset({"step", "timestamp"})
# In trackio 0.43's __all__, not offered here (docs/compat.md says why): a clear AttributeError.
_UNSUPPORTED = frozenset(
    {"ArtifactTTL", "Classes", "Config", "EvalTable", "Graph", "JoinedTable", "Molecule", "Plotly"}
    | {"ReferenceHandler", "ResolvedReference", "register_reference_handler", "import_tf_events", "TRACKIO_LOGO_DIR"}
)
_MEDIA = ("Image", "Table", "Histogram", "Markdown", "Html", "Audio", "Video", "Trace")
_plain_keys: set[str] = set()  # keys seen that need no renaming
_wrappers: weakref.WeakKeyDictionary[_CoreRun, Run] = weakref.WeakKeyDictionary()


class Run:
    """trackio's Run over a trackio_nb run: `name`, `id`, `project`, `config`, `log`, `alert`, `finish`.

    Any other attribute is the trackio_nb run's (`should_stop()`, `watch()`, `status`, ...).
    """

    def __init__(self, run: _CoreRun) -> None:
        self._run = run
        self.config = ConfigProxy(run.config)

    def log(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        """Log a step; reserved keys (`step`, `timestamp`, `_...`) are renamed with a warning, as trackio does."""
        self._run.log(_rename_reserved(metrics), step)

    def log_system(self, metrics: Mapping[str, Any]) -> None:
        _system.log_system(self._run, _rename_reserved(metrics))

    def alert(
        self, title: str, text: str | None = None, level: AlertLevel | str = AlertLevel.WARN, webhook_url=None
    ) -> None:
        self._run.alert(title, text, level, webhook_url=webhook_url)

    def finish(self) -> None:
        if _session.current_run() is self._run:
            _session.finish()
        else:
            self._run.finish()

    def log_artifact(self, artifact_or_path, name=None, type=None, aliases=None, overwrite=False):
        from .artifact import log_artifact as _log

        return _log(self._run, artifact_or_path, name=name, type=type, aliases=aliases, overwrite=overwrite)

    def use_artifact(self, artifact_or_name, type=None):
        from .artifact import use_artifact as _use

        return _use(self._run, artifact_or_name, type=type)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._run, name)

    def __repr__(self) -> str:
        return f"<trackio(trackio_nb) Run {self._run.project}/{self._run.name} id={self._run.id}>"


def wrap(run: _CoreRun) -> Run:
    """The one trackio-shaped Run for a trackio_nb run."""
    wrapper = _wrappers.get(run)
    if wrapper is None:
        wrapper = _wrappers[run] = Run(run)
    return wrapper


def _rename_reserved(metrics: Mapping[str, Any]) -> Mapping[str, Any]:
    if type(metrics) is dict and _plain_keys.issuperset(
        metrics
    ):  # the hot path: every key seen before and fine (one C call)
        return metrics
    if not isinstance(metrics, Mapping):
        return metrics  # log() raises its own TypeError
    renamed = [k for k in metrics if isinstance(k, str) and (k in _RESERVED or k.startswith("_"))]
    _plain_keys.update(k for k in metrics if isinstance(k, str) and k not in renamed)
    if not renamed:
        return metrics
    warn(
        f"Reserved keys renamed: {renamed} → '{{key}}_' (trackio_nb keeps step, timestamp and _names for itself)",
        stacklevel=4,
    )
    return {(_reserved_name(k) if k in renamed else k): v for k, v in metrics.items()}


def _reserved_name(key: str) -> str:
    return key.lstrip("_") + "_" if key.strip("_") else "underscore_"


def _refuse(value: object, keyword: str, what: str) -> None:
    if value is not None and value is not False:
        raise ValueError(
            f"trackio_nb logs to a local data directory (or a trackio-nb server), not to a Hugging Face {what}: "
            f"{keyword}={value!r} is not supported; leave {keyword} unset (runs are under TRACKIO_NB_DIR)"
        )


def init(
    project: str,
    name: str | None = None,
    group: str | None = None,
    space_id: str | None = None,
    server_url: str | None = None,
    dataset_id: str | None = None,
    bucket_id: str | None = None,
    config: dict | None = None,
    resume: str = "never",
    settings: Any = None,
    private: bool | None = None,
    embed: bool = True,
    auto_log_gpu: bool | None = None,
    gpu_log_interval: float = 10.0,
    auto_log_cpu: bool | None = None,
    cpu_log_interval: float = 10.0,
    webhook_url: str | None = None,
    webhook_min_level: AlertLevel | str | None = None,
) -> Run:
    """trackio.init: start (or resume) a trackio_nb run and make it current.

    `server_url` is a trackio-nb tracking server (`trackio-nb serve`). `embed` shows the live
    widgets when called in a notebook. `private` only concerns Spaces and is ignored.
    """
    _refuse(space_id if space_id is not None else os.environ.get("TRACKIO_SPACE_ID"), "space_id", "Space")
    _refuse(dataset_id, "dataset_id", "dataset")
    _refuse(bucket_id, "bucket_id", "bucket")
    if settings is not None:
        warn("settings is not used (trackio accepts it for compatibility with wandb.init(), and so does trackio_nb)")
    if auto_log_gpu:
        warn("auto_log_gpu=True: trackio_nb samples no GPU metrics; nothing will be logged for the GPU")
    run = _session.init(
        project,
        name,
        config=config,
        group=group,
        resume=resume,
        server_url=server_url,
        webhook_url=webhook_url,
        webhook_min_level=webhook_min_level,
        show=bool(embed) and in_notebook_kernel(),
    )
    adopt(run)
    if auto_log_cpu:
        _system.start_cpu_sampler(run, cpu_log_interval)
    return wrap(run)


def _current(call: str) -> _CoreRun:
    run = _session.current_run()
    if run is None:
        raise RuntimeError(f"Call trackio.init() before trackio.{call}().")
    return run


def log(metrics: Mapping[str, Any], step: int | None = None) -> None:
    """Log metrics to the current run (reserved keys renamed with a warning)."""
    run = _session.current_run()
    if run is None:
        _current("log")
    run.log(_rename_reserved(metrics), step)


def log_system(metrics: Mapping[str, Any]) -> None:
    """Log system metrics at the current step (trackio_nb has one metrics table: see system.py)."""
    _system.log_system(_current("log_system"), _rename_reserved(metrics))


def log_cpu(run: Run | None = None) -> dict:
    """Sample CPU/memory metrics with psutil and log them; {} with a warning without psutil."""
    return _system.log_cpu(run._run if run is not None else _current("log_cpu"))


def log_gpu(run: Run | None = None, device: int | None = None) -> dict:
    """No GPU sampling in trackio_nb: warns and returns {} (as trackio does without a GPU)."""
    return _system.log_gpu(run._run if run is not None else _current("log_gpu"), device)


def finish() -> None:
    """Finish the current run."""
    _current("finish")
    _session.finish()


def alert(
    title: str, text: str | None = None, level: AlertLevel | str = AlertLevel.WARN, webhook_url: str | None = None
) -> None:
    """Store an alert on the current run (printed on stderr; sent to the webhook if one is set)."""
    _current("alert").alert(title, text, level, webhook_url=webhook_url)


def log_artifact(
    artifact_or_path, name: str | None = None, type: str | None = None, aliases=None, overwrite: bool = False
):
    """Store an artifact's files (content-addressed) in the project and record it on the current run;
    `overwrite=True` removes the artifact's other versions."""
    from .artifact import log_artifact as _log

    return _log(_current("log_artifact"), artifact_or_path, name=name, type=type, aliases=aliases, overwrite=overwrite)


def use_artifact(artifact_or_name, type: str | None = None):
    """Look up a logged artifact (`name`, `name:v3`, `name:alias`) and record it as an input of the current run."""
    from .artifact import use_artifact as _use

    return _use(_current("use_artifact"), artifact_or_name, type=type)


def save(glob_str: str | Path, project: str | None = None) -> str:
    """Copy files (a path or a glob pattern) into the project's files folder; returns that folder."""
    if project is None:
        run = _session.current_run()
        if run is None:
            raise RuntimeError(
                "No project specified. Either call trackio.init() first or provide a project parameter to trackio.save()."
            )
        project = run.project
    folder, _copies = save_files(glob_str, project)
    return str(folder)


def delete_project(project: str, force: bool = False) -> bool:
    """Delete a project and everything in it; asks first unless `force`. False if it does not exist."""
    from ... import Api as _Api

    api = _Api()
    if project not in api.projects():
        print(f"* Project '{project}' does not exist.")
        return False
    if not force:
        answer = input(
            f"Are you sure you want to delete project '{project}'? "
            "This will permanently delete all runs and metrics. (y/N): "
        )
        if answer.lower() not in ("y", "yes"):
            print("* Deletion cancelled.")
            return False
    api.delete_project(project)
    print(f"* Project '{project}' has been deleted.")
    return True


def show(project: str | None = None, **_ignored: Any) -> Any:
    """trackio's dashboard is trackio_nb's live widgets: returned (and shown) in a notebook."""
    from ... import show as _show

    if project is None:
        run = _session.current_run()
        project = run.project if run is not None else None
    if project is None:
        raise ValueError("show(): pass project= (no current run to take it from)")
    if not in_notebook_kernel():
        notice_once(
            "show",
            f"trackio_nb has no web dashboard; in a notebook trackio.show() displays the live widgets, "
            f"from a shell use `trackio-nb summary --project {project}`",
        )
        return None
    from IPython.display import display

    widgets = _show(project)
    display(widgets)
    return widgets


def _spaces_only(call: str):
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(
            f"trackio.{call}() publishes to a Hugging Face Space; trackio_nb keeps runs local "
            "(share them with `trackio_nb.report(...)` or a trackio-nb server)"
        )

    refuse.__name__ = call
    refuse.__doc__ = f"Refused: {call}() needs Hugging Face Spaces."
    return refuse


sync = _spaces_only("sync")
freeze = _spaces_only("freeze")


def __getattr__(name: str) -> Any:
    if name == "config":
        run = _session.current_run()
        if run is None:
            raise AttributeError("trackio.config: no current run; call trackio.init() first")
        return ConfigProxy(run.config)
    if name in _MEDIA:
        from ... import media

        return getattr(media, name)
    if name == "Api":
        from .api import Api

        return Api
    if name in ("Artifact",):
        from .artifact import Artifact

        return Artifact
    if name == "import_csv":
        from .imports import import_csv

        return import_csv
    if name == "Settings":
        from ..wandb import Settings

        return Settings
    if name == "Object3D":
        raise AttributeError(
            "trackio.Object3D is not supported by trackio_nb (no 3-D viewer); save the file with trackio.save()"
        )
    if name in _UNSUPPORTED:
        raise AttributeError(f"trackio.{name} is not supported by trackio_nb (docs/compat.md lists what is)")
    raise AttributeError(f"module 'trackio' (trackio_nb compat) has no attribute {name!r}")


__all__ = [
    "AlertLevel",
    "Api",
    "Artifact",
    "Audio",
    "Histogram",
    "Html",
    "Image",
    "Markdown",
    "Run",
    "Table",
    "Trace",
    "Video",
    "alert",
    "context_vars",
    "delete_project",
    "finish",
    "freeze",
    "import_csv",
    "init",
    "log",
    "log_artifact",
    "log_cpu",
    "log_gpu",
    "log_system",
    "save",
    "show",
    "sync",
    "use_artifact",
]
