"""wandb's common calls on trackio_nb: `import trackio_nb.compat.wandb as wandb`.

`init`, `log` (with `commit=False`), `finish(exit_code=)`, `alert(wait_duration=)`, `run`,
`config`, `summary`, `define_metric`, `save`, `login`, `watch`, `Table`, `Image`,
`Histogram`. Runs are trackio_nb runs in the local data directory: nothing is sent to
W&B's servers. docs/compat.md lists every difference and its reason.
"""

from __future__ import annotations

import atexit
import os
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, MutableMapping
from functools import cached_property
from numbers import Integral
from pathlib import Path
from typing import Any

from .. import session as _session
from ..enums import AlertLevel
from ..errors import AmbiguousRun, ProjectNotFound, RunNotFound
from ..tracked_run import Run as _CoreRun
from ._shared import ConfigProxy, adopt, files_dir, notice_once, save_files

DEFAULT_PROJECT = "uncategorized"  # wandb's own name for runs started without a project
_MEDIA = ("Image", "Table", "Histogram", "Audio", "Video", "Html")
_SUMMARIES = ("min", "max", "mean", "last", "best", "none", "first")


class Settings:
    """wandb.Settings: accepted (and kept on the object) so `init(settings=wandb.Settings(...))` runs."""

    def __init__(self, **settings: Any) -> None:
        self.__dict__.update(settings)


class Summary(MutableMapping):
    """`run.summary`: each metric's last logged value (or min/max/mean/first per `define_metric`),
    and values set by hand, which are also logged at the run's current step so they are stored."""

    def __init__(self, run: Run) -> None:
        self._run = run
        self._values: dict[str, Any] = {}
        self._aggregates: dict[str, tuple[str, float, int]] = {}  # key -> (mode, value, count)

    def _observe(self, metrics: Mapping[str, Any]) -> None:
        rules = self._run._summary_rules
        if not rules:  # no define_metric(summary=...): the summary is each key's last value
            self._values.update(metrics)
            return
        for key, value in metrics.items():
            mode = rules.get(key, "last")
            if mode == "none":
                continue
            if mode in ("last", "best") or not isinstance(value, (int, float)) or isinstance(value, bool):
                if mode == "best":
                    mode = "max" if self._run._goals.get(key) == "maximize" else "min"
                else:
                    self._values[key] = value
                    continue
            old = self._aggregates.get(key)
            if old is None:
                self._aggregates[key] = (mode, float(value), 1)
            elif mode == "min":
                self._aggregates[key] = (mode, min(old[1], value), old[2] + 1)
            elif mode == "max":
                self._aggregates[key] = (mode, max(old[1], value), old[2] + 1)
            elif mode == "mean":
                self._aggregates[key] = (mode, old[1] + (value - old[1]) / (old[2] + 1), old[2] + 1)
            self._values[key] = self._aggregates[key][1]

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __setitem__(self, key: str, value: Any) -> None:
        from .trackio.system import log_system

        log_system(self._run._run, {key: value})
        self._values[key] = value

    def __delitem__(self, key: str) -> None:
        del self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __getattr__(self, key: str) -> Any:
        try:
            return self._values[key]
        except KeyError:
            raise AttributeError(key) from None

    def __repr__(self) -> str:
        return f"Summary({self._values!r})"


