"""Build trackio_nb/widgets/assets/vega/vega-bundle.js from the npm packages (run by hand, commit the result).

    python scripts/build_vega_bundle.py [--vega 6.4.0 --vega-lite 6.5.0 --vega-embed 7.3.0 --esbuild 0.28.2]

npm installs the exact versions into a temporary directory, esbuild bundles them into one
minified script (an IIFE: it runs as a classic `<script>` and as an ES module imported from a
Blob URL alike) that sets `globalThis.vegaEmbed`, `globalThis.vega` and `globalThis.vegaLite`.
A gzip copy (what notebooks store) sits beside it. The manifest records every package
version and both files' sha256;
each bundled package's licence file is copied beside it. Nothing here runs at install or run time.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "trackio_nb" / "widgets" / "assets" / "vega"
ENTRY = """
import * as vega from "vega";
import * as vegaLite from "vega-lite";
import vegaEmbed from "vega-embed";
globalThis.vega = vega;
globalThis.vegaLite = vegaLite;
globalThis.vegaEmbed = vegaEmbed;
"""
LICENCE_NAMES = ("LICENSE", "LICENSE.md", "LICENSE.txt", "LICENCE", "license", "license.md")


def run(cmd: list[str], cwd: Path) -> str:
    return subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True).stdout


def bundled_packages(meta: Path) -> list[str]:
    """Package names whose files esbuild put into the bundle (from its metafile)."""
    inputs = json.loads(meta.read_text())["inputs"]
    names = set()
    for path in inputs:
        parts = Path(path).parts
        if "node_modules" not in parts:
            continue
        i = len(parts) - 1 - parts[::-1].index("node_modules")
        name = parts[i + 1]
        names.add(f"{name}/{parts[i + 2]}" if name.startswith("@") else name)
    return sorted(names)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vega", default="6.4.0")
    parser.add_argument("--vega-lite", default="6.5.0")
    parser.add_argument("--vega-embed", default="7.3.0")
    parser.add_argument("--esbuild", default="0.28.2")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tnb-vega-") as tmp:
        work = Path(tmp)
        (work / "package.json").write_text('{"name": "tnb-vega-build", "private": true}')
        (work / "entry.js").write_text(ENTRY)
        run(
            [
                "npm", "install", "--no-audit", "--no-fund", "--save-exact",
                f"vega@{args.vega}", f"vega-lite@{args.vega_lite}", f"vega-embed@{args.vega_embed}",
                f"esbuild@{args.esbuild}",
            ],
            work,
        )  # fmt: skip
        run(
            [
                str(work / "node_modules" / ".bin" / "esbuild"), "entry.js", "--bundle", "--minify",
                "--format=iife", "--target=es2020", "--legal-comments=none", "--charset=utf8",
                "--metafile=meta.json", "--outfile=vega-bundle.js",
            ],
            work,
        )  # fmt: skip
        packages = bundled_packages(work / "meta.json")
        lock = json.loads((work / "package-lock.json").read_text())["packages"]
        if OUT.exists():
            shutil.rmtree(OUT)
        (OUT / "licenses").mkdir(parents=True)
        versions = {}
        for name in packages:
            info = lock[f"node_modules/{name}"]
            versions[name] = {
                "version": info["version"],
                "license": info.get("license"),
                "integrity": info["integrity"],
            }
            folder = work / "node_modules" / name
            found = [folder / n for n in LICENCE_NAMES if (folder / n).is_file()]
            if not found:
                raise SystemExit(f"{name} has no licence file in its npm package")
            shutil.copy(found[0], OUT / "licenses" / f"{name.replace('/', '__')}.{found[0].name}")
        bundle = (work / "vega-bundle.js").read_bytes()
        (OUT / "vega-bundle.js").write_bytes(bundle)
        packed = gzip.compress(bundle, 9, mtime=0)  # what a notebook stores (deterministic: no timestamp)
        (OUT / "vega-bundle.js.gz").write_bytes(packed)
        esbuild_version = run([str(work / "node_modules" / ".bin" / "esbuild"), "--version"], work).strip()
    manifest = {
        "file": "vega-bundle.js",
        "sha256": hashlib.sha256(bundle).hexdigest(),
        "bytes": len(bundle),
        "gzip_file": "vega-bundle.js.gz",
        "gzip_sha256": hashlib.sha256(packed).hexdigest(),
        "defines": ["globalThis.vegaEmbed", "globalThis.vega", "globalThis.vegaLite"],
        "built_with": {"esbuild": esbuild_version, "node": run(["node", "--version"], ROOT).strip()},
        "top_level": {"vega": args.vega, "vega-lite": args.vega_lite, "vega-embed": args.vega_embed},
        "packages": versions,
    }
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    print(f"{OUT / 'vega-bundle.js'}: {len(bundle):,} bytes, {len(packages)} packages, sha256 {manifest['sha256']}")


if __name__ == "__main__":
    main()
