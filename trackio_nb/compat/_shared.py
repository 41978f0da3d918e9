"""What the trackio and wandb compat modules share: the config proxy, file saving, notices."""

from __future__ import annotations

import glob
import shutil
import sys
import warnings
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

from ..storage.paths import FILES_SUFFIX, project_path
from ..tracked_run import Run

_noticed: set[str] = set()


def notice_once(key: str, message: str) -> None:
    """Print `message` on stderr the first time `key` comes up in this process."""
    if key not in _noticed:
        _noticed.add(key)
        print(f"trackio_nb: {message}", file=sys.stderr)


def warn(message: str, stacklevel: int = 3) -> None:
    """A UserWarning at the caller's line (trackio reports its non-fatal problems the same way)."""
    warnings.warn(message, stacklevel=stacklevel)


def adopt(run: Run) -> Run:
    """Mark a run opened through compat: a clean interpreter exit finishes it, as trackio and wandb do."""
    run.finish_at_exit = True
    return run


class ConfigProxy(MutableMapping):
    """A run's config as trackio and wandb hand it out: `update(d, allow_val_change=True)` too.

    Everything is stored by the run's own config (`trackio_nb.run_config`); this only accepts
    wandb's extra keyword, which trackio_nb has no use for (every change is allowed and stored).
    """

    __slots__ = ("_config",)

    def __init__(self, config: MutableMapping) -> None:
        object.__setattr__(self, "_config", config)

    def update(self, other: Any = (), /, allow_val_change: bool | None = None, **kwargs: Any) -> None:
        """Set several keys at once; `other` may be a mapping or an object with attributes (argparse)."""
        self._config.update(other, **kwargs)  # Config.update takes a Namespace itself

    def setdefaults(self, defaults: dict) -> None:
        """wandb's `config.setdefaults`: set the keys that are not set yet."""
        self.update({k: v for k, v in defaults.items() if k not in self._config})

    def as_dict(self) -> dict:
        return dict(self._config)

    def __getitem__(self, key: str) -> Any:
        return self._config[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._config[key] = value

    def __delitem__(self, key: str) -> None:
        del self._config[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._config)

    def __len__(self) -> int:
        return len(self._config)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._config[name]
        except KeyError:
            raise AttributeError(f"config has no key {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        self._config[name] = value

    def __repr__(self) -> str:
        return repr(self._config)


def files_dir(project: str, root: str | Path | None = None) -> Path:
    """The folder beside the project's database where `save()` copies files (and artifacts live)."""
    db = project_path(project, root)
    return db.with_name(db.stem + FILES_SUFFIX)


def save_files(pattern: str | Path, project: str, base_path: str | Path | None = None) -> tuple[Path, list[Path]]:
    """Copy the files matching `pattern` into the project's files folder, keeping their paths
    relative to `base_path` (default: the current directory); returns (folder, copies)."""
    pattern = Path(pattern)
    base = Path(base_path).resolve() if base_path is not None else Path.cwd().resolve()
    if pattern.is_file():
        matched = [pattern.resolve()]
    else:
        full = pattern if pattern.is_absolute() else Path.cwd() / pattern
        matched = sorted(Path(p).resolve() for p in glob.glob(str(full), recursive=True) if Path(p).is_file())
    if not matched:
        raise ValueError(f"no files match {str(pattern)!r}")
    folder = files_dir(project)
    copies = []
    for source in matched:
        try:
            relative = source.relative_to(base)
        except ValueError:
            relative = Path(source.name)
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
        copies.append(target)
    return folder, copies


def in_notebook_kernel() -> bool:
    """True inside a Jupyter kernel (never imports IPython when the program did not)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None
