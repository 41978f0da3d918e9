"""HTML report benchmark: generation time, file size and time to open in headless Chromium.

    python benchmarks/bench_report.py [--quick] [--repeats N]

Projects from benchmarks/datasets.py: small = 20 runs x 10 metrics x 1,000 steps, large =
100 x 20 x 5,000 (10 M values). Budgets (issue 6): the large report under 10 MB and open in
under 3 s. "Open" is measured in the page (performance.now() from navigation start): the
load event (header, run table and alerts readable), and the first chart drawn (charts mount
as they scroll into view, one at a time). Drawing all 20 charts is printed too, for scale.
Medians over N repeats (default 3). --quick runs the small shape only.

trackio 0.43 writes no report file, so there is no peer column; the ratios printed are the
report against the raw data it summarises (embedding every point would be ~15 bytes each).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from datasets import PROJECT, SHAPES, tnb_dir  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
SIZE_BUDGET_MB, OPEN_BUDGET_S = 10.0, 3.0
BYTES_PER_POINT_IF_FULL = 15


def generate(root: Path, out: Path, repeats: int) -> tuple[float, float]:
    """Median seconds of tnb.report() and the file size in MB."""
    os.environ["TRACKIO_NB_DIR"] = str(root)
    import trackio_nb as tnb

    tnb.report(PROJECT, out)  # warm: the Vega bundle cache and imports
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        tnb.report(PROJECT, out)
        times.append(time.perf_counter() - start)
    return statistics.median(times), out.stat().st_size / 1e6


def open_times(path: Path, repeats: int) -> dict[str, float]:
    """Medians (s) of load event, first chart drawn and all charts drawn, fresh page each time."""
    from playwright.sync_api import sync_playwright

    samples: dict[str, list[float]] = {"load": [], "first chart": [], "all charts": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for _ in range(repeats):
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.route(
                "**/*", lambda r: r.continue_() if r.request.url.startswith(("file:", "data:", "blob:")) else r.abort()
            )
            page.goto(path.as_uri(), wait_until="load")
            samples["load"].append(page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd") / 1e3)
            page.evaluate("document.getElementById('tnbr-charts-section').scrollIntoView()")
            page.wait_for_function("window.tnbReport.status.timings.length > 0", timeout=120_000)
            samples["first chart"].append(page.evaluate("window.tnbReport.status.timings[0][1]") / 1e3)
            status = page.evaluate("window.tnbReport.renderAll()")
            if status["failed"]:
                raise RuntimeError(f"charts failed to draw: {status['errors']}")
            samples["all charts"].append(page.evaluate("performance.now()") / 1e3)
            context.close()
        browser.close()
    return {k: statistics.median(v) for k, v in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small shape only")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    shapes = ["small"] if args.quick else ["small", "large"]
    out_dir = HERE / ".data" / "reports"
    out_dir.mkdir(parents=True, exist_ok=True)
    print(f"{'shape':<6} {'values':>11} {'generate s':>10} {'size MB':>8} {'full MB':>8} {'ratio':>6} "
          f"{'load s':>7} {'1st chart s':>11} {'all charts s':>12}")  # fmt: skip
    verdicts = []
    for shape in shapes:
        runs, metrics, steps = SHAPES[shape]
        values = runs * metrics * steps
        out = out_dir / f"report-{shape}.html"
        gen_s, size_mb = generate(tnb_dir(shape), out, args.repeats)
        opened = open_times(out, args.repeats)
        full_mb = values * BYTES_PER_POINT_IF_FULL / 1e6
        print(f"{shape:<6} {values:>11,} {gen_s:>10.2f} {size_mb:>8.2f} {full_mb:>8.0f} {full_mb / size_mb:>5.0f}x "
              f"{opened['load']:>7.2f} {opened['first chart']:>11.2f} {opened['all charts']:>12.2f}")  # fmt: skip
        if shape == "large":
            verdicts.append(f"size {size_mb:.2f} MB vs budget {SIZE_BUDGET_MB} MB: "
                            + ("OK" if size_mb < SIZE_BUDGET_MB else "OVER"))  # fmt: skip
            slowest = max(opened["load"], opened["first chart"])
            verdicts.append(f"open {slowest:.2f} s (load, first chart) vs budget {OPEN_BUDGET_S} s: "
                            + ("OK" if slowest < OPEN_BUDGET_S else "OVER"))  # fmt: skip
    for line in verdicts:
        print(line)


if __name__ == "__main__":
    main()