class Run:
    """wandb's Run over a trackio_nb run; other attributes are the trackio_nb run's."""

    def __init__(self, run: _CoreRun, *, tags: tuple[str, ...], notes: str | None, job_type: str | None) -> None:
        self._run = run
        self.config = ConfigProxy(run.config)
        self.tags = tags
        self.notes = notes
        self.job_type = job_type
        self._pending: dict[str, Any] = {}
        self._pending_step: int | None = None
        self._summary_rules: dict[str, str] = {}
        self._goals: dict[str, str] = {}
        self._alerted: dict[str, float] = {}
        self.summary = Summary(self)

    @property
    def name(self) -> str:
        return self._run.name

    @property
    def id(self) -> str:
        """The `id` given to init() (kept in the config as `wandb/id`), else trackio_nb's run id:
        either one resumes this run with `init(id=..., resume="must")`."""
        return self._run.config.get(ID_KEY, self._run.id)

    @property
    def dir(self) -> str:
        """The folder for the run's own files, `<project>.files/runs/<run id>/` in the data directory
        (created on first access; W&B would upload it, trackio_nb keeps it local)."""
        location = self._run.location
        root = location[1] if location is not None and location[0] == "local" else None
        folder = files_dir(self._run.project, root) / "runs" / self._run.id
        folder.mkdir(parents=True, exist_ok=True)
        return str(folder)

    @property
    def step(self) -> int:
        last = self._run._last_step
        return 0 if last is None else last + 1

    def log(self, data: Mapping[str, Any], step: int | None = None, commit: bool | None = None) -> None:
        """Log `data`; with commit=False it is kept and merged into the next committed call.

        A `step` below the run's current step is dropped with one warning, as wandb does."""
        last = self._run._last_step
        if (
            step is not None
            and last is not None
            and isinstance(step, Integral)
            and not isinstance(step, bool)
            and step < last
        ):
            notice_once(
                "wandb-step-back",
                f"wandb.log(step={step}) is below the current step {last}: steps must increase, so this"
                " data is ignored (as wandb does; said once)",
            )
            return
        if commit is not False and not self._pending and step is None:  # the usual call: log it as it is
            self._run.log(data)
            self.summary._observe(data)
            return
        if not isinstance(data, Mapping):
            raise TypeError(f"log() takes a dict, got {type(data).__name__}")
        self._pending.update(data)
        if step is not None:
            self._pending_step = step
        if commit is False:
            return
        merged, at = self._pending, self._pending_step
        self._pending, self._pending_step = {}, None
        self._run.log(merged, at)
        self.summary._observe(merged)

    def _flush_pending(self) -> None:
        if self._pending and self._run.status == "running":
            self.log({}, commit=True)

    def finish(self, exit_code: int | None = None, quiet: bool | None = None) -> None:
        """Finish the run: `failed` when exit_code is non-zero; `wandb.run` is None afterwards."""
        global run
        if run is self:
            run = None
        self._flush_pending()
        status = "failed" if exit_code else "finished"
        if _session.current_run() is self._run:
            _session.finish(status)
        else:
            self._run.finish(status)

    def alert(
        self, title: str, text: str = "", level: AlertLevel | str = AlertLevel.INFO, wait_duration: Any = None
    ) -> None:
        """Store an alert; with wait_duration (seconds or a timedelta), one with the same title
        stored less than that long ago makes this one a no-op, as W&B rate-limits them."""
        if wait_duration is not None:
            seconds = wait_duration.total_seconds() if hasattr(wait_duration, "total_seconds") else wait_duration
            last = self._alerted.get(title)
            if last is not None and time.monotonic() - last < seconds:
                return
        self._run.alert(title, text or None, str(level).lower() if not isinstance(level, AlertLevel) else level)
        self._alerted[title] = time.monotonic()

    def define_metric(
        self,
        name: str,
        step_metric: str | None = None,
        step_sync: bool | None = None,
        hidden: bool | None = None,
        summary: str | None = None,
        goal: str | None = None,
        overwrite: bool | None = None,
    ) -> None:
        """Choose what `summary[name]` keeps (min, max, mean, first, last, best, none) and the goal for best."""
        if summary is not None:
            modes = [m.strip() for m in summary.split(",")]
            bad = [m for m in modes if m not in _SUMMARIES]
            if bad:
                raise ValueError(f"define_metric summary must be among {', '.join(_SUMMARIES)}, got {summary!r}")
            self._summary_rules[name] = modes[0] if modes[0] != "first" else "first"
        if goal is not None:
            if goal not in ("minimize", "maximize"):
                raise ValueError(f"define_metric goal must be 'minimize' or 'maximize', got {goal!r}")
            self._goals[name] = goal
        if step_metric is not None:
            notice_once("step_metric", "define_metric(step_metric=...): charts use the logged step; the metric is kept")

    def save(self, glob_str: str | Path, base_path: str | Path | None = None, policy: str = "live") -> list[str]:
        return save(glob_str, base_path, policy)

    @property
    def url(self) -> None:
        """No web page: the run is in trackio_nb's widgets, CLI and reports."""
        return None

    def _label(self, **labels: Any) -> None:
        """wandb's integration tag (Transformers calls it); nothing to record."""

    def watch(self, *args: Any, **kwargs: Any) -> None:
        watch(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._run, name)

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.finish(exit_code=1 if exc_type is not None else 0)

    def __repr__(self) -> str:
        return f"<wandb(trackio_nb) Run {self._run.project}/{self._run.name} id={self.id}>"


