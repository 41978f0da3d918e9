"""The one set of rules about what can be stored: keys, steps, values, alerts, config.

`log()`, `alert()`, `init()`, the writer, the outbox and the tracking server all call these
functions, so a value one of them refuses is refused by all, with the same message
(`trackio_nb.errors.InvalidValue`, a ValueError, naming the key and the reason).

The hot path of `log()` (known keys, all values Python floats) is one C-level check in
`split`; everything else goes through `coerce`, the single place where a value that is not
a float is turned into something storable.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping, Sequence

from .errors import InvalidValue
from .presentation import jsonable

MAX_KEY_LENGTH = 256
MAX_STEP = 2**63 - 1
MAX_JSON_DEPTH = 100
RESERVED_KEYS = frozenset({"step", "timestamp"})


def _show(text: str, limit: int = 40) -> str:
    """A short printable form of a string for messages (escapes surrogates and controls)."""
    shown = text if len(text) <= limit else text[:limit] + "…"
    return ascii(shown)


def text_problem(text: str) -> str | None:
    """Why `text` cannot be stored as UTF-8 text (a lone surrogate), or None."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"holds an invalid Unicode character (a lone surrogate {text[exc.start]!a} at position {exc.start})"
    return None


def check_key(key: object, what: str = "metric name") -> str:
    """Return `key` if it can name a metric; InvalidValue says why not."""
    if not isinstance(key, str):
        raise InvalidValue(f"{what}s must be strings, got {type(key).__name__} {key!r}")
    if not key or not key.strip():
        raise InvalidValue(f"{what}s must not be empty")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidValue(f"{what} {_show(key)} is {len(key)} characters; the limit is {MAX_KEY_LENGTH}")
    for ch in key:
        category = unicodedata.category(ch)
        if category == "Cs":
            raise InvalidValue(f"{what} {_show(key)} {text_problem(key)}")
        if category == "Cc":
            raise InvalidValue(f"{what} {_show(key)} holds control characters")
    if key in RESERVED_KEYS or key.startswith("_"):
        raise InvalidValue(
            f"{what} {key!r} is reserved ('step', 'timestamp' and names starting with '_' are system names)"
        )
    return key


def check_label(value: object, what: str) -> str:
    """A run name or group: a non-empty string of valid Unicode without control characters."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidValue(f"{what} must be a non-empty string, got {value!r}")
    if len(value) > MAX_KEY_LENGTH:
        raise InvalidValue(f"{what} {_show(value)} is {len(value)} characters; the limit is {MAX_KEY_LENGTH}")
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in value):
        raise InvalidValue(f"{what} {_show(value)} holds control characters or invalid Unicode")
    return value


def check_step(step: object) -> int:
    """Return `step` as an int in 0 … 2**63 − 1; InvalidValue otherwise."""
    if isinstance(step, bool) or not hasattr(step, "__index__"):
        raise InvalidValue(f"step must be an integer, got {type(step).__name__} {step!r}")
    value = step.__index__()
    if value < 0:
        raise InvalidValue(f"step must be >= 0, got {value}")
    if value > MAX_STEP:
        raise InvalidValue(f"step must be at most 2**63 - 1 ({MAX_STEP}), got {value}")
    return value


def automatic_step_overflow(next_step: int) -> InvalidValue:
    """The error for an automatic step past the largest storable step."""
    return InvalidValue(
        f"the automatic step would be {next_step}, past the largest step 2**63 - 1 ({MAX_STEP}); pass step= explicitly"
    )


def check_number(key: str, value: int | float) -> float:
    """`value` as a float64; InvalidValue (not OverflowError) for an int too large for one."""
    try:
        return float(value)
    except OverflowError:
        raise InvalidValue(
            f"value of {key!r} does not fit a 64-bit float (it has {len(str(abs(value)))} digits)"
        ) from None


def json_text(key: str, value: object, what: str = "value of") -> str:
    """`value` as JSON text (NaN kept), refusing what would not read back as itself."""
    _check_json_keys(value, f"{what} {key!r}")
    try:
        text = json.dumps(value, allow_nan=True, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise InvalidValue(
            f"{what} {key!r} cannot be stored: {type(value).__name__} is not JSON-serialisable ({exc})"
        ) from None
    problem = text_problem(text)
    if problem is not None:
        raise InvalidValue(f"{what} {key!r} {problem}")
    return text


def _check_json_keys(value: object, path: str, depth: int = 0) -> None:
    # JSON object keys are strings: any other key would read back as a different value.
    if depth > MAX_JSON_DEPTH:
        raise InvalidValue(f"{path} is nested more than {MAX_JSON_DEPTH} levels deep")
    if isinstance(value, Mapping):
        for k, item in value.items():
            if not isinstance(k, str):
                raise InvalidValue(f"{path} has a non-string key {k!r}: JSON object keys are strings")
            _check_json_keys(item, f"{path}[{k!r}]", depth + 1)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _check_json_keys(item, f"{path}[{index}]", depth + 1)


def coerce(key: str, value: object) -> float | str:
    """The one place a value that is not a Python float becomes storable: a float, or JSON text."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return json_text(key, value)
    if isinstance(value, (int, float)):
        return check_number(key, value)
    item = getattr(value, "item", None)
    if item is not None and _is_scalar(value):
        return coerce(key, item())
    tolist = getattr(value, "tolist", None)
    if tolist is not None:
        value = tolist()
    return json_text(key, value)


def _is_scalar(value: object) -> bool:
    shape = getattr(value, "shape", None)
    if shape is not None:
        return tuple(shape) == ()
    return not hasattr(value, "__len__")


_FLOATS = frozenset({float})


