"""A run's config: a dict that stores itself again whenever it changes."""

from __future__ import annotations

from collections.abc import Callable

from .validation import check_config


class Config(dict):
    """`run.config` / `tnb.config`: changes are checked and queued for storage at once."""

    def __init__(self, initial: dict, on_change: Callable[[dict], None]) -> None:
        super().__init__(initial)
        self._on_change = on_change

    def _changed(self) -> None:
        self._on_change(check_config(dict(self)))

    def __setitem__(self, key, value) -> None:
        check_config({key: value})
        super().__setitem__(key, value)
        self._changed()

    def __delitem__(self, key) -> None:
        super().__delitem__(key)
        self._changed()

    def update(self, *args, **kwargs) -> None:
        new = dict(*args, **kwargs)
        check_config(new)
        super().update(new)
        self._changed()

    def setdefault(self, key, default=None):
        if key not in self:
            self[key] = default
        return self[key]

    def pop(self, key, *default):
        value = super().pop(key, *default)
        self._changed()
        return value

    def clear(self) -> None:
        super().clear()
        self._changed()

    def __repr__(self) -> str:
        return f"Config({dict.__repr__(self)})"
