"""Live widgets under a fast loop: messages per second, bytes per message, log() cost ratio.

    python benchmarks/bench_widgets.py [--rate 10000] [--seconds 10] [--kernel]

The same paced loop (`rate` steps a second, two metrics a step) runs twice in one process,
first with no widget, then with `show()` (run table, compare chart, alert stream) made
before `init()`. Every message the widgets send (deltas and full syncs) is counted and
sized as the JSON the comm carries plus its binary buffers. With --kernel, the same runs inside a Jupyter kernel
(nbclient) with the dashboard displayed, so messages really travel over the comm.
Prints medians and ratios; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time


def paced_loop(tnb, project: str, rate: float, seconds: float) -> tuple[list[int], int, float]:
    """Log at `rate` steps a second for `seconds`; returns per-call ns, steps, elapsed s."""
    period = 1.0 / rate
    costs: list[int] = []
    tnb.init(project, name="bench")
    start = time.perf_counter()
    next_at = start
    step = 0
    clock = time.perf_counter_ns
    while True:
        now = time.perf_counter()
        if now - start >= seconds:
            break
        if now < next_at:
            continue
        metrics = {"loss": 1.0 / (step + 1), "acc": step * 1e-5}
        t0 = clock()
        tnb.log(metrics)
        costs.append(clock() - t0)
        step += 1
        next_at += period
    elapsed = time.perf_counter() - start
    return costs, step, elapsed


def spy(widget, sink: list[tuple[float, int, str, int]]) -> None:
    """Record (time, JSON bytes, method, new chart points) for every message `widget` sends."""
    original = widget._send

    def send(msg, buffers=None):
        content = msg.get("content") or {}
        buffers = list(buffers or [])
        # A points delta names, per series, the first of its three binary buffers (step, t, y: float64 each).
        points = (
            sum(len(buffers[s["buffer"]]) // 8 for s in content.get("series", []))
            if content.get("type") == "points"
            else 0
        )
        size = len(json.dumps(msg, separators=(",", ":"))) + sum(len(b) for b in buffers)
        sink.append((time.perf_counter(), size, msg["method"], points))
        original(msg, buffers)

    widget._send = send


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=10_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--kernel", action="store_true", help="run inside a Jupyter kernel with show() displayed (real comm messages)"
    )
    args = parser.parse_args()
    os.environ["TRACKIO_NB_DIR"] = tempfile.mkdtemp(prefix="bench-widgets-")
    if args.kernel:
        in_kernel(args.rate, args.seconds)
    else:
        measure(args.rate, args.seconds, display=False)


def in_kernel(rate: float, seconds: float) -> None:
    """Execute `measure` in a fresh ipykernel (nbclient) and print what it printed."""
    import nbformat
    from nbclient import NotebookClient

    here = os.path.dirname(os.path.abspath(__file__))
    cell = f"import sys\nsys.path.insert(0, {here!r})\nimport bench_widgets\nbench_widgets.measure({rate!r}, {seconds!r}, display=True)"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(cell)]
    NotebookClient(nb, timeout=int(seconds * 4 + 120), kernel_name="python3").execute()
    print("(inside a Jupyter kernel, show() displayed)")
    for out in nb.cells[0].outputs:
        if out.output_type == "stream" and out.name == "stdout":
            print(out.text, end="")


def measure(rate: float, seconds: float, *, display: bool) -> None:
    """The two paced loops (without, then with show()) and the figures."""
    import trackio_nb as tnb
    from trackio_nb.widgets import show

    base_costs, base_steps, base_elapsed = paced_loop(tnb, "plain", rate, seconds)
    tnb.finish()

    dash = show("live")
    if display:
        from IPython.display import display as show_output

        show_output(dash)
    messages: list[tuple[float, int, str, int]] = []
    for w in (dash.table, dash.chart, dash.alerts):
        spy(w, messages)
    t_start = time.perf_counter()
    costs, steps, elapsed = paced_loop(tnb, "live", rate, seconds)
    during = [m for m in messages if m[0] - t_start <= elapsed]
    t_finish = time.perf_counter()
    tnb.finish()
    finish_s = time.perf_counter() - t_finish

    deltas = [m for m in during if m[2] == "custom"]
    chart_points = sum(dash.chart.points().values())
    row = dash.table.rows[0]

    base_med = statistics.median(base_costs)
    med = statistics.median(costs)
    print(f"loop: {rate:,.0f} steps/s target, 2 metrics a step, {seconds:g} s")
    print(f"  without widgets: {base_steps:,} steps in {base_elapsed:.2f} s, log() median {base_med / 1000:.2f} us")
    print(f"  with show():     {steps:,} steps in {elapsed:.2f} s, log() median {med / 1000:.2f} us")
    print(f"  log() median ratio with/without widgets: {med / base_med:.2f}x (target <= 1.5x)")
    p99 = statistics.quantiles(costs, n=100)[98]
    print(f"  log() p99 with widgets: {p99 / 1000:.1f} us, max {max(costs) / 1e6:.1f} ms (the calls that run a tick)")
    print(f"messages while logging: {len(during)} in {elapsed:.2f} s = {len(during) / elapsed:.2f}/s (target <= 5/s)")
    print(f"  deltas: {len(deltas)}, full syncs: {len(during) - len(deltas)}")
    if deltas:
        sizes = [m[1] for m in deltas]
        print(f"  delta bytes: median {statistics.median(sizes):,.0f}, max {max(sizes):,}")
    chart = [(m[1], m[3]) for m in deltas if m[3]]
    if chart:
        ratios = [size / points for size, points in chart]
        print(
            f"  chart deltas: {len(chart)}, median {statistics.median([p for _, p in chart]):,.0f} new points"
            f" a message, {statistics.median(ratios):.1f} bytes per point (min {min(ratios):.1f},"
            f" max {max(ratios):.1f}): size grows with new rows only"
        )
    print(f"finish(): {finish_s:.2f} s including the final full sync")
    complete = chart_points == 2 * steps and row["last_step"] == steps - 1 and row["status"] == "finished"
    print(
        f"final state: chart {chart_points:,} points (expected {2 * steps:,}), table last step"
        f" {row['last_step']:,} (expected {steps - 1:,}), status {row['status']}: {'complete' if complete else 'INCOMPLETE'}"
    )


if __name__ == "__main__":
    main()
