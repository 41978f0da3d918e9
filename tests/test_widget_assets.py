"""The shipped front-end assets: the pinned Vega bundle (checksum, versions, licences, in the wheel and
sdist), the Altair-authored specs (regenerated and compared), and a first chart that imports neither
Altair nor vl-convert and writes nothing under the user's home."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from trackio_nb.widgets import bundle, spec

REPO = Path(__file__).resolve().parent.parent
VEGA_DIR = REPO / "trackio_nb" / "widgets" / "assets" / "vega"


def test_manifest_checksum_and_size_match_the_bundle():
    manifest = bundle.manifest()
    data = (VEGA_DIR / manifest["file"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == manifest["sha256"]
    assert len(data) == manifest["bytes"]
    assert bundle.vega_bundle().encode() == data
    packed = bundle.vega_bundle_gz()
    assert hashlib.sha256(packed).hexdigest() == manifest["gzip_sha256"] and gzip.decompress(packed) == data
    text = bundle.vega_bundle()
    assert "globalThis.vegaEmbed=" in text and "globalThis.vega=" in text
    assert not re.search(r"""import\s*\(\s*["']https?:""", text)  # no module is fetched from a URL


def test_manifest_pins_the_three_packages_and_keeps_every_licence():
    manifest = bundle.manifest()
    top = manifest["top_level"]
    assert top["vega"].startswith("6.") and top["vega-lite"].startswith("6.") and top["vega-embed"].startswith("7.")
    packages = manifest["packages"]
    for name in ("vega", "vega-lite", "vega-embed"):
        assert packages[name]["version"] == top[name]
    licences = {p.name.split(".")[0].replace("__", "/") for p in (VEGA_DIR / "licenses").iterdir()}
    assert licences == set(packages)  # one licence file per bundled npm package
    assert all(p["integrity"].startswith("sha512-") for p in packages.values())


def test_specs_json_is_what_altair_builds():
    assert spec.build_specs() == json.loads((REPO / "trackio_nb" / "widgets" / "assets" / "specs.json").read_text())


def test_first_chart_imports_no_altair_nor_vl_convert_and_writes_nothing_home(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    code = (
        "import sys, trackio_nb as tnb\n"
        "with tnb.init('p', name='r'):\n"
        "    tnb.log({'loss': 1.0})\n"
        "dash = tnb.show('p')\n"
        "c2 = tnb.CompareChart('p', 'loss')\n"
        "assert dash.chart.vega is c2.vega\n"
        "print(sorted(m for m in ('altair', 'vl_convert') if m in sys.modules))\n"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "TRACKIO_NB_DIR": str(tmp_path / "data"),
        "PYTHONPATH": str(REPO),
    }
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
    assert list(home.rglob("*")) == []  # no cache, no generated bundle


@pytest.fixture(scope="module")
def dists(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--sdist", "--wheel", "--outdir", str(out), str(REPO)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return out


def test_wheel_and_sdist_ship_the_bundle_manifest_licences_and_specs(dists):
    [wheel] = dists.glob("*.whl")
    [sdist] = dists.glob("*.tar.gz")
    sha = bundle.manifest()["sha256"]
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        assert hashlib.sha256(z.read("trackio_nb/widgets/assets/vega/vega-bundle.js")).hexdigest() == sha
    assert "trackio_nb/widgets/assets/vega/manifest.json" in names
    assert "trackio_nb/widgets/assets/specs.json" in names
    assert "trackio_nb/widgets/assets/vega/licenses/vega-lite.LICENSE" in names
    with tarfile.open(sdist) as t:
        members = {m.name.split("/", 1)[1] for m in t.getmembers() if "/" in m.name}
        data = t.extractfile(next(m for m in t.getmembers() if m.name.endswith("assets/vega/vega-bundle.js"))).read()
    assert hashlib.sha256(data).hexdigest() == sha
    assert "scripts/build_vega_bundle.py" in members
    assert "trackio_nb/widgets/assets/vega/licenses/vega.LICENSE" in members
