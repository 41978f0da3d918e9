"""Run code written for trackio or wandb on trackio_nb, unchanged.

    import trackio_nb.compat.trackio as trackio        # or: import trackio_nb.compat.wandb as wandb
    trackio_nb.compat.install("trackio")               # then `import trackio` anywhere gives trackio_nb

`install` is for libraries that import the tracker themselves (Hugging Face Transformers with
`report_to="trackio"`). docs/compat.md lists what is supported and what differs, and why.
"""

from __future__ import annotations

import sys
from importlib import import_module
from types import ModuleType

# The submodules each alias registers too, so `import trackio.context_vars` (or
# `from trackio import context_vars`) reaches the same module objects as `trackio.context_vars`.
_PACKAGES = {
    "trackio": (
        "trackio_nb.compat.trackio",
        ("api", "artifact", "context_vars", "imports", "sqlite_storage", "system"),
    ),
    "wandb": ("trackio_nb.compat.wandb", ()),
}


def install(name: str) -> ModuleType:
    """Make `import <name>` ("trackio" or "wandb") give trackio_nb's compat module; returns it.

    Refuses (RuntimeError) when the real package is already imported: two trackers in one
    process would split the run between them. Installing twice is harmless.
    """
    if name not in _PACKAGES:
        raise ValueError(f"install() takes 'trackio' or 'wandb', got {name!r}")
    target, submodules = _PACKAGES[name]
    module = import_module(target)
    present = sys.modules.get(name)
    if present is not None and present is not module:
        raise RuntimeError(
            f"the real {name!r} package is already imported ({getattr(present, '__file__', present)!r}); "
            f"call trackio_nb.compat.install({name!r}) before anything imports {name}"
        )
    sys.modules[name] = module
    for sub in submodules:
        sys.modules[f"{name}.{sub}"] = import_module(f"{target}.{sub}")
    if name == "wandb":  # `from wandb.sdk.lib.config_util import ConfigError` (Transformers)
        for package in ("wandb.sdk", "wandb.sdk.lib"):
            sys.modules.setdefault(package, ModuleType(package, "wandb internals: only config_util is offered"))
        sys.modules["wandb.sdk.lib.config_util"] = import_module("trackio_nb.compat.wandb_sdk")
    return module


def uninstall(name: str) -> None:
    """Undo `install(name)` (for tests and notebooks that switch back to the real package)."""
    target, submodules = _PACKAGES[name]
    if sys.modules.get(name) is sys.modules.get(target):
        del sys.modules[name]
        for sub in (*submodules, "sdk", "sdk.lib", "sdk.lib.config_util"):
            sys.modules.pop(f"{name}.{sub}", None)


__all__ = ["install", "uninstall"]
