"""A refused init() loses nothing: the current run stays current, running, with its watchers."""

from __future__ import annotations

import pytest

import trackio_nb as tnb
from trackio_nb.errors import InvalidValue


@pytest.fixture
def current(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKIO_NB_DIR", str(tmp_path))
    monkeypatch.delenv("TRACKIO_NB_SERVER", raising=False)
    run = tnb.init("refusals", "first")
    tnb.watch("loss", max_value=10.0)
    yield run
    if tnb.current_run() is not None:
        tnb.finish()


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"server_url": "ftp://tracker"}, InvalidValue, "server URL must start with http:// or https://"),
        ({"server_url": 8080}, InvalidValue, "server URL must start with http:// or https://"),
        ({"dir": 3}, TypeError, "expected str, bytes or os.PathLike object, not int"),
        ({"dir": "a-file"}, FileExistsError, "a-file"),
        ({"name": 3}, InvalidValue, "run name must be a non-empty string"),
    ],
)
def test_a_refused_init_keeps_the_current_run(current, tmp_path, kwargs, error, message):
    if kwargs.get("dir") == "a-file":
        (tmp_path / "a-file").write_text("not a directory")
        kwargs = {"dir": str(tmp_path / "a-file")}
    with pytest.raises(error, match=message):
        tnb.init("refusals", **kwargs)
    assert tnb.current_run() is current
    assert current.status == "running"
    tnb.log({"loss": 50.0})  # the watcher registered before the refused call still fires
    assert tnb.should_stop() is True
    tnb.finish()
    view = tnb.Api().run("refusals", current.id)
    assert (view.status, view.final_metrics()) == ("finished", {"loss": 50.0})
    assert [a["data"]["reason"] for a in view.alerts()] == ["max_exceeded"]
