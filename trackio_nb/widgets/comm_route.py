"""Let a widget's chosen front-end messages (the stop button) act while a cell keeps the kernel busy.

Where such a message waits (ipykernel 7.4, read in its code): a "shell channel" thread reads
the shell socket and forwards every message over an inproc ZMQ pair to the main shell (the
main thread's event loop) or to a subshell (a thread with its own loop). A comm message goes
where `comm._reply_subshell_for(data, default)` says: by default the shell that last published
on the comm, the main shell for our widgets, so a click waits in the main shell's inproc
queue until the running cell returns (JupyterLab sends it on a subshell; it is routed back).

So instead of reading the main shell's queue (which would need replaying everything else in
order, on a socket the main loop's stream also reads), the widget's comm routes the messages
it names to a subshell of our own: the kernel dispatches them there at once, on that thread,
through its normal comm handlers. The main shell's queue is never touched: no cell runs out of
order and nothing is dropped. `log()` pays nothing for this. Where the kernel has no subshells
(ipykernel < 7, other kernels, no kernel), nothing changes and `route` returns False so the
widget can say that the button acts once the cell ends.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any

CREATE_TIMEOUT_S = 5.0

_lock = threading.Lock()
_subshell_id: str | None = None


def _kernel() -> Any | None:
    """The running ipykernel Kernel with a shell channel thread (ipykernel >= 7), else None."""
    kernelbase = sys.modules.get("ipykernel.kernelbase")
    if kernelbase is None or not kernelbase.Kernel.initialized():
        return None
    kernel = kernelbase.Kernel.instance()
    thread = getattr(kernel, "shell_channel_thread", None)
    manager = getattr(thread, "manager", None)
    needed = ("_create_subshell", "list_subshell", "get_shell_channel_to_subshell_socket")
    if manager is None or not all(hasattr(manager, name) for name in needed):
        return None
    return kernel


def _own_subshell(kernel: Any) -> str | None:
    """Our subshell's id (created once per kernel on the shell channel thread, as the kernel does)."""
    global _subshell_id
    thread = kernel.shell_channel_thread
    with _lock:
        if _subshell_id is not None and _subshell_id in thread.manager.list_subshell():
            return _subshell_id
        done = threading.Event()
        created: list[str] = []

        def create() -> None:
            try:
                created.append(thread.manager._create_subshell())
            finally:
                done.set()

        thread.io_loop.add_callback(create)
        if not done.wait(CREATE_TIMEOUT_S) or not created:
            return None
        _subshell_id = created[0]
        return _subshell_id


def route(widget: Any, wanted: Callable[[Any], bool]) -> bool:
    """Route the comm messages of `widget` whose data `wanted` accepts to our subshell.

    Their handler then runs on the subshell's thread, while a cell may be running: it must
    only do thread-safe work. Returns False (and changes nothing) where the kernel cannot.
    """
    comm = getattr(widget, "comm", None)
    kernel = _kernel()
    if kernel is None or comm is None or not callable(getattr(comm, "_reply_subshell_for", None)):
        return False
    subshell = _own_subshell(kernel)
    if subshell is None:
        return False
    manager = kernel.shell_channel_thread.manager
    default_route = comm._reply_subshell_for

    def reply_subshell_for(data: Any, default: str | None) -> str | None:
        chosen = default_route(data, default)  # keeps the kernel's own request bookkeeping
        try:  # runs on the shell channel thread: an exception here would lose the message
            mine = wanted(data) and subshell in manager.list_subshell()
        except Exception:  # noqa: BLE001 - the message then goes where the kernel would send it
            mine = False
        return subshell if mine else chosen

    comm._reply_subshell_for = reply_subshell_for
    return True
