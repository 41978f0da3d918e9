"""Storage: the SQLite schema, writes (sqlite-utils) and the Polars query functions.

This package imports nothing from the rest of trackio_nb; every surface reads through
`trackio_nb.storage.queries`. Writes live in `trackio_nb.storage.writes` (imported on
demand: readers never pay for sqlite-utils).
"""

from ..enums import STATUSES
from .connection import ProjectNotFound, connect, open_project
from .paths import data_dir, project_file_name, project_path, validate_project
from .schema import SCHEMA_VERSION
from .status import FAILED, FINISHED, RUNNING, effective_status

__all__ = [
    "FAILED",
    "FINISHED",
    "RUNNING",
    "SCHEMA_VERSION",
    "STATUSES",
    "ProjectNotFound",
    "connect",
    "data_dir",
    "effective_status",
    "open_project",
    "project_file_name",
    "project_path",
    "validate_project",
]
