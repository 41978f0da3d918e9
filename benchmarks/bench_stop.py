"""The stop button mid-cell: click-to-should_stop() latency, and what the route costs log().

    python benchmarks/bench_stop.py [--clicks 7] [--steps 20000]

Runs in a real ipykernel (jupyter_client, as a front end would talk to it):
1. latency: a cell logs in a loop (`if tnb.should_stop(): break`, 10 ms a step) while this
   script sends the RunTable's stop click as a comm message; the time from the send to the
   loop seeing should_stop() (one clock: the kernel reports time.monotonic() of the machine),
   `--clicks` times, median and max.
2. log() cost: median ns per `tnb.log()` call over `--steps` unpaced calls with no widget,
   with a RunTable whose stop clicks are routed to the subshell (stop_mid_cell True), and with
   a RunTable whose route was undone (the kernel's own routing). The route adds nothing to
   `log()` (it acts on the kernel's shell channel thread), so the last two should match.
Prints medians and ratios; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time

from jupyter_client.manager import start_new_kernel

SETUP = """
import json, statistics, time
import trackio_nb as tnb
from trackio_nb.widgets import comm_route

def loop_until_stopped(project, name):
    table = tnb.RunTable(project)
    run = tnb.init(project, name=name)
    print(json.dumps({"comm": table.comm.comm_id, "run": run.id, "mid_cell": table.stop_mid_cell}), flush=True)
    for step in range(6000):
        tnb.log({"loss": 1.0})
        if tnb.should_stop():
            seen = time.monotonic()
            break
        time.sleep(0.01)
    else:
        seen = None
    tnb.finish()
    table.close()
    print(json.dumps({"seen": seen, "steps": step}), flush=True)

def log_cost(project, steps, widget):
    table = None
    if widget != "none":
        table = tnb.RunTable(project)
        if widget == "unrouted":
            del table.comm._reply_subshell_for  # back to the class's own routing
    tnb.init(project, name=widget)
    clock = time.perf_counter_ns
    costs = []
    for step in range(steps):
        t0 = clock()
        tnb.log({"loss": 1.0 / (step + 1), "acc": step * 1e-5})
        costs.append(clock() - t0)
    tnb.finish()
    if table is not None:
        table.close()
    return statistics.median(costs)
"""


def _run(kc, code: str, timeout: float = 300) -> list[str]:
    """Execute `code`; return its stdout lines once the kernel is idle again."""
    msg_id = kc.execute(code)
    lines, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        msg = kc.get_iopub_msg(timeout=deadline - time.monotonic())
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream":
            lines += msg["content"]["text"].splitlines()
        if msg["msg_type"] == "error":
            raise RuntimeError("\n".join(msg["content"]["traceback"]))
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return lines
    raise TimeoutError(code)


def click_latency(kc, index: int) -> float:
    """Send one stop click while the loop runs; seconds from the send to should_stop() seen."""
    msg_id = kc.execute(f"loop_until_stopped('latency', 'click-{index}')")
    ready = None
    while ready is None:
        msg = kc.get_iopub_msg(timeout=60)
        if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "stream":
            ready = json.loads(msg["content"]["text"].splitlines()[0])
    assert ready["mid_cell"], "this kernel cannot route the stop click"
    time.sleep(0.5 + 0.37 * index % 0.5)  # land the clicks at different phases of the writer's poll
    data = {"method": "custom", "content": {"type": "stop", "run_id": ready["run"]}}
    sent = time.monotonic()
    kc.shell_channel.send(kc.session.msg("comm_msg", {"comm_id": ready["comm"], "data": data}))
    while True:
        msg = kc.get_iopub_msg(timeout=120)
        if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "stream":
            result = json.loads(msg["content"]["text"].splitlines()[-1])
            if "seen" in result:
                break
    while kc.get_shell_msg(timeout=60)["parent_header"].get("msg_id") != msg_id:
        pass
    assert result["seen"] is not None, "the loop ran to its end: the click was not delivered mid-cell"
    return result["seen"] - sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=7)
    parser.add_argument("--steps", type=int, default=20000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as root:
        os.environ["TRACKIO_NB_DIR"] = root
        km, kc = start_new_kernel(kernel_name="python3")
        try:
            _run(kc, SETUP)
            latencies = [click_latency(kc, i) for i in range(args.clicks)]
            print(
                f"click -> should_stop(): median {statistics.median(latencies) * 1000:.0f} ms,"
                f" max {max(latencies) * 1000:.0f} ms over {len(latencies)} clicks"
            )
            costs = {}
            for widget in ("none", "routed", "unrouted", "none"):
                [line] = _run(kc, f"print(log_cost('cost-{widget}', {args.steps}, {widget!r}))")
                costs.setdefault(widget, []).append(float(line))
            none = statistics.median(costs["none"])
            print(f"log() median: no widget {none:.0f} ns (two passes: {costs['none'][0]:.0f}, {costs['none'][1]:.0f})")
            for widget in ("routed", "unrouted"):
                cost = costs[widget][0]
                print(f"log() median: RunTable {widget:8s} {cost:.0f} ns ({cost / none:.2f}x no widget)")
            print(f"routed / unrouted: {costs['routed'][0] / costs['unrouted'][0]:.2f}")
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)


if __name__ == "__main__":
    main()
