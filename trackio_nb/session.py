"""The current run and the module-level calls that act on it (`trackio_nb.init`, `log`, ...).

The current run is the only module-level state. Exit paths are wired here: an atexit hook
and a SIGTERM handler (chained to any previous one) mark an unfinished run `failed`.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Mapping
from typing import Any

from .backend import RunSpec
from .enums import AlertLevel, RunStatus
from .errors import InvalidValue
from .run_config import initial_config
from .storage.paths import validate_project
from .storage.records import RESUME_MODES
from .storage.status import HOST
from .tracked_run import Run
from .validation import check_label

_current: Run | None = None
# Called with every run init() starts; live views (trackio_nb.widgets, when imported) add
# themselves with add_init_hook, so the core imports none of them and pays nothing without them.
_init_hooks: list[Callable[[Run], None]] = []
_hooks_installed = False


def add_init_hook(hook: Callable[[Run], None]) -> Callable[[], None]:
    """Call `hook(run)` for every run init() starts from now on; returns the function that removes it."""
    if hook not in _init_hooks:
        _init_hooks.append(hook)

    def remove() -> None:
        if hook in _init_hooks:
            _init_hooks.remove(hook)

    return remove


def current_run() -> Run | None:
    """The run that module-level calls act on, if any."""
    return _current


def init(
    project: str,
    name: str | None = None,
    *,
    config: Mapping[str, Any] | Any = None,
    group: str | None = None,
    resume: str = "never",
    server_url: str | None = None,
    token: str | None = None,
    dir: str | os.PathLike[str] | None = None,
    webhook_url: str | None = None,
    webhook_min_level: AlertLevel | str | None = None,
    show: bool = False,
) -> Run:
    """Start (or resume) a run and make it current; a previous current run is finished.

    resume: "never" always starts a new run; "allow" continues the latest run called `name`
    if there is one; "must" continues it or raises. With `server_url` (or TRACKIO_NB_SERVER)
    every write goes to that tracking server and nothing is written locally.
    webhook_url (or TRACKIO_NB_WEBHOOK_URL) receives the run's alerts of level
    webhook_min_level (or TRACKIO_NB_WEBHOOK_MIN_LEVEL) and above; None sends every level.
    show=True displays the project's live widgets (`trackio_nb.show`) in the notebook.
    config: a dict, any mapping or an object with attributes (argparse.Namespace); values are
    converted as `run.config` converts them (see trackio_nb.run_config).
    """
    global _current
    validate_project(project)
    if name is not None:
        check_label(name, "run name")
    if group is not None:
        check_label(group, "group")
    if resume not in RESUME_MODES:
        raise InvalidValue(f"resume must be one of {', '.join(RESUME_MODES)}, got {resume!r}")
    if resume in ("must", "force") and name is None:
        raise InvalidValue(f"resume={resume!r} needs the name of the run to resume")
    config = initial_config(config)
    webhook = _check_webhook(webhook_url, webhook_min_level)
    # Built before the current run ends: a bad server URL or data directory is refused
    # while that run is still current, running and watched (nothing opened here needs it ended).
    backend = _make_backend(project, server_url, token, dir)
    previous = _current
    _current = None
    if previous is not None and previous.status == RunStatus.RUNNING:  # run.finish() may have ended it already
        if previous._watchers is not None and len(previous._watchers):
            warnings.warn(
                f"init() finished run {previous.name!r} and dropped its {len(previous._watchers)} watcher(s); "
                "the new run starts with none: call watch() again",
                stacklevel=2,
            )
        previous.finish()
    spec = RunSpec(project, name, group, config, resume, HOST, os.getpid(), time.time())
    identity = backend.open_run(spec)
    run = Run(project, backend, identity, group=group)
    run._webhook = webhook
    _current = run
    _install_exit_hooks()
    for hook in list(_init_hooks):
        hook(run)
    if show:
        _show_widgets(project, server_url, token, dir)
    return run


def _show_widgets(project: str, server_url: str | None, token: str | None, root) -> None:
    """Display `trackio_nb.show(project)`: the package's public name, so this module imports no widget."""
    from importlib import import_module

    from IPython.display import display

    show = import_module(__package__).show
    display(show(project, server_url=server_url, token=token, dir=root))