def split(metrics: Mapping[str, object], known: set[str]) -> tuple[dict[str, float], dict[str, str] | None]:
    """Split a log() dict into float values and JSON-text values, validating everything first.

    Nothing is stored by this call; a bad key or value raises InvalidValue before the caller
    queues anything. Keys are checked once per run (`known` remembers the good ones).
    """
    # Fast path, all in C: a plain dict of known keys whose values are all Python floats.
    if type(metrics) is dict and known.issuperset(metrics) and _FLOATS.issuperset(map(type, metrics.values())):
        return dict(metrics), None
    if not isinstance(metrics, Mapping):
        raise InvalidValue(f"log() takes a dict of metrics, got {type(metrics).__name__}")
    numbers: dict[str, float] = {}
    texts: dict[str, str] | None = None
    new_keys = []
    for key, value in metrics.items():
        if key not in known:
            new_keys.append(check_key(key))
        kind = type(value)
        if kind is float:
            numbers[key] = value
        elif kind is int:
            numbers[key] = check_number(key, value)
        elif getattr(kind, "_tnb_media", False):  # tnb.Image etc.: encoded now, stored by the writer
            from .media.base import encoder

            if texts is None:
                texts = {}
            texts[key] = encoder(key, value)
        else:
            converted = coerce(key, value)
            if type(converted) is float:
                numbers[key] = converted
            else:
                if texts is None:
                    texts = {}
                texts[key] = converted
    known.update(new_keys)
    return numbers, texts


# -- alerts ---------------------------------------------------------------------------------


def check_alert_title(title: object) -> str:
    if not isinstance(title, str):
        raise InvalidValue(f"alert title must be a string, got {type(title).__name__}")
    if not title.strip():
        raise InvalidValue("alert title must not be empty")
    problem = text_problem(title)
    if problem is not None:
        raise InvalidValue(f"alert title {problem}")
    return title


def check_alert_text(text: object) -> str | None:
    if text is None:
        return None
    if not isinstance(text, str):
        raise InvalidValue(f"alert text must be a string or None, got {type(text).__name__}")
    problem = text_problem(text)
    if problem is not None:
        raise InvalidValue(f"alert text {problem}")
    return text


def encode_alert_data(data: object) -> str | None:
    """`data` as strict JSON text (an object), or None.

    Stored alert data is always strict JSON so that SQL (json_extract) and every JSON
    reader can parse it: NaN and ±Inf are stored spelled "NaN", "Infinity", "-Infinity"
    (`presentation.jsonable`, the spelling of every JSON the project emits).
    """
    if data is None:
        return None
    if not isinstance(data, dict):
        raise InvalidValue(f"alert data must be a dict (a JSON object) or None, got {type(data).__name__}")
    _check_json_keys(data, "alert data")
    try:
        text = json.dumps(jsonable(data), allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise InvalidValue(f"alert data must be JSON-serialisable: {exc}") from None
    problem = text_problem(text)
    if problem is not None:
        raise InvalidValue(f"alert data {problem}")
    return text


def _no_constants(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def check_alert_data_text(text: object) -> str | None:
    """Alert data that arrived as JSON text (server, outbox): refused unless `encode_alert_data` could make it
    (non-finite numbers arrive spelled "NaN", "Infinity": a bare NaN token is not JSON and is refused)."""
    if text is None:
        return None
    if not isinstance(text, str):
        raise InvalidValue("alert data must be JSON text or null")
    try:
        data = json.loads(text, parse_constant=_no_constants)
    except (ValueError, RecursionError) as exc:
        raise InvalidValue(
            f"alert data must be strict JSON: no NaN or Infinity (spell them 'NaN', 'Infinity'): {exc}"
        ) from None
    encode_alert_data(data)
    return text


# -- values that arrive as JSON text (server, outbox) -----------------------------------------


def check_json_value_text(key: str, text: object) -> str:
    """A logged non-numeric value sent as JSON text: it must parse and be storable."""
    if not isinstance(text, str):
        raise InvalidValue(f"value of {key!r} must be JSON text")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise InvalidValue(f"value of {key!r} is not JSON text: {exc}") from None
    json_text(key, value)
    return text


def check_entries(entries: Sequence[tuple]) -> None:
    """Logged steps (step, timestamp, {key: float}, {key: JSON text} | None) that arrive from
    outside a run (a server batch, the outbox): each distinct key once, every step, every text."""
    keys: set[str] = set()
    for step, _, numbers, texts in entries:
        if type(step) is not int or not 0 <= step <= MAX_STEP:
            check_step(step)
        keys.update(numbers)
        if texts:
            for key, text in texts.items():
                check_json_value_text(key, text)
            keys.update(texts)
    for key in keys:
        check_key(key)


# -- config ---------------------------------------------------------------------------------


def check_config_value(key: object, value: object) -> None:
    """The final check that one (already converted) config entry can be stored as JSON (NaN kept)."""
    if not isinstance(key, str):
        raise InvalidValue(f"config keys must be strings, got {type(key).__name__} {key!r}")
    problem = text_problem(key)
    if problem is not None:
        raise InvalidValue(f"config key {_show(key)} {problem}")
    json_text(key, value, "config value")


def check_config(config: object) -> dict:
    """A copy of `config` if every key and value can be stored as JSON (NaN kept); InvalidValue otherwise.

    Conversions of Path, NumPy and objects with fields happen before this, in run_config;
    this is the final check that the result is storable (the server applies it to what
    clients send).
    """
    if config is None:
        return {}
    if not isinstance(config, Mapping):
        raise InvalidValue(f"config must be a dict, got {type(config).__name__}")
    for key, value in config.items():
        check_config_value(key, value)
    return dict(config)