class _DisabledRun:
    """mode="disabled": every call is accepted and nothing is stored, as wandb does."""

    name = id = "disabled"
    tags: tuple[str, ...] = ()
    notes = job_type = None
    step = 0

    def __init__(self, config: dict) -> None:
        self.config = ConfigProxy(dict(config))
        self.summary: dict[str, Any] = {}

    @cached_property
    def dir(self) -> str:
        """A temporary folder (nothing is kept in disabled mode), created on first access."""
        return tempfile.mkdtemp(prefix="wandb-disabled-")

    def log(self, data: Mapping[str, Any], step: int | None = None, commit: bool | None = None) -> None:
        self.summary.update(data)

    def finish(self, exit_code: int | None = None, quiet: bool | None = None) -> None:
        global run
        if run is self:
            run = None

    def alert(self, *args: Any, **kwargs: Any) -> None:
        return None

    def define_metric(self, *args: Any, **kwargs: Any) -> None:
        return None

    def __enter__(self) -> _DisabledRun:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.finish()


run: Run | _DisabledRun | None = None
ID_KEY = "wandb/id"
# `wandb.config` before init(): what is set there is carried into the next init() (its own
# `config=` wins on a clash); `wandb.summary` before init() is empty and refuses writes.
_preinit_config: dict[str, Any] = {}


