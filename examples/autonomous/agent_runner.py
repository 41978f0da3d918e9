"""An agent loop that runs experiments with no person watching, through the trackio-nb CLI.

    python examples/autonomous/agent_runner.py --project auto [--experiments lr_search,failure_recovery,live_monitor]

Experiments (chosen by name):
  lr_search         train at several learning rates, ask `best` which won
  failure_recovery  start too hot; on a NaN or diverged run, halve the learning rate and retry
  live_monitor      start a long run, poll `list alerts --after-id` while it trains, and stop it
                    with `trackio-nb stop` when a spike alert arrives

Every CLI call is `python -m trackio_nb ... --json` with this interpreter; every child's
output is drained while it runs, so a chatty child can never block on a full pipe.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
SIMULATOR = HERE / "simulate_training.py"
EXPERIMENTS = ("lr_search", "failure_recovery", "live_monitor")
EXIT_MEANING = {0: "finished", 3: "diverged or NaN", 4: "stopped early (plateau)", 5: "stopped by request"}


class CliError(RuntimeError):
    """The CLI exited non-zero; the message is its one-line stderr."""


def cli(*args: str, json_out: bool = True, timeout: float = 60) -> dict | str:
    """Run `python -m trackio_nb ARGS [--json]`; returns the parsed JSON (or the text)."""
    argv = [sys.executable, "-m", "trackio_nb", *args] + (["--json"] if json_out else [])
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise CliError(f"{' '.join(args)}: {done.stderr.strip()}")
    return json.loads(done.stdout) if json_out else done.stdout


class Child:
    """A child process whose stdout and stderr are read by threads as it runs (review M7)."""

    def __init__(self, argv: list[str]) -> None:
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.out = bytearray()
        self.err = bytearray()
        self._readers = [
            threading.Thread(target=self._drain, args=(self.proc.stdout, self.out), daemon=True),
            threading.Thread(target=self._drain, args=(self.proc.stderr, self.err), daemon=True),
        ]
        for t in self._readers:
            t.start()

    @staticmethod
    def _drain(pipe, sink: bytearray) -> None:
        for chunk in iter(lambda: pipe.read1(65536), b""):
            sink.extend(chunk)

    def poll(self) -> int | None:
        return self.proc.poll()

    def wait(self, timeout: float | None = None) -> int:
        code = self.proc.wait(timeout)
        for t in self._readers:
            t.join()
        return code


@dataclass
class Attempt:
    run: str
    run_id: str
    lr: float
    exit_code: int
    outcome: str
    status: str
    reasons: list[str] = field(default_factory=list)


def train(project: str, name: str, lr: float, steps: int, *extra: str) -> Attempt:
    """Run the simulator to the end and read back what the tracker stored about it."""
    child = Child([sys.executable, str(SIMULATOR), "--project", project, "--name", name, "--lr", repr(lr),
                   "--steps", str(steps), *extra])  # fmt: skip
    code = child.wait(timeout=600)
    return describe(project, name, lr, code)


def describe(project: str, name: str, lr: float, code: int) -> Attempt:
    run = cli("get", "run", "--project", project, "--run", name)
    alerts = cli("list", "alerts", "--project", project, "--run", run["id"])["alerts"]
    reasons = sorted({a["data"]["reason"] for a in alerts if a["data"] and "reason" in a["data"]})
    return Attempt(name, run["id"], lr, code, EXIT_MEANING.get(code, f"exit {code}"), run["status"], reasons)


def lr_search(project: str, lrs: list[float], steps: int) -> dict:
    attempts = [train(project, f"search-lr{lr:g}", lr, steps) for lr in lrs]
    best = cli("best", "--project", project, "--metric", "val/loss", "--direction", "min")
    # `best` considers finished runs only; keep the ones this search made.
    mine = {a.run_id for a in attempts}
    ranking = [r for r in best["ranking"] if r["run_id"] in mine]
    winner = ranking[0]
    return {
        "attempts": [asdict(a) for a in attempts],
        "best_run": winner["run"],
        "best_lr": winner["config"]["lr"],
        "best_value": winner["value"],
    }


def failure_recovery(project: str, start_lr: float, steps: int, backoff: float, max_attempts: int) -> dict:
    attempts: list[Attempt] = []
    lr = start_lr
    for i in range(max_attempts):
        used = lr  # the learning rate this attempt actually trains with (review S7)
        attempt = train(project, f"recovery-{i}", used, steps)
        attempts.append(attempt)
        if attempt.exit_code == 0:
            break
        lr = used * backoff
    recovered = attempts[-1].exit_code == 0
    return {
        "attempts": [asdict(a) for a in attempts],
        "recovered": recovered,
        "final_lr": attempts[-1].lr if recovered else None,
    }


def live_monitor(project: str, lr: float, steps: int, spike_at: int, poll_s: float = 0.2) -> dict:
    cursor = cli("list", "alerts", "--project", project)["last_id"] or 0
    name = "live-monitored"
    child = Child([sys.executable, str(SIMULATOR), "--project", project, "--name", name, "--lr", repr(lr),
                   "--steps", str(steps), "--sleep", "0.02", "--spike-at-step", str(spike_at),
                   "--patience", str(steps)])  # fmt: skip
    seen: list[dict] = []
    stopped_for = None
    deadline = time.monotonic() + 300
    while child.poll() is None and time.monotonic() < deadline:
        page = cli("list", "alerts", "--project", project, "--after-id", str(cursor))
        cursor = page["last_id"] or cursor
        for alert in page["alerts"]:
            if alert["run"] != name:
                continue
            seen.append({"id": alert["id"], "step": alert["step"], "reason": (alert["data"] or {}).get("reason")})
            if stopped_for is None and (alert["data"] or {}).get("reason") == "spike":
                cli("stop", "--project", project, "--run", alert["run_id"])
                stopped_for = alert["step"]
        time.sleep(poll_s)
    code = child.wait(timeout=60)
    attempt = describe(project, name, lr, code)
    return {"attempt": asdict(attempt), "alerts_seen": seen, "stopped_after_spike_at": stopped_for}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--project", default="autonomous")
    p.add_argument("--experiments", default=",".join(EXPERIMENTS), help="comma-separated names")
    p.add_argument("--quick", action="store_true", help="short runs (the README demo, the tests)")
    p.add_argument("--json", action="store_true", help="print the decisions as one JSON document")
    p.add_argument("--report", default=None, help="write an HTML report of the project here")
    args = p.parse_args(argv)
    chosen = [e.strip() for e in args.experiments.split(",") if e.strip()]
    unknown = sorted(set(chosen) - set(EXPERIMENTS))
    if unknown:
        p.error(f"unknown experiment(s): {', '.join(unknown)}; choose from {', '.join(EXPERIMENTS)}")
    steps = 60 if args.quick else 300
    decisions: dict[str, dict] = {}
    if "lr_search" in chosen:
        decisions["lr_search"] = lr_search(args.project, [0.3, 0.1, 0.03, 0.01], steps)
    if "failure_recovery" in chosen:
        decisions["failure_recovery"] = failure_recovery(args.project, 3.0, steps, backoff=0.5, max_attempts=5)
    if "live_monitor" in chosen:
        decisions["live_monitor"] = live_monitor(args.project, 0.1, 2000 if args.quick else 5000, spike_at=30)
    if args.report:
        decisions["report"] = cli("report", "--project", args.project, "-o", args.report)
    if args.json:
        print(json.dumps(decisions, indent=2))
        return 0
    _print_decisions(decisions)
    print(cli("best", "--project", args.project, "--metric", "val/loss", json_out=False))
    print(cli("summary", "--project", args.project, json_out=False))
    return 0


def _print_decisions(decisions: dict) -> None:
    if "lr_search" in decisions:
        d = decisions["lr_search"]
        print(f"lr_search: best learning rate {d['best_lr']} (run {d['best_run']}, val/loss {d['best_value']:.4g})")
    if "failure_recovery" in decisions:
        d = decisions["failure_recovery"]
        for a in d["attempts"]:
            why = f" ({', '.join(a['reasons'])})" if a["reasons"] else ""
            print(f"failure_recovery: lr {a['lr']:g} -> {a['outcome']}{why}, status {a['status']}")
        print(f"failure_recovery: {'recovered at lr ' + format(d['final_lr'], 'g') if d['recovered'] else 'gave up'}")
    if "live_monitor" in decisions:
        d = decisions["live_monitor"]
        print(
            f"live_monitor: spike at step {d['stopped_after_spike_at']} -> stop requested; "
            f"run ended: {d['attempt']['outcome']}, status {d['attempt']['status']}"
        )
    if "report" in decisions:
        print(f"report: {decisions['report']}")


if __name__ == "__main__":
    sys.exit(main())
