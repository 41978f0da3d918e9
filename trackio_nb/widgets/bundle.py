"""The offline Vega / Vega-Lite / vega-embed bundle the chart runs on (no CDN, ever).

Generated with vl-convert-python on first use and cached on disk, outside the data
directory, keyed by the vl-convert version: `$XDG_CACHE_HOME/trackio_nb-static/`
(default `~/.cache/trackio_nb-static/`), or TRACKIO_NB_STATIC_DIR when set.
Evaluating the text (classic script or module) defines `window.vegaEmbed`.
"""

from __future__ import annotations

import os
import tempfile
from functools import lru_cache
from pathlib import Path


def cache_dir() -> Path:
    """Where generated static assets are kept."""
    explicit = os.environ.get("TRACKIO_NB_STATIC_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "trackio_nb-static"


@lru_cache(maxsize=1)
def vega_bundle() -> str:
    """The bundle's JavaScript text (about 900 KB); read from the cache, generated once."""
    import vl_convert

    path = cache_dir() / f"vega-bundle-vlc{vl_convert.__version__}.js"
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        pass
    text = vl_convert.javascript_bundle()
    if "window.vegaEmbed" not in text:
        raise RuntimeError("vl_convert.javascript_bundle() no longer defines window.vegaEmbed")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")  # atomic: parallel kernels never read half a file
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)
    return text