class _PreInitSummary(Mapping):
    """`wandb.summary` while no run is current: empty; a write raises (a summary needs a run)."""

    def __getitem__(self, key: str) -> Any:
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __setitem__(self, key: str, value: Any) -> None:
        self.update({key: value})

    def update(self, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError("wandb.summary: call wandb.init() first (a summary belongs to a run)")

    def __repr__(self) -> str:
        return "Summary({})"


def _as_config(config: Any, include: list[str] | None, exclude: list[str] | None) -> dict:
    if config is None:
        items: dict = {}
    elif isinstance(config, Mapping):
        items = dict(config)
    elif isinstance(config, (str, Path)):
        raise ValueError("config=<file path> is not supported: load the file and pass a dict")
    elif hasattr(config, "__dict__"):
        items = {k: v for k, v in vars(config).items() if not k.startswith("_")}
    else:
        raise TypeError(f"config must be a dict or an object with attributes (argparse.Namespace), got {type(config)}")
    if include is not None:
        items = {k: v for k, v in items.items() if k in include}
    if exclude is not None:
        items = {k: v for k, v in items.items() if k not in exclude}
    return items


def init(
    project: str | None = None,
    entity: str | None = None,
    config: Any = None,
    name: str | None = None,
    notes: str | None = None,
    tags: list[str] | tuple[str, ...] | None = None,
    group: str | None = None,
    job_type: str | None = None,
    id: str | None = None,
    resume: bool | str | None = None,
    reinit: bool | str | None = None,
    mode: str | None = None,
    dir: str | os.PathLike | None = None,
    settings: Any = None,
    config_exclude_keys: list[str] | None = None,
    config_include_keys: list[str] | None = None,
    allow_val_change: bool | None = None,
    **ignored: Any,
) -> Run | _DisabledRun:
    """wandb.init on trackio_nb. `project` defaults to $WANDB_PROJECT, else "uncategorized".

    `id` is kept in the config as `wandb/id` (`run.id` returns it) and names the run when
    `name` is not given; `resume="allow"`/`"must"` with an `id` continues the run with that
    id (or that trackio_nb run id) in `project`, in this process or any later one;
    `tags`, `notes`, `job_type` and `entity` are kept in the config under `wandb/...` too;
    `mode="disabled"` stores nothing; "offline" and "online" both store locally.
    `dir` is the data directory (TRACKIO_NB_DIR otherwise).
    """
    global run
    mode = mode or os.environ.get("WANDB_MODE") or "online"
    if mode not in ("online", "offline", "disabled", "shared"):
        raise ValueError(f"mode must be 'online', 'offline' or 'disabled', got {mode!r}")
    items = {**_preinit_config, **_as_config(config, config_include_keys, config_exclude_keys)}
    if mode == "disabled":
        run = _DisabledRun(items)
        _preinit_config.clear()
        return run
    if reinit == "create_new":
        raise ValueError("reinit='create_new' (several runs at once) is not supported: trackio_nb has one current run")
    if run is not None and isinstance(run, Run) and run._run.status == "running" and reinit == "return_previous":
        return run
    if ignored:
        notice_once("init-ignored", f"wandb.init(): {', '.join(sorted(ignored))} accepted and ignored")
    project = project or os.environ.get("WANDB_PROJECT") or DEFAULT_PROJECT
    extra = {"id": id, "tags": list(tags) if tags else None, "notes": notes, "job_type": job_type, "entity": entity}
    items.update({f"wandb/{k}": v for k, v in extra.items() if v is not None})
    if resume in (True, "auto"):
        resume = "allow"
    elif resume in (None, False):
        resume = "never"
    if id is not None and resume != "never":  # the run is the one with that id, not merely the latest of a name
        found = _run_with_id(project, id, dir)
        if found is None and resume == "must":
            raise RunNotFound(f"resume='must' but project {project!r} has no run with id {id!r}")
        if found is None:
            resume = "never"
        name = found or name
    name = name or id
    if run is not None and isinstance(run, Run):
        run._flush_pending()
    core = _session.init(project, name, config=items, group=group, resume=resume, dir=dir)
    run = Run(adopt(core), tags=tuple(tags or ()), notes=notes, job_type=job_type)
    _preinit_config.clear()  # carried into this run's config
    global _exit_hook
    if not _exit_hook:  # registered after trackio_nb's own exit hook, so it runs before it
        atexit.register(_commit_pending_at_exit)
        _exit_hook = True
    return run


_exit_hook = False


def _run_with_id(project: str, wandb_id: str, root: str | os.PathLike | None) -> str | None:
    """The name of the latest run of `project` whose wandb id (`wandb/id`, else its trackio_nb id)
    is `wandb_id`, for resuming it by name; None when there is none.

    AmbiguousRun when a later run has that name too: resuming by name would continue that one.
    """
    from ..api import Api

    try:
        runs = Api(dir=None if root is None else str(root)).runs(project)
    except ProjectNotFound:
        return None
    # a run made before ids were kept (no `wandb/id`) answers to its name too, as it was named by its id
    found = [r for r in runs if wandb_id in (r.id, *((r.config[ID_KEY],) if ID_KEY in r.config else (r.name,)))]
    if not found:
        return None
    target = found[-1]
    latest = [r for r in runs if r.name == target.name][-1]
    if latest.id != target.id:
        raise AmbiguousRun(
            f"wandb id {wandb_id!r} is run {target.id} named {target.name!r}, but a later run {latest.id} has that"
            " name too and would be resumed instead: rename one of them (RunView.rename) first"
        )
    return target.name


def _commit_pending_at_exit() -> None:
    """Values logged with commit=False and never committed are stored at exit, as wandb does."""
    if isinstance(run, Run) and run._run.pid == os.getpid():
        run._flush_pending()


def _current(call: str) -> Run | _DisabledRun:
    if run is None or (isinstance(run, Run) and run._run.status != "running"):
        raise RuntimeError(f"You must call wandb.init() before wandb.{call}()")
    return run


def log(data: Mapping[str, Any], step: int | None = None, commit: bool | None = None) -> None:
    """Log to the current run (commit=False keeps the values for the next committed call)."""
    _current("log").log(data, step=step, commit=commit)


def finish(exit_code: int | None = None, quiet: bool | None = None) -> None:
    """Finish the current run (`failed` for a non-zero exit_code); no-op without one, as in wandb."""
    global run
    if run is not None:
        current, run = run, None
        if not isinstance(current, Run) or current._run.status == "running":
            current.finish(exit_code=exit_code, quiet=quiet)


def alert(title: str, text: str = "", level: AlertLevel | str = AlertLevel.INFO, wait_duration: Any = None) -> None:
    _current("alert").alert(title, text, level, wait_duration)


def define_metric(name: str, *args: Any, **kwargs: Any) -> None:
    _current("define_metric").define_metric(name, *args, **kwargs)


def save(glob_str: str | Path, base_path: str | Path | None = None, policy: str = "live") -> list[str]:
    """Copy files into the project's files folder (wandb uploads them; trackio_nb keeps them local)."""
    current = _current("save")
    if isinstance(current, _DisabledRun):
        return []
    _folder, copies = save_files(glob_str, current._run.project, base_path)
    return [str(p) for p in copies]


def termwarn(message: str, repeat: bool = True) -> None:
    """wandb's warning line on stderr (Transformers calls it); `repeat=False` says it once."""
    if repeat:
        print(f"wandb: WARNING {message}", file=sys.stderr)
    else:
        notice_once(f"termwarn:{message}", message)


def login(*args: Any, **kwargs: Any) -> bool:
    """Nothing to log in to: trackio_nb stores runs locally (or on a trackio-nb server)."""
    notice_once("login", "wandb.login(): nothing to log in to, runs are stored by trackio_nb")
    return True


def watch(models: Any = None, *args: Any, **kwargs: Any) -> None:
    """Accepted and ignored (no gradient/parameter histograms), with one notice."""
    notice_once("watch", "wandb.watch(): gradient and parameter logging is not supported; the model is not watched")


def __getattr__(name: str) -> Any:
    if name == "config":
        current = run
        return ConfigProxy(_preinit_config) if current is None else current.config
    if name == "summary":
        current = run
        return _PreInitSummary() if current is None else current.summary
    if name in ("Table", "Image"):
        globals().update(_wandb_media())
        return globals()[name]
    if name in _MEDIA:
        from .. import media

        return getattr(media, name)
    raise AttributeError(f"module 'wandb' (trackio_nb compat) has no attribute {name!r}")


def _wandb_media() -> dict[str, type]:
    """trackio_nb's Table and Image with wandb's extras: `Table.add_data(...)`, `Image(..., mode=)`."""
    from .. import media

    class Table(media.Table):
        """wandb.Table: also `add_data(*cells)` appending one row."""

        def add_data(self, *cells: Any) -> None:
            if len(cells) != len(self.columns):
                raise ValueError(f"add_data() takes {len(self.columns)} cells (one per column), got {len(cells)}")
            self.data.append(list(cells))

    class Image(media.Image):
        """wandb.Image(data_or_path, mode=None, caption=None): `mode` converts a PIL image first."""

        def __init__(self, data_or_path: Any, mode: str | None = None, caption: str | None = None) -> None:
            if mode is not None and hasattr(data_or_path, "convert"):
                data_or_path = data_or_path.convert(mode)
            super().__init__(data_or_path, caption=caption)

    return {"Table": Table, "Image": Image}


__all__ = [
    "AlertLevel",
    "Run",
    "Settings",
    "alert",
    "define_metric",
    "finish",
    "init",
    "log",
    "login",
    "run",
    "save",
    "termwarn",
    "watch",
]
