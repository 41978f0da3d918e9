"""A run's config: a mapping whose every change is converted to JSON values and stored.

`run.config` / `tnb.config` take item and attribute assignment (`config.lr = 0.1`, the wandb
habit), `update`, `|=`, `setdefault`, `pop`, `popitem`, `del` and `clear`. Each change
builds the new whole config, hands it to the run (which queues it for the writer) and only
then takes effect, so a refused value or an ended run changes nothing. Values JSON cannot
hold are converted as trackio does (`Path` → str, NumPy scalars → numbers, arrays → lists,
objects with `__dict__` such as `argparse.Namespace` → their fields) or refused with
`InvalidValue` naming the key.
"""

from __future__ import annotations

import enum
import json
import threading
import types
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from os import PathLike
from typing import Any

from .errors import InvalidValue
from .validation import check_config_value

_MISSING = object()
_NOT_CONVERTED = (type, types.FunctionType, types.BuiltinFunctionType, types.MethodType, types.ModuleType)


def _label(path: str) -> str:
    return f"config{path}"


def _convert(value: object, path: str, seen: tuple[int, ...]) -> object:
    """`value` as plain JSON types (dict, list, str, int, float, bool, None), or InvalidValue."""
    if value is None or type(value) in (str, bool, int):
        return value
    if isinstance(value, enum.Enum):
        return _convert(value.value, path, seen)
    if isinstance(value, (str, int)):  # subclasses (IntEnum handled above, IntFlag, str mixins)
        return _plain_scalar(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, PathLike):
        return str(value.__fspath__())
    if id(value) in seen:
        raise InvalidValue(f"cannot store {_label(path)}: the value contains itself")
    seen = (*seen, id(value))
    if isinstance(value, Mapping):
        return {_nested_key(k, path): _convert(v, f"{path}[{k!r}]", seen) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_convert(v, f"{path}[{i}]", seen) for i, v in enumerate(value)]
    if isinstance(value, (set, frozenset)):
        items = [_convert(v, f"{path}[...]", seen) for v in value]
        try:
            return sorted(items)
        except TypeError:
            return items
    tolist = getattr(value, "tolist", None)  # NumPy scalars and arrays, 0-d and n-d tensors
    if callable(tolist) and not isinstance(value, _NOT_CONVERTED):
        return _convert(tolist(), path, seen)
    to_dict = getattr(value, "to_dict", None)  # e.g. transformers' TrainingArguments
    if callable(to_dict) and not isinstance(value, _NOT_CONVERTED):
        return _convert(to_dict(), path, seen)
    if hasattr(value, "__dict__") and not isinstance(value, _NOT_CONVERTED):
        fields = {k: v for k, v in vars(value).items() if not k.startswith("_")}
        return _convert(fields, path, seen)
    raise InvalidValue(
        f"cannot store {_label(path)}: a value of type {type(value).__name__} is not JSON"
        " (use str, numbers, bool, None, lists, dicts, Path, NumPy values or an object with attributes)"
    )


def _plain_scalar(value: object) -> object:
    """An int or str subclass (IntEnum, StrEnum, NumPy bool...) as the plain builtin."""
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    return str(value)


def _nested_key(key: object, path: str) -> str:
    # JSON object keys are strings; an int key (a label map) becomes its decimal string as json.dumps would.
    if isinstance(key, str):
        return str(key)
    if isinstance(key, int) and not isinstance(key, bool):
        return str(int(key))
    raise InvalidValue(f"cannot store {_label(path)}: key {key!r} is a {type(key).__name__}, not a string")


def check_key(key: object) -> str:
    """A config key: a non-empty string."""
    if not isinstance(key, str):
        raise InvalidValue(f"config keys must be strings, got {type(key).__name__} {key!r}")
    if not key:
        raise InvalidValue("config keys must not be empty")
    return key


def storable(key: str, value: object) -> object:
    """`value` converted for `config[key]`, checked storable; InvalidValue naming the key otherwise."""
    converted = _convert(value, f"[{key!r}]", ())
    _check_storable(key, converted)
    return converted


def _check_storable(key: str, value: object) -> None:
    # The one call site for the final "can this be stored" rule, owned by trackio_nb.validation.
    check_config_value(key, value)


def initial_config(config: object) -> dict[str, Any]:
    """`init(config=...)`: a dict, any mapping or an object with attributes (argparse.Namespace), converted."""
    if config is None:
        return {}
    items = _fields(config)
    if items is None:
        raise TypeError(
            f"config must be a dict or an object with attributes (argparse.Namespace), got {type(config).__name__}"
        )
    return {check_key(k): storable(k, v) for k, v in items.items()}


