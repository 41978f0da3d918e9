"""The package's exceptions: every surface raises or maps only these (anything else is a bug).

The CLI prints one line for a `TrackioNbError` (exit 1) and a traceback for anything else
(exit 70); the server answers 4xx with the message. Each class also derives from the
builtin a caller would catch (`LookupError`, `ValueError`, `ImportError`).
"""

from __future__ import annotations


class TrackioNbError(Exception):
    """Base class of every error trackio_nb raises on purpose."""


class ProjectNotFound(TrackioNbError, LookupError):
    """No project of that name exists (locally or on the server)."""


class RunNotFound(TrackioNbError, LookupError):
    """The project has no run with that name or id."""


class AmbiguousRun(TrackioNbError, LookupError):
    """Several runs share that name: ask by id."""


class MetricNotFound(TrackioNbError, LookupError):
    """The run (or project) logged no metric of that name; the message lists the ones it has."""


class InvalidValue(TrackioNbError, ValueError):
    """A key, value, step, alert field or config value that cannot be stored; names the key and the reason."""


class RunInProgress(TrackioNbError, RuntimeError):
    """The run is still running in a live process: it cannot be deleted or moved until it ends."""


class SchemaTooNew(TrackioNbError):
    """A database written by a newer trackio_nb than this one: upgrade to read it."""


class ServerError(TrackioNbError):
    """The tracking server refused or failed a request (its message is kept)."""


class MissingExtra(TrackioNbError, ImportError):
    """A feature needs an optional extra that is not installed; the message names it."""

    def __init__(self, extra: str, feature: str) -> None:
        super().__init__(f"{feature} needs the [{extra}] extra: pip install 'trackio_nb[{extra}]'")
        self.extra = extra


__all__ = [
    "AmbiguousRun",
    "InvalidValue",
    "MetricNotFound",
    "MissingExtra",
    "ProjectNotFound",
    "RunInProgress",
    "RunNotFound",
    "SchemaTooNew",
    "ServerError",
    "TrackioNbError",
]
