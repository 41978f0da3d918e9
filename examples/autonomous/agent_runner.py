"""An agent loop that runs experiments with no person watching, through the trackio-nb CLI.

    python examples/autonomous/agent_runner.py [--project autonomous] [--experiments lr_search,failure_recovery,live_monitor]

Experiments (chosen by name):
  lr_search         train at several learning rates, ask `best` which won
  failure_recovery  start too hot; on a NaN or diverged run, halve the learning rate and retry
  live_monitor      start a long run, poll `list alerts --after-id` while it trains, and stop it
                    with `trackio-nb stop` when a spike alert arrives

Every CLI call is `python -m trackio_nb ... --json` with this interpreter; every child's
output is drained while it runs, so a chatty child can never block on a full pipe.
Each invocation is one sweep: its runs share a new group (`sweep-<UTC time>`), are looked up
by the ids their processes print, and the report covers that sweep's runs. So the demo can
run again in the same data directory; `trackio-nb delete project --project autonomous --yes`
starts over.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
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

    def run_id(self, timeout: float = 60) -> str:
        """The id of the run the child opened (its first stdout line, `run_id <id>`)."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.out:
            if time.monotonic() > deadline or (self.poll() is not None and not self._readers[0].is_alive()):
                raise RuntimeError(
                    f"the simulator printed no run id: {bytes(self.err[-500:]).decode(errors='replace')}"
                )
            time.sleep(0.01)
        first = bytes(self.out).split(b"\n", 1)[0].decode()
        if not first.startswith("run_id "):
            raise RuntimeError(f"the simulator's first line is not its run id: {first!r}")
        return first.split()[1]

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


def simulate(project: str, sweep: str | None, name: str, lr: float, steps: int, *extra: str) -> Child:
    """Start the simulator as a child process (one run of the sweep)."""
    group = ["--group", sweep] if sweep else []
    return Child([sys.executable, str(SIMULATOR), "--project", project, "--name", name, "--lr", repr(lr),
                  "--steps", str(steps), *group, *extra])  # fmt: skip


def train(project: str, name: str, lr: float, steps: int, *extra: str, sweep: str | None = None) -> Attempt:
    """Run the simulator to the end and read back what the tracker stored about it."""
    child = simulate(project, sweep, name, lr, steps, *extra)
    code = child.wait(timeout=600)
    return describe(project, child.run_id(), lr, code)


def describe(project: str, run_id: str, lr: float, code: int) -> Attempt:
    run = cli("get", "run", "--project", project, "--run", run_id)
    alerts = cli("list", "alerts", "--project", project, "--run", run_id)["alerts"]
    reasons = sorted({a["data"]["reason"] for a in alerts if a["data"] and "reason" in a["data"]})
    return Attempt(run["run"], run_id, lr, code, EXIT_MEANING.get(code, f"exit {code}"), run["status"], reasons)


def lr_search(project: str, sweep: str, lrs: list[float], steps: int) -> dict:
    attempts = [train(project, f"search-lr{lr:g}", lr, steps, sweep=sweep) for lr in lrs]
    best = cli("best", "--project", project, "--metric", "val/loss", "--direction", "min")
    # `best` considers finished runs only; keep the ones this search made.
    mine = {a.run_id for a in attempts}
    ranking = [r for r in best["ranking"] if r["run_id"] in mine]
    winner = ranking[0]
    return {
        "attempts": [asdict(a) for a in attempts],
        "best_run": winner["run"],
        "best_run_id": winner["run_id"],
        "best_lr": winner["config"]["lr"],
        "best_value": winner["value"],
    }


def failure_recovery(project: str, sweep: str, start_lr: float, steps: int, backoff: float, max_attempts: int) -> dict:
    attempts: list[Attempt] = []
    lr = start_lr
    for i in range(max_attempts):
        used = lr  # the learning rate this attempt actually trains with (review S7)
        attempt = train(project, f"recovery-{i}", used, steps, sweep=sweep)
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


def live_monitor(project: str, sweep: str, lr: float, steps: int, spike_at: int, poll_s: float = 0.2) -> dict:
    cursor = (
        cli("list", "alerts", "--project", project)["last_id"] if project in cli("list", "projects")["projects"] else 0
    )
    child = simulate(project, sweep, "live-monitored", lr, steps, "--sleep", "0.02", "--spike-at-step", str(spike_at),
                     "--patience", str(steps))  # fmt: skip
    run_id = child.run_id()
    seen: list[dict] = []
    stopped_for = None
    deadline = time.monotonic() + 300
    while child.poll() is None and time.monotonic() < deadline:
        page = cli("list", "alerts", "--project", project, "--after-id", str(cursor))
        cursor = page["last_id"] or cursor
        for alert in page["alerts"]:
            if alert["run_id"] != run_id:
                continue
            seen.append({"id": alert["id"], "step": alert["step"], "reason": (alert["data"] or {}).get("reason")})
            if stopped_for is None and (alert["data"] or {}).get("reason") == "spike":
                cli("stop", "--project", project, "--run", alert["run_id"])
                stopped_for = alert["step"]
        time.sleep(poll_s)
    code = child.wait(timeout=60)
    attempt = describe(project, run_id, lr, code)
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
    sweep = "sweep-" + datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
    decisions: dict = {"project": args.project, "sweep": sweep}
    if "lr_search" in chosen:
        decisions["lr_search"] = lr_search(args.project, sweep, [0.3, 0.1, 0.03, 0.01], steps)
    if "failure_recovery" in chosen:
        decisions["failure_recovery"] = failure_recovery(args.project, sweep, 3.0, steps, backoff=0.5, max_attempts=5)
    if "live_monitor" in chosen:
        decisions["live_monitor"] = live_monitor(args.project, sweep, 0.1, 2000 if args.quick else 5000, spike_at=30)
    decisions["run_ids"] = sweep_run_ids(decisions)
    if args.report:
        runs = ",".join(decisions["run_ids"])
        title = f"{args.project}: {sweep}"
        decisions["report"] = cli(
            "report", "--project", args.project, "-o", args.report, "--runs", runs, "--title", title
        )
    if args.json:
        print(json.dumps(decisions, indent=2))
        return 0
    _print_decisions(decisions)
    print(cli("compare", "--project", args.project, "--runs", ",".join(decisions["run_ids"]), json_out=False))
    return 0


def sweep_run_ids(decisions: dict) -> list[str]:
    """The ids of the runs this invocation made, in the order it made them."""
    ids = [
        a["run_id"] for key in ("lr_search", "failure_recovery") if key in decisions for a in decisions[key]["attempts"]
    ]
    if "live_monitor" in decisions:
        ids.append(decisions["live_monitor"]["attempt"]["run_id"])
    return ids


def _print_decisions(decisions: dict) -> None:
    if "lr_search" in decisions:
        d = decisions["lr_search"]
        print(
            f"lr_search: best learning rate {d['best_lr']} "
            f"(run {d['best_run']}, id {d['best_run_id']}, val/loss {d['best_value']:.4g})"
        )
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
