"""The notebook path at 10x scale: first show(), widget ticks, log() cost with show() live, saved
notebook size, core install size. Prints medians and ratios against the issue 13 targets and the
first round's measurements (NOTES.md); asserts nothing.

    python benchmarks/bench_widgets_scale.py [--runs 300 1000] [--steps 20000] [--pairs 5] [--only-log]
        [--install-size]

Projects: N finished runs x 30 metrics x 5 steps (built under a temporary directory); then a
new run logs `--steps` steps (2 metrics) with a 50 us busy "training step" between calls, once
without widgets and once with show() made before it (so the hub follows the run), in `--pairs`
alternating pairs, each loop after gc.collect(); per-pair median and mean ratios are printed
(the machine is shared: a single pair or a single full collection can swing a mean 2-10x), and
the ratio of the whole loops' wall times, which also counts the widget work done on the run's
writer thread (it shares the GIL with the loop).
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
METRICS = 30
FIRST_ROUND = {"first_show_s": 3.3, "tick_ms_300": (23, 32), "saved_mb": 2.8, "log_mean_ratio": (7.8, 14)}


def seed(project: str, runs: int, root: str) -> None:
    import trackio_nb as tnb

    names = [f"m{m}" for m in range(METRICS)]
    for r in range(runs):
        run = tnb.init(project, f"run-{r}", config={"lr": 10 ** -(1 + r % 4), "seed": r, "width": 64}, dir=root)
        for s in range(5):
            run.log({n: (m + 1) / (s + 1 + r) for m, n in enumerate(names)})
        run.finish()


def busy(us: float) -> None:
    end = time.perf_counter() + us / 1e6
    while time.perf_counter() < end:
        pass


def log_loop(tnb, project: str, name: str, steps: int, root: str) -> list[int]:
    """Each log() call's cost (ns); the whole loop's wall time (ns, finish() excluded) is appended last."""
    clock = time.perf_counter_ns
    costs = []
    run = tnb.init(project, name, dir=root)
    start = clock()
    for step in range(steps):
        busy(50)
        t0 = clock()
        tnb.log({"loss": 1.0 / (step + 1), "acc": step * 1e-5})
        costs.append(clock() - t0)
    costs.append(clock() - start)
    run.finish()
    return costs


def at_scale(runs: int, steps: int, pairs_n: int = 5) -> None:
    import trackio_nb as tnb
    from trackio_nb.widgets import show
    from trackio_nb.widgets.hub import HUB

    root = tempfile.mkdtemp(prefix=f"bench-scale-{runs}-")
    project = f"scale{runs}"
    t0 = time.perf_counter()
    seed(project, runs, root)
    print(f"\n{runs} finished runs x {METRICS} metrics (seeded in {time.perf_counter() - t0:.1f} s)")

    t0 = time.perf_counter()
    dash = show(project, dir=root)
    print(f"  show() over the project: {(time.perf_counter() - t0) * 1000:.0f} ms")
    HUB.tick()
    ticks = []
    for _ in range(300):
        t = time.perf_counter_ns()
        HUB.tick()
        ticks.append(time.perf_counter_ns() - t)
    med = statistics.median(ticks) / 1e6
    target = 1.0 if runs <= 300 else 3.0
    print(
        f"  hub tick, nothing new (3 widgets, one shared read): median {med * 1000:.0f} us, p90"
        f" {statistics.quantiles(ticks, n=10)[8] / 1e3:.0f} us; target <= {target:g} ms: {med / target:.3f}x of target"
    )
    if runs == 300:
        lo, hi = FIRST_ROUND["tick_ms_300"]
        print(f"    first round: {lo}-{hi} ms per widget tick: {lo / med:.0f}-{hi / med:.0f}x faster")
    dash.close()

    # Alternating pairs (the machine is shared: one pair can be off). Each loop starts from a collected heap
    # (gc.collect() first), so a full collection left pending by the previous loop does not land in the next.
    pairs, walls = [], []
    for i in range(pairs_n):
        gc.collect()
        *base, base_wall = log_loop(tnb, project, f"plain{i}", steps, root)
        dash = show(project, dir=root)  # made before init(): the hub follows the new run
        gc.collect()
        *live, live_wall = log_loop(tnb, project, f"live{i}", steps, root)
        walls.append(live_wall / base_wall)
        done = max(r["last_step"] or 0 for r in dash.table._rows.values()) == steps - 1
        dash.close()
        pairs.append(
            (statistics.median(base), statistics.fmean(base), statistics.median(live), statistics.fmean(live), done)
        )
    bmed, bmean, lmed, lmean = (statistics.median(p[k] for p in pairs) for k in range(4))
    mean_ratios = [p[3] / p[1] for p in pairs]
    print(f"  log() with a 50 us step, {steps:,} steps, {pairs_n} alternating pairs (medians of each loop's figure):")
    print(f"    without widgets: median {bmed / 1e3:.2f} us, mean {bmean / 1e3:.2f} us")
    print(f"    with show():     median {lmed / 1e3:.2f} us, mean {lmean / 1e3:.2f} us")
    print(
        f"    ratio with/without: median {lmed / bmed:.3f}x (target <= 1.1), median of means {lmean / bmean:.3f}x,"
        f" median of per-pair mean ratios {statistics.median(mean_ratios):.3f}x (target <= 1.2)"
    )
    print(
        f"    the whole loop's wall time with/without (the writer thread's share of the widget work included):"
        f" median {statistics.median(walls):.3f}x (per pair {', '.join(f'{w:.3f}' for w in walls)})"
    )
    print(
        f"    per pair: median ratios {', '.join(f'{p[2] / p[0]:.2f}' for p in pairs)};"
        f" mean ratios {', '.join(f'{r:.2f}' for r in mean_ratios)}"
        f" (means us {', '.join(f'{p[1] / 1e3:.2f}/{p[3] / 1e3:.2f}' for p in pairs)});"
        f" first round mean {FIRST_ROUND['log_mean_ratio'][0]}-{FIRST_ROUND['log_mean_ratio'][1]}x;"
        f" table reached the last step every time: {all(p[4] for p in pairs)}"
    )
    shutil.rmtree(root, ignore_errors=True)


def first_show() -> None:
    """A fresh interpreter, HOME empty, no cache anywhere: import + show() over a 3-run project."""
    root = tempfile.mkdtemp(prefix="bench-first-")
    home = Path(root) / "home"
    home.mkdir()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "TRACKIO_NB_DIR": str(Path(root) / "data"),
        "PYTHONPATH": str(REPO),
    }
    seed_code = (
        "import trackio_nb as tnb\n"
        "for r in range(3):\n"
        "    with tnb.init('first', name=f'r{r}'):\n"
        "        [tnb.log({'loss': 1 / (s + 1)}) for s in range(100)]\n"
    )
    subprocess.run([sys.executable, "-c", seed_code], env=env, check=True)
    code = (
        "import time\nt = time.perf_counter()\nimport trackio_nb as tnb\n"
        "d = tnb.show('first')\nprint(time.perf_counter() - t)\n"
    )
    times = []
    for _ in range(5):
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        times.append(float(out.stdout.strip()))
    written = [p for p in home.rglob("*")]
    med = statistics.median(times)
    print(
        f"first show() in a fresh process (import included), 5 fresh interpreters: median {med:.3f} s, max"
        f" {max(times):.3f} s; target <= 0.5 s: {med / 0.5:.2f}x of target; first round {FIRST_ROUND['first_show_s']} s:"
        f" {FIRST_ROUND['first_show_s'] / med:.1f}x faster; files written under HOME: {len(written)}"
    )
    kernel = in_fresh_kernels(env)
    print(
        f"first show() in a fresh Jupyter kernel (IPython already loaded, as in a notebook), 3 kernels: median"
        f" {statistics.median(kernel):.3f} s ({', '.join(f'{t:.2f}' for t in kernel)}); target <= 0.5 s:"
        f" {statistics.median(kernel) / 0.5:.2f}x of target"
    )
    shutil.rmtree(root, ignore_errors=True)


def in_fresh_kernels(env: dict[str, str], n: int = 3) -> list[float]:
    import nbformat
    from nbclient import NotebookClient

    cell = "import time\nt = time.perf_counter()\nimport trackio_nb as tnb\nd = tnb.show('first')\nprint(time.perf_counter() - t)"
    times = []
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        for _ in range(n):
            nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell)])
            NotebookClient(nb, timeout=120, kernel_name="python3").execute()
            times.append(float(next(o.text for o in nb.cells[0].outputs if o.output_type == "stream")))
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return times


def saved_notebook() -> None:
    import nbformat
    from nbclient import NotebookClient

    root = tempfile.mkdtemp(prefix="bench-nb-")
    cells = [
        "import trackio_nb as tnb\n"
        "for lr in (0.1, 0.03, 0.01):\n"
        "    with tnb.init('nb', name=f'lr={lr}', config={'lr': lr}):\n"
        "        for s in range(500):\n"
        "            tnb.log({'loss': 1 / (1 + lr * s), 'acc': lr * s})",
        "tnb.show('nb')",
        "tnb.CompareChart('nb', 'loss')",
        "tnb.CompareChart('nb', 'acc')",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    os.environ["TRACKIO_NB_DIR"] = str(Path(root) / "data")
    NotebookClient(nb, timeout=120, kernel_name="python3", store_widget_state=True).execute()
    path = Path(root) / "saved.ipynb"
    nbformat.write(nb, path)
    size = path.stat().st_size / 1e6
    print(
        f"saved notebook, show() + 2 charts (3 runs x 2 metrics x 500 steps): {size:.3f} MB; target <= 1.2 MB:"
        f" {size / 1.2:.2f}x of target; first round {FIRST_ROUND['saved_mb']} MB (with 2 charts)"
    )
    shutil.rmtree(root, ignore_errors=True)


def install_size() -> None:
    """site-packages growth of a plain venv after `pip install .` (the core install)."""
    root = Path(tempfile.mkdtemp(prefix="bench-venv-"))
    subprocess.run([sys.executable, "-m", "venv", str(root)], check=True)
    site = next(root.glob("lib/python*/site-packages"))

    def kb(path: Path) -> int:
        return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) // 1024

    before = kb(site)
    subprocess.run([str(root / "bin" / "pip"), "install", "-q", str(REPO)], check=True)
    after = kb(site)
    tops = sorted(((kb(p), p.name) for p in site.iterdir() if p.is_dir()), reverse=True)[:6]
    print(f"core install (pip install . in a fresh venv): site-packages +{(after - before) / 1024:.0f} MB; largest:")
    print("  " + ", ".join(f"{name} {size / 1024:.0f} MB" for size, name in tops))
    shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, nargs="*", default=[300, 1000])
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--pairs", type=int, default=5, help="alternating without/with show() loops per scale")
    parser.add_argument("--only-log", action="store_true", help="skip first show(), saved notebook (log() ratios only)")
    parser.add_argument("--install-size", action="store_true", help="also measure the core install (slow: a venv)")
    args = parser.parse_args()
    if not args.only_log:
        first_show()
        saved_notebook()
    for runs in args.runs:
        at_scale(runs, args.steps, args.pairs)
    if args.install_size:
        install_size()


if __name__ == "__main__":
    main()
