"""alert(): stored data, steps and ids, validation, the stderr line, and webhooks on 127.0.0.1."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import trackio_nb as tnb
from tests.conftest import run_python
from trackio_nb import webhooks
from trackio_nb.enums import AlertLevel
from trackio_nb.errors import InvalidValue
from trackio_nb.storage.records import AlertRecord

NESTED = {
    "metric": "loss",
    "nested": {"list": [1, 2.5, "x", None, True, False, {"deep": [[], {}]}], "empty": {}},
    "unicode": "ü → ✓",
    "big": 2**53 + 1,
    "negative": -0.125,
}


def stored(run: tnb.Run, **filters) -> list[dict]:
    run.flush()
    return tnb.Api().alerts(run.project, run=run.id, **filters)


# -- storing --------------------------------------------------------------------------------


def test_alert_data_round_trips_nested_objects_exactly():
    run = tnb.init("alerts-data")
    tnb.alert("before any log")
    tnb.log({"loss": 1.0})
    tnb.log({"loss": 0.5})
    tnb.alert("nested", "with data", data=NESTED)
    run.log({"loss": 0.4}, step=10)
    run.alert("third", level="ERROR")
    alerts = stored(run)
    assert [a["title"] for a in alerts] == ["before any log", "nested", "third"]
    assert [a["step"] for a in alerts] == [None, 1, 10]
    assert [a["level"] for a in alerts] == ["warn", "warn", "error"]
    ids = [a["id"] for a in alerts]
    assert ids == sorted(ids) and len(set(ids)) == 3
    assert alerts[1]["data"] == NESTED
    assert alerts[1]["text"] == "with data"
    assert alerts[0]["data"] is None and alerts[0]["text"] is None
    assert tnb.Api().alerts("alerts-data", after_id=ids[1]) == [alerts[2]]


def test_non_finite_numbers_in_alert_data_are_stored_spelled_as_every_json_spells_them():
    """SPEC: NaN and ±Inf are "NaN", "Infinity", "-Infinity" in every JSON, alert data included."""
    run = tnb.init("alerts-nan-data")
    data = {"loss": float("nan"), "nested": {"hi": [float("inf"), -float("inf"), 1.5]}, "ok": "NaN"}
    tnb.alert("loss exploded", data=data)
    run.flush()
    [alert] = tnb.Api().alerts("alerts-nan-data")
    assert alert["data"] == {"loss": "NaN", "nested": {"hi": ["Infinity", "-Infinity", 1.5]}, "ok": "NaN"}
    assert data["loss"] != data["loss"]  # the caller's dict is left as it was
    tnb.finish()


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"data": [1, 2]}, InvalidValue, "data must be a dict"),
        ({"data": {"s": {1, 2}}}, InvalidValue, "JSON-serialisable"),
        ({"data": {1: "a"}}, InvalidValue, "non-string key 1"),
        ({"data": {"outer": [{2: "b"}]}}, InvalidValue, r"data\['outer'\]\[0\] has a non-string key 2"),
        ({"data": {"o": object()}}, InvalidValue, "JSON-serialisable"),
        ({"title": 5}, InvalidValue, "title must be a string"),
        ({"title": "  "}, InvalidValue, "title must not be empty"),
        ({"text": 3}, InvalidValue, "text must be a string or None"),
        ({"level": "fatal"}, InvalidValue, "level must be one of info, warn, error"),
        ({"level": 2}, InvalidValue, "level must be an AlertLevel or a string"),
        ({"webhook_url": "ftp://example.invalid/x"}, ValueError, "webhook_url must be an http"),
    ],
)
def test_bad_alert_arguments_are_clear_errors_and_store_nothing(kwargs, error, message):
    run = tnb.init("alerts-bad")
    args = {"title": "t", **kwargs}
    with pytest.raises(error, match=message):
        tnb.alert(**args)
    assert stored(run) == []


def test_alert_on_a_finished_run_raises_instead_of_dropping_it():
    run = tnb.init("alerts-finished")
    run.finish()
    with pytest.raises(RuntimeError, match="is finished; its alerts can no longer be stored"):
        run.alert("too late")
    assert tnb.Api().alerts("alerts-finished") == []


def test_alert_before_init_raises():
    with pytest.raises(RuntimeError, match=r"init\(project\) first"):
        tnb.alert("nothing to attach to")


# -- the stderr line ------------------------------------------------------------------------


def test_each_alert_prints_one_plain_line_when_stderr_is_not_a_terminal(capfd):
    run = tnb.init("alerts-print", name="printer")
    tnb.watch("loss", max_value=1.0)
    tnb.log({"loss": 0.5})
    tnb.alert("manual", "two\nlines", level=AlertLevel.INFO)
    tnb.log({"loss": 2.0})
    tnb.log({"loss": 3.0})  # same excursion: no second alert, no second line
    run.flush()
    out, err = capfd.readouterr()
    assert out == ""
    assert err.splitlines() == [
        "[trackio_nb INFO] printer @ step 0: manual — two lines",
        "[trackio_nb ERROR] printer @ step 1: loss above max_value — loss = 2 > max_value 1",
    ]


def test_control_characters_in_the_line_show_as_replacement_characters_as_in_the_cli(capfd):
    """A title or text with ESC, CR or a C1 code cannot clear or rewrite the terminal (same rule as the CLI)."""
    run = tnb.init("alerts-controls", name="ctl")
    tnb.alert("\x1b[2Jwiped\rover", "c1 \x9b31m\x07 bell\nnext line", level="warn")
    run.flush()
    out, err = capfd.readouterr()
    assert out == ""
    assert err.splitlines() == ["[trackio_nb WARN] ctl: \ufffd[2Jwiped\ufffdover — c1 \ufffd31m\ufffd bell next line"]
    assert tnb.Api().alerts("alerts-controls")[0]["title"] == "\x1b[2Jwiped\rover"  # stored as given
    tnb.finish()


def test_the_line_is_coloured_when_stderr_is_a_terminal(data_dir):
    code = (
        "import trackio_nb as tnb\n"
        "tnb.init('alerts-tty', name='tty')\n"
        "tnb.log({'loss': 1.0})\n"
        "tnb.alert('boom', 'detail', level='error')\n"
        "tnb.alert('note', level='info')\n"
        "tnb.finish()\n"
    )
    main, child = pty.openpty()
    env = {**os.environ, "TRACKIO_NB_DIR": str(data_dir)}
    proc = subprocess.Popen([sys.executable, "-c", code], stderr=child, stdout=subprocess.DEVNULL, env=env)
    os.close(child)
    chunks = []
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:  # EIO: the child closed its end of the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(main)
    assert proc.wait(timeout=60) == 0
    lines = b"".join(chunks).decode().splitlines()
    assert lines == [
        "\x1b[1;31m[trackio_nb ERROR]\x1b[0m tty @ step 0: boom\x1b[2m — detail\x1b[0m",
        "\x1b[36m[trackio_nb INFO]\x1b[0m tty @ step 0: note\x1b[2m\x1b[0m",
    ]


# -- webhooks -------------------------------------------------------------------------------


class Hook:
    """A real HTTP server on 127.0.0.1 that records each POST's path and JSON body."""

    def __init__(self, status: int = 200, hold: bool = False, first_reply_after: float = 0.0) -> None:
        self.status = status
        self.hold = hold
        self.first_reply_after = first_reply_after
        self.bodies: list[dict] = []
        self.received = threading.Event()
        self.release = threading.Event()
        self.answered = threading.Event()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers["Content-Length"])
                hook.bodies.append({"path": self.path, "body": json.loads(self.rfile.read(length))})
                hook.received.set()
                if hook.hold:
                    hook.release.wait(10)
                elif len(hook.bodies) == 1 and hook.first_reply_after:
                    hook.release.wait(hook.first_reply_after)
                self.send_response(hook.status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                hook.answered.set()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook():
    server = Hook()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def fresh_sender(monkeypatch):
    """Each test gets its own webhook sender, so 'reported once' starts afresh."""
    monkeypatch.setattr(webhooks, "_sender", None)
    monkeypatch.delenv("TRACKIO_NB_WEBHOOK_URL", raising=False)
    monkeypatch.delenv("TRACKIO_NB_WEBHOOK_MIN_LEVEL", raising=False)


def delivered(hook: Hook) -> list[dict]:
    assert webhooks.sender().drain(10)
    return [entry["body"] for entry in hook.bodies]


def test_run_webhook_receives_the_alert_as_json(hook):
    run = tnb.init("alerts-hook", name="hooked", webhook_url=hook.url)
    tnb.log({"loss": 1.0})
    tnb.alert("manual", "text here", data={"k": [1, {"v": "w"}]})
    bodies = delivered(hook)
    stored_alert = stored(run)[0]
    assert bodies == [
        {
            "project": "alerts-hook",
            "run": "hooked",
            "level": "warn",
            "title": "manual",
            "text": "text here",
            "step": 0,
            "timestamp": stored_alert["timestamp"],
            "data": {"k": [1, {"v": "w"}]},
        }
    ]
    assert hook.bodies[0]["path"] == "/hook"


def test_webhook_min_level_filters_the_runs_webhook_and_watcher_alerts_go_too(hook):
    run = tnb.init("alerts-hook-level", webhook_url=hook.url, webhook_min_level="error")
    tnb.watch("loss")
    tnb.alert("just a warning")
    tnb.alert("info", level="info")
    tnb.log({"loss": float("nan")})
    tnb.alert("explicit", webhook_url=hook.url + "/direct")  # its own URL: sent whatever its level
    bodies = delivered(hook)
    assert [(b["level"], b["title"]) for b in bodies] == [("error", "loss is NaN"), ("warn", "explicit")]
    assert bodies[0]["data"] == {"metric": "loss", "value": "NaN", "step": 0, "reason": "nan_inf"}
    assert [entry["path"] for entry in hook.bodies] == ["/hook", "/hook/direct"]
    assert len(stored(run)) == 4


def test_webhook_from_the_environment(hook, monkeypatch):
    monkeypatch.setenv("TRACKIO_NB_WEBHOOK_URL", hook.url)
    monkeypatch.setenv("TRACKIO_NB_WEBHOOK_MIN_LEVEL", "warn")
    tnb.init("alerts-hook-env")
    tnb.alert("quiet", level="info")
    tnb.alert("loud", level="warn")
    assert [b["title"] for b in delivered(hook)] == ["loud"]


def test_no_webhook_no_thread(hook):
    tnb.init("alerts-no-hook")
    tnb.alert("local only")
    assert webhooks._sender is None
    assert hook.bodies == []


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"webhook_url": "not a url"}, ValueError, "webhook_url must be an http:// or https:// URL"),
        ({"webhook_url": 5}, TypeError, "webhook_url must be a string"),
        ({"webhook_url": "http://127.0.0.1:9/x", "webhook_min_level": "loud"}, ValueError, "webhook_min_level: level"),
    ],
)
def test_bad_webhook_settings_fail_init_before_a_run_exists(kwargs, error, message):
    with pytest.raises(error, match=message):
        tnb.init("alerts-hook-bad", **kwargs)
    assert tnb.current_run() is None
    assert "alerts-hook-bad" not in tnb.Api().projects()


