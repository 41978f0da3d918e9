"""trackio's `Artifact`, `log_artifact`, `use_artifact`: versioned sets of files kept locally.

A logged version's files are copied content-addressed (`blobs/<sha256>`) into the project's
files folder, and the version is a JSON manifest (`artifacts/<name>/v<N>.json`: type,
description, metadata, files, the run that logged it, aliases). Logging the same files again
makes no new version (the aliases move to it). The run records each artifact it logs or uses
as a text value `artifact/<name>` / `used_artifact/<name>` = `name:vN` at its current step.
Not supported: references (`add_reference`), registries and links, remote projects.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

from ...tracked_run import Run
from .._shared import files_dir
from .system import log_system

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not _NAME.match(name) or len(name) > 128:
        raise ValueError(f"artifact names are letters, digits, '.', '_' and '-' (up to 128), got {name!r}")
    return name


def _store(project: str) -> Path:
    return files_dir(project) / "artifacts"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Artifact:
    """A named, typed set of files; `add_file`/`add_dir`, then `log_artifact(...)`; `download()` after `use_artifact`."""

    def __init__(self, name: str, type: str, description: str | None = None, metadata: dict | None = None) -> None:
        self._name = _check_name(name)
        if not isinstance(type, str) or not type:
            raise ValueError(f"artifact type must be a non-empty string, got {type!r}")
        self._type = type
        self.description = description
        self.metadata = dict(metadata or {})
        self._pending: dict[str, Path] = {}
        self._manifest: dict[str, Any] | None = None
        self._project: str | None = None

    name = property(lambda self: self._name)
    type = property(lambda self: self._type)
    project = property(lambda self: self._project)

    @property
    def version(self) -> str | None:
        return None if self._manifest is None else f"v{self._manifest['version']}"

    @property
    def aliases(self) -> tuple[str, ...]:
        return () if self._manifest is None else tuple(self._manifest["aliases"])

    @property
    def size(self) -> int | None:
        return None if self._manifest is None else sum(f["size"] for f in self._manifest["files"].values())

    @property
    def qualified_name(self) -> str:
        return self._name if self.version is None else f"{self._name}:{self.version}"

    def add_file(self, local_path: str | Path, name: str | None = None) -> None:
        path = Path(local_path)
        if not path.is_file():
            raise FileNotFoundError(f"not a file: {path}")
        self._pending[name or path.name] = path

    def add_dir(self, local_dir: str | Path, name: str | None = None) -> None:
        root = Path(local_dir)
        if not root.is_dir():
            raise NotADirectoryError(f"not a directory: {root}")
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            relative = path.relative_to(root).as_posix()
            self._pending[f"{name}/{relative}" if name else relative] = path

    def download(self, root: str | Path | None = None) -> str:
        """Copy this version's files to `root` (default ./artifacts/<name>:<version>); returns it."""
        if self._manifest is None or self._project is None:
            raise ValueError("download() needs a logged artifact: use log_artifact() or use_artifact() first")
        target = Path(root) if root is not None else Path("artifacts") / self.qualified_name
        blobs = _store(self._project) / "blobs"
        for relative, entry in self._manifest["files"].items():
            destination = target / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(blobs / entry["sha256"], destination)
        return str(target)

    def __repr__(self) -> str:
        return f"<Artifact {self.qualified_name} type={self._type}>"


def _versions(folder: Path) -> list[dict]:
    manifests = []
    for path in folder.glob("v*.json"):
        manifests.append(json.loads(path.read_text(encoding="utf-8")))
    return sorted(manifests, key=lambda m: m["version"])


