"""The offline Vega / Vega-Lite / vega-embed bundle the chart runs on (no CDN, ever).

A pinned, prebuilt, minified script shipped in the package (assets/vega/vega-bundle.js),
built from the npm packages by scripts/build_vega_bundle.py; assets/vega/manifest.json
records the package versions and the file's sha256, assets/vega/licenses/ their licences.
Evaluating the text (classic script, or an ES module imported from a Blob URL) defines
`globalThis.vegaEmbed` (and `vega`, `vegaLite`). Nothing is generated at run time.

`VegaBundle` is that text, gzipped (about 300 KB; the gzip copy ships beside the bundle), as
one widget model: every chart in a kernel references the same instance (`shared_bundle()`),
so a saved notebook holds it once however many charts, and the page inflates it once
(`DecompressionStream`).
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

import anywidget
import traitlets

BUNDLE_DIR = ("assets", "vega")


def _asset(name: str) -> bytes:
    return resources.files(__package__).joinpath(*BUNDLE_DIR, name).read_bytes()


@cache
def manifest() -> dict:
    """The bundle's manifest: versions of every bundled npm package, sha256 and size of the file."""
    return json.loads(_asset("manifest.json"))


@cache
def vega_bundle_gz() -> bytes:
    """The bundle gzipped (deterministic), as a notebook stores it."""
    return _asset(manifest()["gzip_file"])


@cache
def vega_bundle() -> str:
    """The bundle's JavaScript text (about 860 KB), read from the package."""
    return _asset(manifest()["file"]).decode("utf-8")


class VegaBundle(anywidget.AnyWidget):
    """The Vega bundle held in one widget model that charts reference (saved once per notebook)."""

    _esm = "export default {};\n"  # the text is inflated and evaluated by the first chart that needs it
    gz = traitlets.Bytes(b"").tag(sync=True)  # a binary buffer on the comm, base64 in a saved notebook
    version = traitlets.Unicode("").tag(sync=True)

    def __repr__(self) -> str:
        return f"VegaBundle(vega-embed {self.version})"


_shared: VegaBundle | None = None


def shared_bundle() -> VegaBundle:
    """This kernel's one `VegaBundle` (made again if it was closed)."""
    global _shared
    if _shared is None or _shared.comm is None:
        top = manifest()["top_level"]
        _shared = VegaBundle(gz=vega_bundle_gz(), version=top["vega-embed"])
    return _shared