def _check_webhook(url: str | None, min_level: AlertLevel | str | None) -> tuple[str, int] | None:
    url = url if url is not None else (os.environ.get("TRACKIO_NB_WEBHOOK_URL") or None)
    if min_level is None:
        min_level = os.environ.get("TRACKIO_NB_WEBHOOK_MIN_LEVEL") or None
    if url is None and min_level is None:
        return None
    from .webhooks import check_min_level, check_url

    rank = check_min_level(min_level)
    return None if url is None else (check_url(url), rank)


def _make_backend(project: str, server_url: str | None, token: str | None, root):
    server_url = server_url or os.environ.get("TRACKIO_NB_SERVER") or None
    if server_url:
        from .remote.client_backend import RemoteBackend

        return RemoteBackend(project, server_url, token or os.environ.get("TRACKIO_NB_TOKEN"), root)
    from .local_backend import LocalBackend

    return LocalBackend(project, root)


def _require() -> Run:
    if _current is None:
        raise RuntimeError("no current run: call trackio_nb.init(project) first")
    return _current


def log(metrics: Mapping[str, object], step: int | None = None) -> None:
    """Log metrics to the current run (see `Run.log`)."""
    run = _current  # inlined _require(): this is the hot path
    if run is None:
        _require()
    run.log(metrics, step)


def alert(
    title: str,
    text: str | None = None,
    level: AlertLevel | str = AlertLevel.WARN,
    data: dict | None = None,
    *,
    webhook_url: str | None = None,
) -> None:
    """Store an alert on the current run (see `Run.alert`)."""
    _require().alert(title, text, level, data, webhook_url=webhook_url)


def watch(
    metric: str,
    *,
    nan: bool = True,
    max_value: float | None = None,
    min_value: float | None = None,
    spike_factor: float | None = None,
    window: int = 5,
    patience: int | None = None,
    min_delta: float = 0.0,
    mode: str = "min",
    fn: Callable[[float, int], Any] | None = None,
) -> None:
    """Watch `metric` on the current run; its alerts are stored, stopping rules set should_stop().

    Rules are validated here (errors name the bad argument); docs/alerts.md gives the formulas.
    Raises RuntimeError before any init(). A later watch() of the same metric replaces its rules.
    """
    _require().watch(
        metric,
        nan=nan,
        max_value=max_value,
        min_value=min_value,
        spike_factor=spike_factor,
        window=window,
        patience=patience,
        min_delta=min_delta,
        mode=mode,
        fn=fn,
    )


def should_stop() -> bool:
    """True once the current run should stop (watcher or outside stop request)."""
    return _require().should_stop()


def finish(status: str = "finished") -> None:
    """Finish the current run."""
    global _current
    run = _require()
    run.finish(status)
    if _current is run:
        _current = None


def _fail_current() -> None:
    run = _current
    # A forked child (a DataLoader worker, say) inherits the run and these hooks; only the
    # process that started the run may end it.
    if run is not None and run.pid == os.getpid():
        run.fail_fast()


def _end_current_at_exit() -> None:
    """atexit: a run left open fails, unless it asked to finish at a clean exit (compat, integrations)."""
    run = _current
    if run is not None and run.pid == os.getpid() and run.finish_at_exit and not _died_of_exception():
        run.finish()
    else:
        _fail_current()


def _died_of_exception() -> bool:
    # The interpreter stores an uncaught exception here before running atexit hooks. IPython
    # stores every failed cell's there too, and its process outlives them: not a death.
    ipython = sys.modules.get("IPython")
    if ipython is not None and ipython.get_ipython() is not None:
        return False
    return getattr(sys, "last_value", None) is not None


def _on_sigterm_factory(previous):
    def handler(signum, frame):
        _fail_current()
        if callable(previous):
            previous(signum, frame)
        elif previous == signal.SIG_IGN:
            return
        else:  # default action: die by SIGTERM, as the process would have without us
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)

    return handler


def _install_exit_hooks() -> None:
    global _hooks_installed
    if _hooks_installed:
        return
    _hooks_installed = True
    atexit.register(_end_current_at_exit)
    if threading.current_thread() is threading.main_thread():
        previous = signal.getsignal(signal.SIGTERM)
        signal.signal(signal.SIGTERM, _on_sigterm_factory(previous))
