"""`wandb.sdk.lib.config_util`: the one wandb internal that libraries import (Transformers'
WandbCallback imports `ConfigError` from it). `install("wandb")` registers it under that name."""

from __future__ import annotations


class ConfigError(ValueError):
    """wandb raises this for a config change it refuses; trackio_nb raises InvalidValue instead."""