def _fields(source: object) -> dict | None:
    """A mapping's items, or the public attributes of an object such as argparse.Namespace; else None."""
    if isinstance(source, Mapping):
        return dict(source)
    if hasattr(source, "__dict__") and not isinstance(source, _NOT_CONVERTED):
        return {k: v for k, v in vars(source).items() if not k.startswith("_")}
    return None


class Config(MutableMapping):
    """`run.config` / `tnb.config`: every change is stored (see the module docstring)."""

    __slots__ = ("_data", "_lock", "_on_change")

    def __init__(self, initial: Mapping[str, Any], on_change: Callable[[dict], None]) -> None:
        object.__setattr__(self, "_data", dict(initial))
        object.__setattr__(self, "_lock", threading.RLock())
        object.__setattr__(self, "_on_change", on_change)

    def _commit(self, new: dict) -> None:
        """Hand the whole new config to the run (it may refuse: ended run), then adopt it."""
        self._on_change(json.loads(json.dumps(new, allow_nan=True)))  # a private deep copy for the writer
        object.__setattr__(self, "_data", new)

    # -- the mapping -------------------------------------------------------------------------

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)  # never mutated in place: a change swaps in a new dict

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __setitem__(self, key: str, value: Any) -> None:
        self.update({key: value})

    def __delitem__(self, key: str) -> None:
        with self._lock:
            if key not in self._data:
                raise KeyError(key)
            new = dict(self._data)
            del new[key]
            self._commit(new)

    def update(self, other: Any = (), /, **kwargs: Any) -> None:
        """Set several keys in one stored change; if any value is refused, none is set.

        `other` is a mapping, (key, value) pairs, or an object with attributes (`config.update(args)`
        with an argparse.Namespace, the wandb habit).
        """
        fields = _fields(other)
        items = dict(other if fields is None else fields, **kwargs)
        converted = {check_key(k): storable(k, v) for k, v in items.items()}
        with self._lock:
            self._commit({**self._data, **converted})

    def setdefault(self, key: str, default: Any = None) -> Any:
        with self._lock:
            if key not in self._data:
                self[key] = default
            return self._data[key]

    def pop(self, key: str, default: Any = _MISSING) -> Any:
        with self._lock:
            if key not in self._data:
                if default is _MISSING:
                    raise KeyError(key)
                return default
            value = self._data[key]
            del self[key]
            return value

    def popitem(self) -> tuple[str, Any]:
        """Remove and return the last (key, value) set, like dict."""
        with self._lock:
            if not self._data:
                raise KeyError("popitem(): config is empty")
            key = next(reversed(self._data))
            return key, self.pop(key)

    def clear(self) -> None:
        with self._lock:
            self._commit({})

    def __ior__(self, other: Any) -> Config:
        self.update(other)
        return self

    def __or__(self, other: Any) -> dict[str, Any]:
        if not isinstance(other, Mapping):
            return NotImplemented
        return {**self._data, **other}

    def __ror__(self, other: Any) -> dict[str, Any]:
        if not isinstance(other, Mapping):
            return NotImplemented
        return {**other, **self._data}

    def copy(self) -> dict[str, Any]:
        """A plain (shallow) dict of the config, as dict.copy()."""
        return dict(self._data)

    def as_dict(self) -> dict[str, Any]:
        """A deep copy as a plain dict (for json.dumps and friends)."""
        return json.loads(json.dumps(self._data, allow_nan=True))

    # copy.copy / copy.deepcopy / pickle give plain dicts: a copy is not stored anywhere.
    def __copy__(self) -> dict[str, Any]:
        return self.copy()

    def __deepcopy__(self, memo: dict) -> dict[str, Any]:
        return self.as_dict()

    def __reduce__(self) -> tuple:
        return (dict, (self.as_dict(),))

    # -- attribute access (wandb habit) ---------------------------------------------------------

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails: methods and slots win over keys.
        if not name.startswith("_"):
            try:
                return self._data[name]
            except KeyError:
                pass
            keys = ", ".join(repr(k) for k in self._data) or "none"
            raise AttributeError(f"config has no key {name!r} (keys: {keys})")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        _check_attr(name)
        self[name] = value

    def __delattr__(self, name: str) -> None:
        _check_attr(name)
        try:
            del self[name]
        except KeyError:
            raise AttributeError(f"config has no key {name!r}") from None

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *(k for k in self._data if k.isidentifier())})

    def __repr__(self) -> str:
        return f"Config({self._data!r})"

    __hash__ = None  # type: ignore[assignment]  (mutable)


def _check_attr(name: str) -> None:
    if name.startswith("_") or hasattr(Config, name):
        raise AttributeError(f"{name!r} cannot be set as an attribute of config; use config[{name!r}] = ...")
