"""Media benchmark: numeric log() with and without media logged in the same project and process.

    python benchmarks/bench_media.py [--steps N] [--repeats R]

Run A logs 10 floats per step. Run B, in the same project, logs the same floats and, every
`--every` steps, a 64x64 RGB tnb.Image in the same call. Reported: the median latency of
the numeric-only log() calls of each run (they take the same all-floats fast path, so the
ratio B/A should be ~1), the median cost of a log() carrying an image (PNG encoding in the
caller's thread), and finish(). Runs alternate, repeats interleaved; medians of medians.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def one_run(tnb, np, steps: int, every: int | None) -> dict:
    names = [f"metric_{j}" for j in range(10)]
    image = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    run = tnb.init("media-bench")
    numeric, media = [], []
    clock = time.perf_counter_ns
    for i in range(steps):
        row = {name: (i + 1) * 0.5 + j for j, name in enumerate(names)}
        if every is not None and i % every == 0:
            row["sample"] = tnb.Image(image)
            t0 = clock()
            run.log(row)
            media.append(clock() - t0)
        else:
            t0 = clock()
            run.log(row)
            numeric.append(clock() - t0)
    t0 = time.perf_counter()
    run.finish()
    return {
        "numeric_us": statistics.median(numeric) / 1000,
        "media_us": statistics.median(media) / 1000 if media else None,
        "finish_s": time.perf_counter() - t0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--every", type=int, default=100)
    args = parser.parse_args()
    os.environ["TRACKIO_NB_DIR"] = tempfile.mkdtemp(prefix="bench-media-")
    import numpy as np

    import trackio_nb as tnb

    one_run(tnb, np, 500, args.every)  # warm-up: imports, PIL, the database
    plain, mixed = [], []
    for _ in range(args.repeats):
        plain.append(one_run(tnb, np, args.steps, None))
        mixed.append(one_run(tnb, np, args.steps, args.every))

    def med(results: list[dict], field: str) -> float:
        return statistics.median(r[field] for r in results)

    report = {
        "steps": args.steps,
        "repeats": args.repeats,
        "image_every": args.every,
        "numbers_only_run_log_us": round(med(plain, "numeric_us"), 3),
        "with_media_run_numeric_log_us": round(med(mixed, "numeric_us"), 3),
        "ratio_numeric_with_media_vs_without": round(med(mixed, "numeric_us") / med(plain, "numeric_us"), 3),
        "log_with_64x64_image_us": round(med(mixed, "media_us"), 1),
        "finish_numbers_only_s": round(med(plain, "finish_s"), 4),
        "finish_with_media_s": round(med(mixed, "finish_s"), 4),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
