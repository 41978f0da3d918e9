"""What every media class shares: its kind, its caption, and turning it into a stored record."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

from ..errors import InvalidValue, MissingExtra
from ..storage.media_files import blob_name
from ..storage.records import MediaRecord


class Encoded(NamedTuple):
    """A media object in stored form: JSON-able `value`, its own file name, and `meta` (dict)."""

    value: Any
    file: str | None
    meta: dict | None


class Media:
    """Base class of the logged media types (`kind` names the type in storage and readers)."""

    KIND: ClassVar[str] = ""
    _tnb_media: ClassVar[bool] = True  # what log() checks, without importing this module
    caption: str | None = None

    def _encode(self, blobs: dict[str, bytes]) -> Encoded:
        """The stored form; files go into `blobs` as {name: bytes}."""
        raise NotImplementedError

    def __repr__(self) -> str:
        caption = f" caption={self.caption!r}" if self.caption else ""
        return f"<trackio_nb.{type(self).__name__}{caption}>"


def add_blob(blobs: dict[str, bytes], data: bytes, ext: str) -> str:
    """Add `data` to `blobs` under its content address; returns the name."""
    name = blob_name(data, ext)
    blobs[name] = data
    return name


def encoder(key: str, obj: Media) -> Callable[[int, float], MediaRecord]:
    """Encode `obj` (logged under `key`) now; the result makes its record once the step is known.

    InvalidValue names the key when the object cannot be encoded.
    """
    blobs: dict[str, bytes] = {}
    try:
        value, file, meta = obj._encode(blobs)
        text = None if value is None else json.dumps(value, allow_nan=True)
    except (ValueError, TypeError) as exc:
        raise InvalidValue(f"cannot log {type(obj).__name__} for {key!r}: {exc}") from None
    meta_text = None if not meta else json.dumps(meta)
    kind, caption = obj.KIND, obj.caption
    return lambda step, timestamp: MediaRecord(step, timestamp, key, kind, caption, text, file, blobs, meta_text)


def check_caption(caption: object) -> str | None:
    if caption is not None and not isinstance(caption, str):
        raise InvalidValue(f"caption must be a string or None, got {type(caption).__name__}")
    return caption


def existing_file(value: object) -> Path | None:
    """`value` as a Path when it is a str/PathLike (which must name a file), else None."""
    if not isinstance(value, (str, os.PathLike)):
        return None
    path = Path(value)
    if not path.is_file():
        raise InvalidValue(f"file not found: {str(value)!r}")
    return path


def add_file(blobs: dict[str, bytes], path: Path, allowed: tuple[str, ...], what: str) -> tuple[str, bytes]:
    """Add the file at `path` to `blobs` as given (its name and bytes)."""
    data = path.read_bytes()
    return add_blob(blobs, data, file_ext(path, allowed, what)), data


def file_ext(path: Path, allowed: tuple[str, ...], what: str) -> str:
    ext = path.suffix.lower().lstrip(".")
    ext = {"jpeg": "jpg", "htm": "html"}.get(ext, ext)
    if ext not in allowed:
        raise InvalidValue(f"{what} files must be one of {', '.join(allowed)}; got {path.name!r}")
    return ext


def numpy():
    """NumPy (a core dependency of the media types that take arrays)."""
    import numpy as np

    return np


def pil_image(feature: str):
    """PIL.Image, or MissingExtra naming the [media] extra."""
    try:
        from PIL import Image as PILImage
    except ImportError:
        raise MissingExtra("media", feature) from None
    return PILImage


def is_pil(value: object) -> bool:
    return type(value).__module__.startswith("PIL.") and hasattr(value, "save")


def as_array(value: object):
    """`value` as a NumPy array when it is one (or converts to one: tensors), else None."""
    if isinstance(value, (str, bytes, os.PathLike, list, tuple)) or is_pil(value):
        return None
    if hasattr(value, "__array__") or hasattr(value, "__array_interface__"):
        np = numpy()
        detach = getattr(value, "detach", None)  # torch tensors
        if detach is not None:
            value = detach().cpu().numpy()
        return np.asarray(value)
    return None


def jsonable(value: object, blobs: dict[str, bytes], where: str) -> Any:
    """A table cell or trace field as JSON: nested media stored (files into `blobs`), scalars unwrapped."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value
    if getattr(type(value), "_tnb_media", False):
        stored, file, meta = value._encode(blobs)
        return {"_type": value.KIND, "value": stored, "file": file, "caption": value.caption, "meta": meta}
    if isinstance(value, dict):
        return {str(k): jsonable(v, blobs, f"{where}[{k!r}]") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v, blobs, f"{where}[{i}]") for i, v in enumerate(value)]
    item = getattr(value, "item", None)
    if item is not None and getattr(value, "shape", None) == ():
        return jsonable(item(), blobs, where)
    tolist = getattr(value, "tolist", None)
    if tolist is not None:
        return jsonable(tolist(), blobs, where)
    isoformat = getattr(value, "isoformat", None)
    if isoformat is not None:  # datetimes and dates (pandas Timestamp too)
        return isoformat()
    raise InvalidValue(f"{where}: cannot store a {type(value).__name__} value")
