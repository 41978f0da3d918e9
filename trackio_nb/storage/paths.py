"""Where project databases live, and the one mapping from a project name to its file."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sys
import unicodedata
from pathlib import Path

from ..errors import InvalidValue
from .media_files import MEDIA_SUFFIX

DEFAULT_DIR = "~/.cache/trackio_nb"
DB_SUFFIX = ".db"
MAX_PROJECT_NAME = 200

# Names made only of these characters are used as the file name itself. Every other name
# gets a slug plus a hash of the exact name after "~", a character plain names never hold,
# so two different names can never share a file (also on case-insensitive file systems:
# plain names are lower case only).
_PLAIN = re.compile(r"^[a-z0-9_][a-z0-9_-]*$")
_SLUG_DROP = re.compile(r"[^A-Za-z0-9_-]+")


def data_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The data directory: `override`, else `TRACKIO_NB_DIR`, else ~/.cache/trackio_nb.

    Read on every call, so a run, an Api or a command started later sees a changed variable.
    """
    raw = override if override is not None else os.environ.get("TRACKIO_NB_DIR") or DEFAULT_DIR
    return Path(raw).expanduser().resolve()


def validate_project(project: object) -> str:
    """Return `project` if it can name a project, else raise a clear error."""
    if not isinstance(project, str):
        raise InvalidValue(f"project must be a string, got {type(project).__name__}")
    if not project.strip():
        raise InvalidValue("project name must not be empty")
    if len(project) > MAX_PROJECT_NAME:
        raise InvalidValue(f"project name is {len(project)} characters long; the limit is {MAX_PROJECT_NAME}")
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in project):
        raise InvalidValue(f"project name {project!a} holds control characters or invalid Unicode")
    return project


def project_file_name(project: str) -> str:
    """The file name (no directory) that holds `project`; distinct for distinct names."""
    validate_project(project)
    if _PLAIN.match(project):
        return project + DB_SUFFIX
    digest = hashlib.sha256(project.encode("utf-8")).hexdigest()[:16]
    slug = _SLUG_DROP.sub("_", project).strip("_").lower()[:40]
    return f"{slug}~{digest}{DB_SUFFIX}"


def project_path(project: str, root: str | os.PathLike[str] | None = None) -> Path:
    """The database path of `project` inside the data directory (never outside it)."""
    base = data_dir(root)
    path = base / project_file_name(project)
    if path.parent != base:  # cannot happen by construction; guards future edits
        raise InvalidValue(f"project name {project!r} does not map inside the data directory")
    return path


def project_names(root: Path) -> list[str]:
    """The names of the projects stored under `root`, sorted (a hashed file name's project read from its meta).

    A file that is not a trackio_nb database is skipped with one warning on stderr naming it.
    """

    if not root.is_dir():
        return []
    from .connection import probe, project_name

    names = []
    for path in sorted(root.glob("*" + DB_SUFFIX)):
        problem = probe(path)
        if problem is not None:
            # Skipped, not fatal: one stray file must not hide every other project.
            print(f"trackio_nb: skipping {path.name} in the data directory: {problem}", file=sys.stderr)
            continue
        if "~" not in path.name:
            names.append(path.stem)
            continue
        name = project_name(path)
        if name is not None:
            names.append(name)
    return sorted(names)


# What a project keeps beside its database, named from the database's file name: SQLite's own
# files (appended to the full name) and folders/files named after its stem. Whoever adds a
# per-project file adds its suffix here, so deleting a project removes it too.
REJECTED_SUFFIX = ".rejected.jsonl"  # rows storage refused (trackio_nb.rejected)
SQLITE_SIDE_SUFFIXES = ("-wal", "-shm", "-journal")
FILES_SUFFIX = ".files"  # trackio/wandb `save()` and artifacts (trackio_nb.compat)
PROJECT_SIDE_SUFFIXES = (MEDIA_SUFFIX, REJECTED_SUFFIX, FILES_SUFFIX)


def project_files(project: str, root: str | os.PathLike[str] | None = None) -> list[Path]:
    """Every path that belongs to `project`: its database first, then the files kept beside it."""
    db = project_path(project, root)
    side = [db.with_name(db.name + s) for s in SQLITE_SIDE_SUFFIXES]
    return [db, *side, *(db.with_name(db.stem + s) for s in PROJECT_SIDE_SUFFIXES)]


def remove_project_files(project: str, root: str | os.PathLike[str] | None = None) -> list[Path]:
    """Delete the database of `project` and everything kept beside it; returns what was removed.

    The database goes first, so a listing never shows a project whose data is half gone.
    """
    removed = []
    for path in project_files(project, root):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            try:
                path.unlink()
            except FileNotFoundError:
                continue
        removed.append(path)
    return removed