def _write_new(folder: Path, manifest: dict) -> dict:
    """Write the manifest as the next version; O_EXCL makes concurrent writers take distinct numbers."""
    folder.mkdir(parents=True, exist_ok=True)
    while True:
        existing = _versions(folder)
        manifest["version"] = existing[-1]["version"] + 1 if existing else 0
        try:
            fd = os.open(folder / f"v{manifest['version']}.json", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(manifest, handle, indent=1)
        return manifest


def _move_aliases(folder: Path, manifest: dict, aliases: list[str]) -> None:
    """Give `manifest` the aliases (plus "latest"), taking them from any other version."""
    wanted = {"latest", *aliases}
    for other in _versions(folder):
        if other["version"] != manifest["version"] and wanted & set(other["aliases"]):
            other["aliases"] = [a for a in other["aliases"] if a not in wanted]
            (folder / f"v{other['version']}.json").write_text(json.dumps(other, indent=1), encoding="utf-8")
    manifest["aliases"] = sorted(set(manifest["aliases"]) | wanted)
    (folder / f"v{manifest['version']}.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")


def log_artifact(
    run: Run,
    artifact_or_path: Artifact | str | Path,
    *,
    name: str | None = None,
    type: str | None = None,
    aliases=None,
    overwrite: bool = False,
) -> Artifact:
    """Store the artifact's files and manifest in the run's project; record `name:vN` on the run.

    overwrite=True removes every other version's manifest (blobs stay; numbers keep increasing)."""
    if isinstance(artifact_or_path, Artifact):
        if name is not None or type is not None:
            raise ValueError("name= and type= are for logging a path, not an Artifact")
        artifact = artifact_or_path
    else:
        path = Path(artifact_or_path)
        artifact = Artifact(name or f"run-{run.id}-{path.name}", type or "unspecified")
        (artifact.add_dir if path.is_dir() else artifact.add_file)(path)
    if not artifact._pending:
        raise ValueError(f"artifact {artifact.name!r} has no files: add_file() or add_dir() first")
    aliases = list(aliases or [])
    store = _store(run.project)
    blobs = store / "blobs"
    blobs.mkdir(parents=True, exist_ok=True)
    files = {}
    for relative, source in sorted(artifact._pending.items()):
        digest = _sha256(source)
        if not (blobs / digest).exists():
            shutil.copyfile(source, blobs / f"{digest}.part")
            os.replace(blobs / f"{digest}.part", blobs / digest)
        files[relative] = {"sha256": digest, "size": source.stat().st_size}
    folder = store / artifact.name
    same = [m for m in _versions(folder) if m["files"] == files and m["type"] == artifact.type]
    if same:
        manifest = same[-1]
    else:
        manifest = _write_new(
            folder,
            {
                "name": artifact.name,
                "type": artifact.type,
                "description": artifact.description,
                "metadata": artifact.metadata,
                "files": files,
                "run": run.name,
                "run_id": run.id,
                "created_at": time.time(),
                "aliases": [],
            },
        )
    _move_aliases(folder, manifest, aliases)
    if overwrite:
        for other in _versions(folder):
            if other["version"] != manifest["version"]:
                (folder / f"v{other['version']}.json").unlink()
    artifact._manifest, artifact._project = manifest, run.project
    log_system(run, {f"artifact/{artifact.name}": artifact.qualified_name})
    return artifact


def use_artifact(run: Run, artifact_or_name: Artifact | str, *, type: str | None = None) -> Artifact:
    """Find `name`, `name:vN` or `name:<alias>` (bare name: latest) and record it as used by the run."""
    if isinstance(artifact_or_name, Artifact):
        artifact_or_name = artifact_or_name.qualified_name
    name, _, selector = str(artifact_or_name).partition(":")
    folder = _store(run.project) / _check_name(name)
    selector = selector or "latest"
    versions = _versions(folder)
    if re.fullmatch(r"v\d+", selector):
        found = [m for m in versions if m["version"] == int(selector[1:])]
    else:
        found = [m for m in versions if selector in m["aliases"]]
    if not found:
        raise ValueError(f"project {run.project!r} has no artifact {name}:{selector}")
    manifest = found[-1]
    if type is not None and manifest["type"] != type:
        raise ValueError(f"artifact {name}:v{manifest['version']} has type {manifest['type']!r}, not {type!r}")
    artifact = Artifact(name, manifest["type"], manifest["description"], manifest["metadata"])
    artifact._manifest, artifact._project = manifest, run.project
    log_system(run, {f"used_artifact/{name}": artifact.qualified_name})
    return artifact
