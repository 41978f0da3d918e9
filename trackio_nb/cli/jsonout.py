"""`--json` output: exactly one JSON document, legal JSON even for NaN and infinities.

NaN, +Inf and -Inf (which JSON cannot hold as numbers) are written as the strings "NaN",
"Infinity" and "-Infinity" (the convention of protobuf's JSON mapping; Python's
`float(s)` reads them back). A value that was never logged is null.
"""

from __future__ import annotations

import json
import math
from typing import Any


def _safe(value: Any) -> Any:
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return value
    if isinstance(value, dict):
        return {str(k): _safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_safe(v) for v in value]
    return value


def dumps(document: Any) -> str:
    """`document` as one line of strictly legal JSON text."""
    try:  # the C encoder; it refuses NaN/Inf, and only then is the document walked
        return json.dumps(document, ensure_ascii=False, allow_nan=False, default=str)
    except ValueError:
        return json.dumps(_safe(document), ensure_ascii=False, allow_nan=False, default=str)
