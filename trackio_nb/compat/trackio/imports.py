"""trackio's `import_csv`: one CSV (a `step` column, metrics in the others) becomes one finished run."""

from __future__ import annotations

import csv
import math
from pathlib import Path

from ... import session
from ...api import Api
from .. import trackio as _trackio


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if not math.isnan(value) or text.strip().lower() == "nan" else None


def import_csv(
    csv_path: str | Path,
    project: str,
    name: str | None = None,
    space_id: str | None = None,
    dataset_id: str | None = None,
    private: bool | None = None,
    force: bool = False,
) -> None:
    """Import a CSV into a new project as one run named `name` (default: the file's stem).

    The `step` (or `Step`) column gives each row's step; every other column whose values are
    numbers (empty cells skipped) is a metric. A `timestamp` column is not kept: trackio_nb
    stamps rows when they are stored. The project must not exist yet, as in trackio.
    """
    _trackio._refuse(space_id, "space_id", "Space")
    _trackio._refuse(dataset_id, "dataset_id", "dataset")
    if project in Api().projects():
        raise ValueError(f"Project '{project}' already exists. Cannot import CSV into existing project.")
    path = Path(csv_path)
    if not path.exists():
        raise FileNotFoundError(f"CSV file not found: {path}")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        columns = [c.strip() for c in reader.fieldnames or []]
        rows = [{k.strip(): v for k, v in row.items() if k is not None} for row in reader]
    if not rows:
        raise ValueError("CSV file is empty")
    step_column = next((c for c in columns if c.lower() == "step"), None)
    if step_column is None:
        raise ValueError("CSV file must contain a 'step' or 'Step' column")
    metrics = [
        c
        for c in columns
        if c not in (step_column, "timestamp") and all(_number(r[c]) is not None for r in rows if r[c].strip())
    ]
    run = session.init(project, name or path.stem)
    try:
        for row in rows:
            values = {c: _number(row[c]) for c in metrics if row[c].strip()}
            run.log(values, step=int(float(row[step_column])))
    except BaseException:
        run.finish("failed")
        raise
    session.finish()
