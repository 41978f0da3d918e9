"""`tnb.Table`: rows and columns (or a pandas / Polars frame); cells may hold media such as Images."""

from __future__ import annotations

from ..errors import InvalidValue
from .base import Encoded, Media, jsonable


class Table(Media):
    """Stored inline as {"columns": [...], "data": [[...], ...]}; media cells keep their own files."""

    KIND = "table"

    def __init__(
        self,
        columns: list[str] | None = None,
        data: list | None = None,
        dataframe: object = None,
        rows: list | None = None,
        optional: bool | list[bool] = True,
        allow_mixed_types: bool = False,
        log_mode: str | None = "IMMUTABLE",
    ) -> None:
        # `optional`, `allow_mixed_types` and `log_mode` are trackio's; they change nothing here.
        if data is None:
            data = rows
        if dataframe is not None:
            columns, data = _from_frame(dataframe)
        self.columns, self.data = _normalize(columns, data)

    def _encode(self, blobs: dict[str, bytes]) -> Encoded:
        cells = [
            [jsonable(v, blobs, f"row {r} column {self.columns[c]!r}") for c, v in enumerate(row)]
            for r, row in enumerate(self.data)
        ]
        return Encoded({"columns": self.columns, "data": cells}, None, {"rows": len(cells)})


def _from_frame(frame: object) -> tuple[list[str], list[list]]:
    if hasattr(frame, "to_dicts") and hasattr(frame, "rows"):  # Polars
        return [str(c) for c in frame.columns], [list(r) for r in frame.rows()]
    if hasattr(frame, "itertuples") and hasattr(frame, "columns"):  # pandas
        return [str(c) for c in frame.columns], [list(r) for r in frame.itertuples(index=False, name=None)]
    raise InvalidValue(f"dataframe must be a pandas or Polars DataFrame, got {type(frame).__name__}")


def _normalize(columns: list | None, data: list | None) -> tuple[list[str], list[list]]:
    if data is None:
        data = []
    if not isinstance(data, (list, tuple)):
        raise InvalidValue(f"Table data must be a list of rows, got {type(data).__name__}")
    if data and all(isinstance(row, dict) for row in data):  # a list of records
        names = list(columns or [])
        for row in data:
            names.extend(k for k in row if k not in names)
        return [str(n) for n in names], [[row.get(n) for n in names] for row in data]
    rows = []
    for i, row in enumerate(data):
        if not isinstance(row, (list, tuple)):
            raise InvalidValue(f"Table row {i} must be a list, got {type(row).__name__}")
        rows.append(list(row))
    width = max((len(r) for r in rows), default=0)
    names = [str(c) for c in columns] if columns is not None else [str(i) for i in range(width)]
    if len(set(names)) != len(names):
        raise InvalidValue("Table column names must be distinct")
    names += [str(i) for i in range(len(names), width)]
    return names, [r + [None] * (len(names) - len(r)) for r in rows]
