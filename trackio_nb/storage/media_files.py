"""Media files: content-addressed (sha256) in the project's media folder beside its database.

A file's name is `<first two hex digits>/<sha256>.<extension>`; the same bytes logged twice
(by any run of the project) are one file. Files are written by the background writer (or
the server) before the rows that name them, atomically (temporary file, then rename), and
removed when no row of the project names them any more.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path

from ..errors import InvalidValue

MEDIA_SUFFIX = ".media"
MEDIA_KINDS = ("image", "table", "histogram", "markdown", "html", "audio", "video", "trace")
_NAME = re.compile(r"^([0-9a-f]{2})/([0-9a-f]{64})\.([a-z0-9]{1,8})$")


def media_dir(db_path: Path) -> Path:
    """The media folder of the project whose database is `db_path` (`<stem>.media`)."""
    return db_path.with_name(db_path.stem + MEDIA_SUFFIX)


def blob_name(data: bytes, ext: str) -> str:
    """The content-addressed name of `data` stored with extension `ext`."""
    digest = hashlib.sha256(data).hexdigest()
    return f"{digest[:2]}/{digest}.{ext.lower()}"


def check_name(name: object) -> str:
    """`name` if it is a well-formed media file name (never a path outside the folder), else ValueError."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidValue(f"not a media file name: {str(name)[:80]!r}")
    return name


def check_blob(name: str, data: bytes) -> None:
    """ValueError unless `data` hashes to the sha256 in `name`."""
    match = _NAME.match(check_name(name))
    if hashlib.sha256(data).hexdigest() != match.group(2):
        raise InvalidValue(f"media file {name!r}: content does not match its sha256")


def write_blobs(folder: Path, blobs: dict[str, bytes]) -> None:
    """Write each blob under `folder` unless a file of that name is already there (same content)."""
    for name, data in blobs.items():
        path = folder / check_name(name)
        if path.exists() and path.stat().st_size == len(data):
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def read_blob(folder: Path, name: str) -> bytes:
    """The bytes of media file `name` (FileNotFoundError if it is not there)."""
    return (folder / check_name(name)).read_bytes()


def remove_blobs(folder: Path, names: Iterable[str]) -> int:
    """Delete these files (those no row names any more); returns how many were removed."""
    removed = 0
    for name in names:
        path = folder / check_name(name)
        try:
            path.unlink()
            removed += 1
        except FileNotFoundError:
            continue
        if not any(path.parent.iterdir()):  # the last file under this prefix
            path.parent.rmdir()
    return removed
