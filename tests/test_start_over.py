"""Start over: delete a run or a project, rename and move runs; Api and CLI, local and on a real server."""

from __future__ import annotations

import json
import math
import textwrap

import numpy as np
import pytest

import trackio_nb as tnb
from tests.remote_support import HTTP, TOKEN, ServerProcess, spawn, wait_for_line
from trackio_nb.cli import main
from trackio_nb.errors import InvalidValue, ProjectNotFound, RunInProgress
from trackio_nb.storage.paths import project_files, project_path


def _seed(project: str = "p", capsys=None, **init) -> tuple[str, str]:
    """Two finished runs: `a` (numbers, NaN, text values, alerts, media) and `b`; returns their ids."""
    a = tnb.init(project, "a", config={"lr": 0.1, "layers": [2, 3]}, **init)
    for step in range(6):
        a.log({"loss": 1.0 / (step + 1), "acc": step / 10, "note": f"s{step}"})
    a.log({"loss": float("nan")}, step=6)
    a.alert("first", "text one", level="info", data={"k": [1, 2]})
    a.alert("second", level="error", data={"n": 2})
    if "server_url" not in init:
        a.log({"img": tnb.Image(np.full((2, 2, 3), 7, dtype=np.uint8)), "md": tnb.Markdown("# hi")}, step=7)
    a.finish()
    b = tnb.init(project, "b", config={"lr": 0.2}, **init)
    b.log({"loss": 5.0})
    b.alert("b alert")
    b.finish()
    if capsys is not None:
        capsys.readouterr()  # the alerts' lines on stderr
    return a.id, b.id


def _snapshot(view) -> dict:
    """Everything a reader sees of a run, except alert ids (a moved run's alerts get the destination's ids)."""
    history = view.history()
    return {
        "id": view.id,
        "name": view.name,
        "status": view.status,
        "config": view.config,
        "created_at": view.created_at,
        "finished_at": view.finished_at,
        "metrics": view.metrics(),
        "history": history.with_columns(history["loss"].fill_nan(-1.0)).rows(),
        "final": {m: (None if v is None or math.isnan(v) else v) for m, v in view.final_metrics().items()},
        "min": view.final_metrics("min"),
        "max": view.final_metrics("max"),
        "alerts": [{k: v for k, v in a.items() if k != "id"} for a in view.alerts()],
    }


def test_delete_run_removes_it_from_every_reader(data_dir, capsys):
    a_id, b_id = _seed(capsys=capsys)
    media_file = tnb.Api().run("p", "a").media("img")[0]["path"]
    api = tnb.Api()
    assert api.delete_run("p", "a") == {
        "project": "p",
        "run": "a",
        "run_id": a_id,
        "deleted": True,
        "runs": 1,
        "points": 6 * 3 + 1,  # loss, acc (numbers) and note (text) for 6 steps, and the NaN
        "alerts": 2,
    }
    assert [v.id for v in api.runs("p")] == [b_id]
    with pytest.raises(LookupError, match="project 'p' has no run named or with id 'a'"):
        api.run("p", "a")
    assert [a["title"] for a in api.alerts("p")] == ["b alert"]
    assert api.run("p", "b").metrics() == ["loss"]
    fresh = tnb.Api()  # and a reader opened afterwards
    assert [v.name for v in fresh.runs("p")] == ["b"]
    assert not (data_dir / media_file).exists()  # the image only run a used is gone
    assert main(["list", "runs", "--project", "p", "--json"]) == 0
    assert [r["run"] for r in json.loads(capsys.readouterr().out)["runs"]] == ["b"]


def test_run_view_delete_and_a_name_shared_by_two_runs(data_dir):
    tnb.init("p", "same").finish()
    second = tnb.init("p", "same")
    second.finish()
    with pytest.raises(LookupError, match="2 runs in 'p' are named 'same'"):
        tnb.Api().delete_run("p", "same")
    held = tnb.Api().run("p", second.id).delete()
    assert (held["run_id"], held["points"], held["alerts"]) == (second.id, 0, 0)
    assert [v.name for v in tnb.Api().runs("p")] == ["same"]
    tnb.Api().delete_run("p", "same")  # unique now
    assert tnb.Api().runs("p") == []