def test_a_script_that_exits_right_after_its_alerts_still_delivers_them(data_dir):
    slow_first = Hook(first_reply_after=0.8)  # the second post waits behind the first at exit
    try:
        code = (
            "import trackio_nb as tnb\n"
            f"tnb.init('alerts-hook-exit', name='short', webhook_url={slow_first.url!r})\n"
            "tnb.alert('one', level='error')\n"
            "tnb.alert('two', level='error')\n"
            "tnb.finish()\n"
        )
        result = run_python(code, data_dir)
    finally:
        slow_first.close()
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert [(b["body"]["run"], b["body"]["title"]) for b in slow_first.bodies] == [("short", "one"), ("short", "two")]


def test_alert_returns_while_the_webhook_is_still_answering():
    slow = Hook(hold=True)
    try:
        run = tnb.init("alerts-hook-slow", webhook_url=slow.url)
        tnb.alert("first")
        tnb.log({"loss": 1.0})
        assert slow.received.wait(10)
        assert not slow.answered.is_set()  # alert() and log() returned; the server has not answered yet
        assert run.should_stop() is False
        slow.release.set()
        assert webhooks.sender().drain(10)
        assert slow.answered.is_set()
    finally:
        slow.close()


def test_a_failing_webhook_is_reported_once_and_training_goes_on(capfd):
    failing = Hook(status=500)
    try:
        run = tnb.init("alerts-hook-500", webhook_url=failing.url)
        for i in range(3):
            tnb.log({"loss": float(i)})
            tnb.alert(f"alert {i}")
        assert webhooks.sender().drain(10)
        assert len(failing.bodies) == 3
    finally:
        failing.close()
    assert [a["title"] for a in stored(run)] == ["alert 0", "alert 1", "alert 2"]
    err = capfd.readouterr().err
    host = failing.url.split("/")[2]
    reports = [line for line in err.splitlines() if "webhook" in line]
    assert reports == [
        f"trackio_nb: alert webhook to {host} failed (HTTPError: HTTP Error 500: Internal Server Error); "
        "alerts are still stored, further failures of this webhook are not reported"
    ]


