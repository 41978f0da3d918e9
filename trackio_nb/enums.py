"""String-valued constants for alert levels, watcher reasons and run statuses.

They are `str` subclasses, so stored values compare equal: `alert["level"] == AlertLevel.WARN`.
"""

from __future__ import annotations

from enum import Enum

from .errors import InvalidValue


class _StrEnum(str, Enum):
    def __str__(self) -> str:
        return self.value


class AlertLevel(_StrEnum):
    INFO = "info"
    WARN = "warn"
    ERROR = "error"


class AlertReason(_StrEnum):
    NAN_INF = "nan_inf"
    MAX_EXCEEDED = "max_exceeded"
    MIN_EXCEEDED = "min_exceeded"
    SPIKE = "spike"
    STAGNATION = "stagnation"
    CUSTOM = "custom"
    DATA_LOSS = "data_loss"  # rows storage refused: counts and the first error in `data`


class RunStatus(_StrEnum):
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"


LEVELS = tuple(level.value for level in AlertLevel)
REASONS = tuple(reason.value for reason in AlertReason)
STATUSES = tuple(status.value for status in RunStatus)
END_STATUSES = (RunStatus.FINISHED.value, RunStatus.FAILED.value)
LEVEL_ORDER = {AlertLevel.INFO.value: 0, AlertLevel.WARN.value: 1, AlertLevel.ERROR.value: 2}


def parse_level(level: object) -> str:
    """Return the stored string for an AlertLevel or its name/value; raise on anything else."""
    if isinstance(level, AlertLevel):
        return level.value
    if isinstance(level, str):
        lowered = level.lower()
        if lowered in LEVEL_ORDER:
            return lowered
        raise InvalidValue(f"level must be one of info, warn, error, got {level!r}")
    raise InvalidValue(f"level must be an AlertLevel or a string, got {type(level).__name__}")
