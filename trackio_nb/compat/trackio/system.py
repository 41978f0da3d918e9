"""trackio's system metrics: `log_system`, `log_cpu` (psutil, when installed), `log_gpu`.

trackio_nb has one metrics table, so system metrics are ordinary metrics logged at the run's
current step (they do not advance it) under trackio's names (`cpu/utilization`,
`memory/percent`, ...); a chart against wall time shows them as trackio's system tab does.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Mapping

from ...tracked_run import Run
from .._shared import warn


def log_system(run: Run, metrics: Mapping[str, object]) -> None:
    """Log `metrics` at the run's current step without advancing it."""
    step = run._last_step if run._last_step is not None else 0
    run.log(metrics, step=step)


def cpu_metrics() -> dict[str, float]:
    """CPU, memory, swap, disk and network counters from psutil, named as trackio names them."""
    import psutil

    per_core = psutil.cpu_percent(interval=0.1, percpu=True)
    metrics: dict[str, float] = {f"cpu/{i}/utilization": float(pct) for i, pct in enumerate(per_core)}
    if per_core:
        metrics["cpu/utilization"] = sum(per_core) / len(per_core)
    metrics["cpu/count_logical"] = float(psutil.cpu_count(logical=True) or 0)
    gib = 1024**3
    mem = psutil.virtual_memory()
    metrics.update(
        {
            "memory/used": mem.used / gib,
            "memory/total": mem.total / gib,
            "memory/available": mem.available / gib,
            "memory/percent": float(mem.percent),
        }
    )
    swap = psutil.swap_memory()
    metrics.update({"swap/used": swap.used / gib, "swap/total": swap.total / gib, "swap/percent": float(swap.percent)})
    disk = psutil.disk_io_counters()
    if disk is not None:
        metrics.update({"disk/read_bytes": float(disk.read_bytes), "disk/write_bytes": float(disk.write_bytes)})
    net = psutil.net_io_counters()
    if net is not None:
        metrics.update({"network/sent_bytes": float(net.bytes_sent), "network/recv_bytes": float(net.bytes_recv)})
    return metrics


def psutil_available() -> bool:
    return importlib.util.find_spec("psutil") is not None


def log_cpu(run: Run) -> dict[str, float]:
    """Sample and log CPU/memory metrics; {} with a warning when psutil is not installed."""
    if not psutil_available():
        warn("log_cpu() needs psutil (pip install psutil); nothing was logged")
        return {}
    metrics = cpu_metrics()
    log_system(run, metrics)
    return metrics


def log_gpu(run: Run, device: int | None = None) -> dict[str, float]:
    """trackio_nb samples no GPU: warn and return {} (what trackio does on a machine without one)."""
    warn("log_gpu(): trackio_nb does not sample GPU metrics; nothing was logged")
    return {}


def start_cpu_sampler(run: Run, interval: float) -> threading.Event:
    """Log CPU metrics every `interval` seconds until the run ends; returns the stop event."""
    if isinstance(interval, bool) or not isinstance(interval, (int, float)) or not interval > 0:
        raise ValueError(f"cpu_log_interval must be a positive number of seconds, got {interval!r}")
    if not psutil_available():
        raise ValueError("auto_log_cpu=True needs psutil (pip install psutil)")
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(interval) and run.status == "running":
            try:
                log_system(run, cpu_metrics())
            except RuntimeError:  # the run ended between the check and the log
                return

    run.subscribe(on_end=lambda _run: stop.set())
    threading.Thread(target=sample, name="trackio_nb-cpu-sampler", daemon=True).start()
    return stop