def test_delete_project_removes_its_files_and_stale_readers_notice(data_dir, capsys):
    _seed(capsys=capsys)
    _seed("other", capsys)
    stale = tnb.Api()
    assert [v.name for v in stale.runs("p")] == ["a", "b"]  # this reader holds a connection to p.db
    (data_dir / "p.rejected.jsonl").write_text("{}\n")  # what the writer keeps of refused rows
    before = {p.name for p in project_files("p") if p.exists()}
    assert {"p.db", "p.db-wal", "p.db-shm", "p.media", "p.rejected.jsonl"} <= before
    assert tnb.Api().delete_project("p") == {"project": "p", "deleted": True, "runs": 2, "points": 20, "alerts": 3}
    assert [p for p in project_files("p") if p.exists()] == []
    assert sorted(path.name for path in data_dir.iterdir()) == sorted(
        p.name for p in project_files("other") if p.exists()
    )
    assert tnb.Api().projects() == ["other"]
    with pytest.raises(ProjectNotFound, match="no project named 'p'"):
        stale.runs("p")
    assert main(["list", "projects", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"projects": ["other"]}
    # Starting over: the same name is a new, empty project; the stale reader sees the new one.
    new = tnb.init("p", "again")
    new.finish()
    assert [v.id for v in stale.runs("p")] == [new.id]


def test_rename_keeps_the_id_and_everything_logged(data_dir):
    _seed()
    view = tnb.Api().run("p", "a")
    before = _snapshot(view)
    assert view.rename("renamed") is view and view.name == "renamed"
    after = tnb.Api().run("p", "renamed")
    assert _snapshot(after) == {
        **before,
        "name": "renamed",
        "alerts": [{**a, "run": "renamed"} for a in before["alerts"]],
    }
    with pytest.raises(LookupError):
        tnb.Api().run("p", "a")
    with pytest.raises(InvalidValue, match="run name must be a non-empty string, got ' '"):
        after.rename(" ")
    assert tnb.Api().run("p", after.id).name == "renamed"


def test_a_running_run_may_be_renamed(data_dir):
    run = tnb.init("p", "live")
    tnb.Api().run("p", "live").rename("still-live")
    run.log({"x": 1.0})
    run.finish()
    view = tnb.Api().run("p", run.id)
    assert (view.name, view.status, view.final_metrics()) == ("still-live", "finished", {"x": 1.0})


def test_move_keeps_id_config_points_text_alerts_summaries_and_media(data_dir):
    a_id, b_id = _seed()
    # The destination exists with metrics in another order, so its metric keys differ from the source's.
    dest = tnb.init("q", "resident")
    dest.log({"zeta": 1.0, "acc": 0.5, "note": "x"})
    dest.finish()
    view = tnb.Api().run("p", "a")
    before = _snapshot(view)
    media_before = view.media()
    assert view.move("q") is view and view.project == "q"
    moved = tnb.Api().run("q", a_id)
    assert _snapshot(moved) == before
    media_after = moved.media()
    assert [{k: v for k, v in m.items() if k != "path"} for m in media_after] == [
        {k: v for k, v in m.items() if k != "path"} for m in media_before
    ]
    image = next(m for m in media_after if m["kind"] == "image")
    assert image["path"].startswith(str(data_dir / "q.media")) and (data_dir / image["path"]).exists()
    assert not (data_dir / next(m for m in media_before if m["kind"] == "image")["path"]).exists()
    assert [v.id for v in tnb.Api().runs("p")] == [b_id]
    assert [v.name for v in tnb.Api().runs("q")] == ["a", "resident"]  # oldest first: a was created earlier
    assert tnb.Api().run("q", "resident").final_metrics() == {"acc": 0.5, "zeta": 1.0}
    alert_ids = [a["id"] for a in tnb.Api().alerts("q")]
    assert alert_ids == sorted(alert_ids) and len(alert_ids) == 2


def test_move_creates_the_destination_and_refuses_what_it_cannot_do(data_dir):
    a_id, _ = _seed()
    assert "fresh" not in tnb.Api().projects()
    held = tnb.Api().run("p", "a").move("fresh")
    assert (held.project, held.id) == ("fresh", a_id)
    assert tnb.Api().projects() == ["fresh", "p"]
    with pytest.raises(InvalidValue, match=f"run '{a_id}' is already in project 'fresh'"):
        tnb.Api().run("fresh", a_id).move("fresh")
    with pytest.raises(ValueError, match="project name must not be empty"):
        tnb.Api().run("fresh", a_id).move(" ")
    live = tnb.init("p", "live")
    with pytest.raises(RunInProgress, match=r"cannot move run 'live' .* to project 'q': run 'live'"):
        tnb.Api().run("p", "live").move("q")
    live.finish()
    assert "q" not in tnb.Api().projects()  # a refused move creates no destination


LIVE_CLIENT = textwrap.dedent(
    """
    import sys, trackio_nb as tnb
    run = tnb.init("p", "live")
    run.log({"loss": 1.0})
    run.flush()
    print("id", run.id, flush=True)
    sys.stdin.readline()
    run.log({"loss": 0.5})
    tnb.finish()
    print("done", flush=True)
    """
)


def test_a_run_another_process_is_logging_to_is_never_deleted(data_dir, tmp_path, capsys):
    _seed(capsys=capsys)
    proc, out, err = spawn(LIVE_CLIENT, {"TRACKIO_NB_DIR": str(data_dir)}, tmp_path, "live")
    run_id = wait_for_line(out, "id ", proc).split()[1]
    message = (
        f"cannot delete run 'live' (id {run_id}): run 'live' (id {run_id}) of project 'p' is still running;"
        " finish it (or stop it with `trackio-nb stop`) and try again once it has ended"
    )
    with pytest.raises(RunInProgress) as refused:
        tnb.Api().delete_run("p", "live")
    assert str(refused.value) == message
    with pytest.raises(RunInProgress, match=f"cannot delete project 'p': run 'live' \\(id {run_id}\\)"):
        tnb.Api().delete_project("p")
    assert main(["delete", "run", "--project", "p", "--run", "live", "--yes"]) == 1
    assert capsys.readouterr() == ("", f"trackio-nb: error: {message}\n")
    proc.stdin.write("go\n")
    proc.stdin.flush()
    assert proc.wait(30) == 0, err.read_text()
    view = tnb.Api().run("p", run_id)  # nothing of it was lost meanwhile
    assert (view.status, view.history("loss")["loss"].to_list()) == ("finished", [1.0, 0.5])
    assert tnb.Api().delete_run("p", run_id)["points"] == 2


# -- the CLI ------------------------------------------------------------------------------------


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_delete_asks_for_yes_and_deletes_nothing_without_it(data_dir, capsys):
    a_id, b_id = _seed(capsys=capsys)
    assert _cli(capsys, "delete", "run", "--project", "p", "--run", "a") == (
        1,
        "",
        f"trackio-nb: error: not deleted: run 'a' (id {a_id}) of project 'p' holds 19 points, 2 alerts;"
        " pass --yes to delete it\n",
    )
    code, out, err = _cli(capsys, "delete", "project", "--project", "p", "--json")
    assert (code, json.loads(out), out.count("\n"), err) == (
        1,
        {"project": "p", "deleted": False, "runs": 2, "points": 20, "alerts": 3},
        1,
        "trackio-nb: error: not deleted: project 'p' holds 2 runs, 20 points, 3 alerts; pass --yes to delete it\n",
    )
    code, out, err = _cli(capsys, "delete", "run", "--project", "p", "--run", "a", "--json")
    assert (code, json.loads(out), err) == (
        1,
        {"project": "p", "run": "a", "run_id": a_id, "deleted": False, "runs": 1, "points": 19, "alerts": 2},
        f"trackio-nb: error: not deleted: run 'a' (id {a_id}) of project 'p' holds 19 points, 2 alerts;"
        " pass --yes to delete it\n",
    )
    assert [v.id for v in tnb.Api().runs("p")] == [a_id, b_id]
    assert _cli(capsys, "delete", "run", "--project", "p", "--run", "a", "--yes") == (
        0,
        f"deleted run 'a' (id {a_id})\nof project 'p'\n19 points, 2 alerts\n",
        "",
    )
    code, out, err = _cli(capsys, "delete", "project", "--project", "p", "--yes", "--json")
    assert (code, json.loads(out), err) == (
        0,
        {"project": "p", "deleted": True, "runs": 1, "points": 1, "alerts": 1},
        "",
    )
    assert _cli(capsys, "delete", "project", "--project", "p", "--yes") == (
        1,
        "",
        f"trackio-nb: error: no project named 'p' in {data_dir}\n",
    )
    assert _cli(capsys, "delete", "run", "--project", "x")[0] == 2  # --run is required


def test_cli_rename_and_move(data_dir, capsys):
    a_id, _ = _seed(capsys=capsys)
    code, out, err = _cli(capsys, "rename", "run", "--project", "p", "--run", "a", "--to", "best", "--json")
    assert (code, json.loads(out), err) == (
        0,
        {"project": "p", "run_id": a_id, "run": "best", "previous_name": "a"},
        "",
    )
    assert _cli(capsys, "move", "run", "--project", "p", "--run", "best", "--to-project", "keep") == (
        0,
        f"moved run 'best' (id {a_id})\nfrom project 'p'\nto project 'keep'\n19 points, 2 alerts\n",
        "",
    )
    code, out, _ = _cli(capsys, "list", "runs", "--project", "keep", "--json")
    assert [(r["id"], r["run"]) for r in json.loads(out)["runs"]] == [(a_id, "best")]
    assert _cli(capsys, "rename", "run", "--project", "keep", "--run", "nope", "--to", "x") == (
        1,
        "",
        "trackio-nb: error: project 'keep' has no run named or with id 'nope'\n",
    )


def test_cli_human_output_fits_the_terminal(data_dir, capsys, monkeypatch):
    long_project, long_run = "project-" + "p" * 70, "run-" + "r" * 80
    run = tnb.init(long_project, long_run)
    run.log({"x": 1.0})
    run.finish()
    monkeypatch.setenv("COLUMNS", "60")
    outputs = [
        _cli(capsys, "rename", "run", "--project", long_project, "--run", long_run, "--to", long_run + "-2"),
        _cli(capsys, "move", "run", "--project", long_project, "--run", run.id, "--to-project", long_project + "-b"),
        _cli(capsys, "delete", "run", "--project", long_project + "-b", "--run", run.id, "--yes"),
        _cli(capsys, "delete", "project", "--project", long_project, "--yes"),
    ]
    assert [code for code, _, _ in outputs] == [0, 0, 0, 0]
    lines = [line for _, out, _ in outputs for line in out.splitlines()]
    assert len(lines) == 3 + 4 + 3 + 2 and max(map(len, lines)) <= 60, lines
    assert lines[0] == f"renamed run 'run-rrrrrrrrrr…rrrrrrrrrrrrr' (id {run.id})"
    assert lines[-2:] == ["deleted project 'project-ppppppppppppp…pppppppppppppppppppp'", "0 runs, 0 points, 0 alerts"]


# -- on a tracking server -----------------------------------------------------------------------


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(request, tmp_path_factory):
    """A server over SQLite files, then one over PostgreSQL: the same answers from both."""
    database = request.getfixturevalue("postgres").new_database("startover") if request.param == "postgres" else None
    proc = ServerProcess(tmp_path_factory.mktemp("start-over") / "server", database=database).start()
    yield proc
    proc.stop()


def test_remote_delete_rename_move_through_api_and_cli(server, data_dir, capsys):
    remote = {"server_url": server.url, "token": TOKEN}
    a_id, b_id = _seed("rp", capsys, **remote)
    api = tnb.Api(server.url, TOKEN)
    before = _snapshot(api.run("rp", "a"))
    flags = ["--server", server.url, "--token", TOKEN]
    assert _cli(capsys, "delete", "run", "--project", "rp", "--run", "b", *flags)[0] == 1  # no --yes
    code, out, err = _cli(capsys, "delete", "run", "--project", "rp", "--run", "b", "--yes", "--json", *flags)
    assert (code, json.loads(out), err) == (
        0,
        {"project": "rp", "run": "b", "run_id": b_id, "deleted": True, "runs": 1, "points": 1, "alerts": 1},
        "",
    )
    assert [v.id for v in api.runs("rp")] == [a_id]
    for path, body in [
        ("runs/delete", {"project": "rp", "run_id": a_id}),
        ("runs/rename", {"project": "rp", "run_id": a_id, "name": "x"}),
        ("runs/move", {"project": "rp", "run_id": a_id, "to_project": "x"}),
        ("projects/delete", {"project": "rp"}),
    ]:  # every start-over endpoint needs the write token
        assert HTTP.post(f"{server.url}/api/v1/{path}", json=body).status_code == 401
    assert [(v.id, v.name) for v in api.runs("rp")] == [(a_id, "a")]
    code, out, _ = _cli(capsys, "list", "runs", "--project", "rp", "--json", *flags)
    assert [(r["id"], r["run"]) for r in json.loads(out)["runs"]] == [(a_id, "a")]
    api.run("rp", "a").rename("ra")
    assert _cli(capsys, "move", "run", "--project", "rp", "--run", "ra", "--to-project", "rq", *flags)[0] == 0
    moved = api.run("rq", a_id)
    assert _snapshot(moved) == {**before, "name": "ra", "alerts": [{**a, "run": "ra"} for a in before["alerts"]]}
    assert api.runs("rp") == []
    assert api.delete_project("rp") == {"project": "rp", "deleted": True, "runs": 0, "points": 0, "alerts": 0}
    assert "rp" not in api.projects()
    code, out, _ = _cli(capsys, "list", "projects", "--json", *flags)
    assert "rp" not in json.loads(out)["projects"] and "rq" in json.loads(out)["projects"]
    assert not project_path("rp", server.root).exists()
    with pytest.raises(ProjectNotFound, match="no project named 'rp' on this server"):
        api.delete_project("rp")
    with pytest.raises(InvalidValue, match=r"run name 'a\\nb' holds control characters"):
        moved.rename("a\nb")
    # The server applies the same rule to what any client sends.
    reply = HTTP.post(
        f"{server.url}/api/v1/runs/rename",
        json={"project": "rq", "run_id": a_id, "name": " "},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert (reply.status_code, reply.json()["error"]) == (400, "run name must be a non-empty string, got ' '")
    assert api.run("rq", a_id).name == "ra"
    assert not data_dir.exists() or list(data_dir.glob("*.db")) == []  # nothing local in remote mode


def test_remote_live_run_is_refused_and_its_project_can_be_reused(server, data_dir):
    api = tnb.Api(server.url, TOKEN)
    run = tnb.init("rlive", "r", server_url=server.url, token=TOKEN)
    run.log({"x": 1.0})
    run.flush()
    with pytest.raises(RunInProgress, match=r"cannot delete run 'r' \(id .*\) of project 'rlive' is still running"):
        api.delete_run("rlive", run.id)
    with pytest.raises(RunInProgress, match="cannot move run 'r'"):
        api.run("rlive", run.id).move("elsewhere")
    run.finish()
    assert api.delete_project("rlive")["points"] == 1
    again = tnb.init("rlive", "r2", server_url=server.url, token=TOKEN)  # the server opens the project afresh
    again.log({"y": 2.0})
    again.finish()
    assert [(v.name, v.final_metrics()) for v in api.runs("rlive")] == [("r2", {"y": 2.0})]
