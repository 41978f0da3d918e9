"""The stop button's route in a real ipykernel: a stop message acts while a cell is busy; nothing else moves.

A jupyter_client talks to the kernel as a front end does: it runs a logging loop, then, while
that cell is busy, sends a trait update and a stop click for the RunTable's comm, then queues
another cell. The stop reaches the loop at once (on our subshell); the update and the queued
cell wait for the busy cell and then run in the order they were sent.
"""

from __future__ import annotations

import time

from jupyter_client.manager import start_new_kernel

import trackio_nb as tnb
from trackio_nb.widgets.run_table import _is_stop_message

BUSY = """
import time, trackio_nb as tnb
table = tnb.RunTable("route")
run = tnb.init("route", name="busy")
print("ready", table.comm.comm_id, run.id, table.stop_mid_cell, flush=True)
steps, seen_error = 0, None
for steps in range(1, 1501):
    tnb.log({"loss": 1.0})
    if tnb.should_stop():
        seen_error = table.error
        break
    time.sleep(0.02)
tnb.finish()
print("stopped", steps, repr(seen_error))
"""
AFTER = 'print("after", repr(table.error), steps)'


def _stdout_until(kc, msg_id: str, timeout: float) -> str:
    """The stdout text of request `msg_id`, read from iopub until its idle status."""
    text, deadline = "", time.monotonic() + timeout
    while time.monotonic() < deadline:
        msg = kc.get_iopub_msg(timeout=deadline - time.monotonic())
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream" and msg["content"]["name"] == "stdout":
            text += msg["content"]["text"]
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return text
    raise AssertionError(f"no idle status for {msg_id} in {timeout} s; stdout so far: {text!r}")


def _comm_msg(kc, comm_id: str, data: dict) -> None:
    kc.shell_channel.send(kc.session.msg("comm_msg", {"comm_id": comm_id, "data": data}))


def test_stop_acts_mid_cell_and_everything_else_keeps_its_order(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKIO_NB_DIR", str(tmp_path / "data"))
    km, kc = start_new_kernel(kernel_name="python3")
    try:
        busy = kc.execute(BUSY)
        deadline = time.monotonic() + 60
        ready = ""
        while "ready" not in ready:
            msg = kc.get_iopub_msg(timeout=deadline - time.monotonic())
            if msg["msg_type"] == "stream" and msg["parent_header"].get("msg_id") == busy:
                ready += msg["content"]["text"]
        _, comm_id, run_id, mid_cell = ready.split()
        assert mid_cell == "True"
        time.sleep(0.3)  # the loop is running
        _comm_msg(kc, comm_id, {"method": "update", "state": {"error": "from the front end"}, "buffer_paths": []})
        clicked = time.monotonic()
        _comm_msg(kc, comm_id, {"method": "custom", "content": {"type": "stop", "run_id": run_id}})
        after = kc.execute(AFTER)
        out = _stdout_until(kc, busy, 60)
        elapsed = time.monotonic() - clicked
        stopped = out.splitlines()[-1].split(" ", 2)
        assert stopped[0] == "stopped" and int(stopped[1]) < 1500, out
        assert elapsed < 5.0  # the loop would take 30 s without the stop
        assert stopped[2] == "''"  # the update waited: only the stop was routed to the subshell
        assert _stdout_until(kc, after, 30) == f"after 'from the front end' {stopped[1]}\n"
        replies = []
        while len(replies) < 2:
            reply = kc.get_shell_msg(timeout=10)
            if reply["msg_type"] == "execute_reply":
                replies.append((reply["parent_header"]["msg_id"], reply["content"]["status"]))
        assert replies == [(busy, "ok"), (after, "ok")]  # the queued cell ran once, after the busy one
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_outside_a_kernel_the_table_says_the_button_waits(data_dir):
    run = tnb.init("plain", "r")
    table = tnb.RunTable("plain")
    try:
        assert table.stop_mid_cell is False
    finally:
        table.close()
        run.finish()


def test_only_stop_clicks_are_routed():
    assert _is_stop_message({"method": "custom", "content": {"type": "stop", "run_id": "x"}}) is True
    for data in (
        {"method": "update", "state": {"error": "x"}},
        {"method": "custom", "content": {"type": "select"}},
        {"method": "custom", "content": "stop"},
        None,
        "stop",
    ):
        assert _is_stop_message(data) is False