def test_an_unreachable_webhook_is_reported_once(capfd):
    closed = Hook()
    url = closed.url
    closed.close()  # nothing listens on that port any more
    tnb.init("alerts-hook-refused", webhook_url=url)
    tnb.alert("one")
    tnb.alert("two")
    assert webhooks.sender().drain(10)
    reports = [line for line in capfd.readouterr().err.splitlines() if "webhook" in line]
    assert len(reports) == 1
    assert "ConnectionRefusedError" in reports[0] or "URLError" in reports[0]


def test_a_webhook_that_never_answers_times_out_and_is_reported(capfd):
    silent = Hook(hold=True)
    try:
        sender = webhooks.Sender(timeout=0.3)
        sender.deliver(silent.url, {"text": "x"})
        assert sender.drain(10)
        assert silent.received.is_set() and not silent.answered.is_set()
    finally:
        silent.close()
    reports = [line for line in capfd.readouterr().err.splitlines() if "webhook" in line]
    assert len(reports) == 1
    assert "timed out" in reports[0]


# -- payload shapes -------------------------------------------------------------------------

RECORD = AlertRecord(1767225600.0, 12, "error", "loss is nan", "loss = nan at step 12", '{"reason": "nan_inf"}')


def test_slack_payload_shape():
    url = "https://hooks.slack.com/services/T000/B000/XXXX"
    assert webhooks.kind_of(url) == "slack"
    assert webhooks.payload_for(url, RECORD, "proj", "run-a") == {
        "text": "[ERROR] loss is nan (proj / run-a @ step 12)",
        "blocks": [
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": ":rotating_light: *[ERROR] loss is nan*\nloss = nan at step 12"},
            },
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "proj / run-a @ step 12"}]},
        ],
    }


def test_discord_payload_shape():
    url = "https://discord.com/api/webhooks/123/abc"
    assert webhooks.kind_of(url) == "discord"
    assert webhooks.kind_of("https://discord.com/channels/1") == "json"
    assert webhooks.payload_for(url, RECORD, "proj", "run-a") == {
        "embeds": [
            {
                "title": "[ERROR] loss is nan",
                "color": 0xE74C3C,
                "footer": {"text": "proj / run-a @ step 12"},
                "timestamp": "2026-01-01T00:00:00Z",
                "description": "loss = nan at step 12",
            }
        ]
    }
