"""`run.config` / `tnb.config`: every change is stored and a fresh reader sees it; conversions; refusals."""

from __future__ import annotations

import argparse
import copy
import enum
import json
import math
import pickle
import threading
from pathlib import Path

import numpy as np
import pytest

import trackio_nb as tnb
from tests.conftest import run_python
from tests.remote_support import TOKEN, ServerProcess
from trackio_nb.errors import InvalidValue
from trackio_nb.run_config import Config


def _stored(project: str = "cfg", run: str = "r") -> dict:
    """The config as a fresh reader (a new Api over the data directory) sees it."""
    return tnb.Api().run(project, run).config


def _set_attr(c):
    c.lr = 0.5


def _del_attr(c):
    del c.bs


def _update_namespace(c):
    c.update(argparse.Namespace(lr=0.4, seed=3))


def _ior(c):
    c |= {"lr": 0.2, "new": [1, 2]}


def _setdefault_new(c):
    assert c.setdefault("momentum", 0.9) == 0.9


def _setdefault_existing(c):
    assert c.setdefault("lr", 7) == 0.1


def _pop(c):
    assert c.pop("bs") == 8


def _pop_missing_with_default(c):
    assert c.pop("nope", "d") == "d"


def _popitem(c):
    assert c.popitem() == ("opt", "adam")  # the last key set, as dict.popitem()


def _del_item(c):
    del c["lr"]


def _clear(c):
    c.clear()


def _update_kwargs(c):
    c.update({"lr": 0.3}, epochs=2)


def _update_pairs(c):
    c.update([("bs", 16), ("seed", 1)])


def _set_item(c):
    c["lr"] = 0.01


START = {"lr": 0.1, "bs": 8, "opt": "adam"}
OPERATIONS = [
    (_set_item, {"lr": 0.01, "bs": 8, "opt": "adam"}),
    (_set_attr, {"lr": 0.5, "bs": 8, "opt": "adam"}),
    (_update_kwargs, {"lr": 0.3, "bs": 8, "opt": "adam", "epochs": 2}),
    (_update_pairs, {"lr": 0.1, "bs": 16, "opt": "adam", "seed": 1}),
    (_update_namespace, {"lr": 0.4, "bs": 8, "opt": "adam", "seed": 3}),
    (_ior, {"lr": 0.2, "bs": 8, "opt": "adam", "new": [1, 2]}),
    (_setdefault_new, {"lr": 0.1, "bs": 8, "opt": "adam", "momentum": 0.9}),
    (_pop, {"lr": 0.1, "opt": "adam"}),
    (_popitem, {"lr": 0.1, "bs": 8}),
    (_del_item, {"bs": 8, "opt": "adam"}),
    (_del_attr, {"lr": 0.1, "opt": "adam"}),
    (_clear, {}),
]


@pytest.mark.parametrize(("operation", "expected"), OPERATIONS, ids=[op.__name__[1:] for op, _ in OPERATIONS])
def test_every_change_reaches_a_fresh_reader(operation, expected):
    run = tnb.init("cfg", "r", config=START)
    operation(tnb.config)
    assert dict(run.config) == expected
    run.flush()
    assert _stored() == expected  # before finish: the change was stored, not kept until the end
    run.finish()
    assert _stored() == expected


@pytest.mark.parametrize("operation", [_setdefault_existing, _pop_missing_with_default])
def test_no_op_changes_keep_the_config(operation):
    run = tnb.init("cfg", "r", config=START)
    operation(run.config)
    run.finish()
    assert _stored() == START


def test_a_fresh_process_sees_every_kind_of_change(data_dir):
    run = tnb.init("cfg", "r", config={"a": 1, "b": 2, "c": 3, "d": 4})
    c = run.config
    c["e"] = 5
    c.f = 6
    c |= {"g": 7}
    c.update(h=8)
    c.setdefault("i", 9)
    c.pop("a")
    c.popitem()  # i
    del c["b"]
    del c.c
    run.flush()
    code = "import json, trackio_nb as tnb; print(json.dumps(tnb.Api().run('cfg', 'r').config))"
    done = run_python(code, data_dir)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"d": 4, "e": 5, "f": 6, "g": 7, "h": 8}
    run.finish()


def test_attribute_access_and_its_errors():
    run = tnb.init("cfg", "r", config={"lr": 0.1, "update": "kept"})
    assert tnb.config.lr == 0.1
    assert getattr(tnb.config, "missing", "default") == "default"
    with pytest.raises(AttributeError, match=r"^config has no key 'missing' \(keys: 'lr', 'update'\)$"):
        _ = tnb.config.missing
    with pytest.raises(AttributeError, match=r"^config has no key 'missing'$"):
        del tnb.config.missing
    # A method name stays the method; as a key it is reached with [] (and setting it as an attribute is refused).
    assert tnb.config["update"] == "kept" and callable(tnb.config.update)
    with pytest.raises(
        AttributeError, match=r"'update' cannot be set as an attribute of config; use config\['update'\]"
    ):
        tnb.config.update = 1
    with pytest.raises(AttributeError, match="'_hidden' cannot be set"):
        tnb.config._hidden = 1
    with pytest.raises(KeyError):
        tnb.config.pop("missing")
    assert "lr" in dir(tnb.config)
    run.finish()
    assert _stored() == {"lr": 0.1, "update": "kept"}


class Color(enum.Enum):
    RED = "red"


def test_values_json_cannot_hold_are_converted_as_trackio_does(tmp_path):
    namespace = argparse.Namespace(lr=np.float32(0.5), out=tmp_path / "out", layers=(64, 32))
    run = tnb.init("cfg", "r", config=namespace)  # init takes a Namespace too
    run.config["path"] = Path("/data/train.csv")
    run.config["steps"] = np.int64(1000)
    run.config["flag"] = np.bool_(True)
    run.config["weights"] = np.array([[1, 2], [3, 4]])
    run.config["nested"] = {"args": argparse.Namespace(seed=1, _private=2), 3: {np.float64(1.5)}, "c": Color.RED}
    run.config["nan"] = float("nan")
    expected = {
        "lr": 0.5,
        "out": str(tmp_path / "out"),
        "layers": [64, 32],
        "path": "/data/train.csv",
        "steps": 1000,
        "flag": True,
        "weights": [[1, 2], [3, 4]],
        "nested": {"args": {"seed": 1}, "3": [1.5], "c": "red"},
    }
    got = dict(run.config)
    assert math.isnan(got.pop("nan"))
    assert got == expected
    assert [type(got[k]) for k in ("lr", "steps", "flag")] == [float, int, bool]
    run.finish()
    stored = _stored()
    assert math.isnan(stored.pop("nan"))
    assert stored == expected


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c.__setitem__("f", object()), r"cannot store config\['f'\]: a value of type object is not JSON"),
        (lambda c: c.update(ok=1, bad=1 + 2j), r"cannot store config\['bad'\]: a value of type complex"),
        (lambda c: setattr(c, "fn", print), r"cannot store config\['fn'\]: a value of type builtin_function"),
        (lambda c: c.__setitem__("n", {"deep": [1, {"x": object()}]}), r"config\['n'\]\['deep'\]\[1\]\['x'\]"),
        (lambda c: c.__setitem__("k", {(1, 2): 3}), r"config\['k'\]: key \(1, 2\) is a tuple, not a string"),
        (lambda c: c.__setitem__(1, "x"), r"config keys must be strings, got int 1"),
        (lambda c: c.__setitem__("", "x"), r"config keys must not be empty"),
        (lambda c: c.setdefault("s", object()), r"cannot store config\['s'\]"),
        (lambda c: c.__ior__({"t": Config}), r"cannot store config\['t'\]: a value of type ABCMeta"),
    ],
    ids=[
        "object",
        "update-all-or-nothing",
        "function",
        "nested",
        "tuple-key",
        "int-key",
        "empty-key",
        "setdefault",
        "class",
    ],
)
def test_refused_values_raise_invalid_value_and_store_nothing(change, message):
    run = tnb.init("cfg", "r", config={"lr": 0.1})
    with pytest.raises(InvalidValue, match=message):
        change(run.config)
    assert dict(run.config) == {"lr": 0.1}
    run.finish()
    assert _stored() == {"lr": 0.1}


def test_a_value_that_contains_itself_is_refused():
    loop: list = []
    loop.append(loop)
    run = tnb.init("cfg", "r")
    with pytest.raises(InvalidValue, match=r"cannot store config\['loop'\]\[0\]: the value contains itself"):
        run.config["loop"] = loop
    run.finish()


def test_init_refuses_a_config_that_is_not_a_mapping():
    with pytest.raises(TypeError, match=r"config must be a dict or an object with attributes .*got list"):
        tnb.init("cfg", config=[1])
    with pytest.raises(InvalidValue, match=r"cannot store config\['f'\]"):
        tnb.init("cfg", config={"f": object()})
    assert tnb.Api().projects() == []  # nothing was created


def test_an_ended_run_refuses_config_changes():
    run = tnb.init("cfg", "r", config={"lr": 0.1})
    config = run.config
    run.finish()
    with pytest.raises(RuntimeError, match="run 'r' is finished; its config can no longer be changed"):
        config.lr = 0.2
    assert dict(config) == {"lr": 0.1}
    assert _stored() == {"lr": 0.1}


def test_mapping_behaviour():
    run = tnb.init("cfg", "r", config={"a": 1})
    c = run.config
    assert c == {"a": 1} and c != {"a": 2}
    assert c | {"b": 2} == {"a": 1, "b": 2} and {"b": 2} | c == {"b": 2, "a": 1}
    assert (list(c), list(c.items()), len(c), c.get("z", 0)) == (["a"], [("a", 1)], 1, 0)
    assert type(c.copy()) is dict and json.dumps(c.as_dict()) == '{"a": 1}'
    assert repr(c) == "Config({'a': 1})"
    copies = [copy.copy(c), copy.deepcopy(c), pickle.loads(pickle.dumps(c))]
    assert [(type(x), x) for x in copies] == [(dict, {"a": 1})] * 3
    run.finish()
    assert _stored() == {"a": 1}  # `|` builds a new dict and stores nothing


def test_concurrent_changes_from_threads_are_all_stored():
    run = tnb.init("cfg", "r")
    barrier = threading.Barrier(4)

    def worker(t: int) -> None:
        barrier.wait()
        for i in range(150):
            run.config[f"t{t}-{i}"] = i

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    expected = {f"t{t}-{i}": i for t in range(4) for i in range(150)}
    assert dict(run.config) == expected
    run.finish()
    assert _stored() == expected


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    proc = ServerProcess(tmp_path_factory.mktemp("config-remote") / "server").start()
    yield proc
    proc.stop()


def test_remote_config_changes_reach_the_server(server, data_dir):
    run = tnb.init("cfg", "r", config=argparse.Namespace(lr=0.1), server_url=server.url, token=TOKEN)
    run.config.bs = 8
    run.config |= {"path": Path("/x"), "n": np.int32(3)}
    del run.config["lr"]
    run.flush()
    api = tnb.Api(server.url, TOKEN)
    assert api.run("cfg", "r").config == {"bs": 8, "path": "/x", "n": 3}
    run.config.popitem()
    run.finish()
    assert api.run("cfg", "r").config == {"bs": 8, "path": "/x"}
    assert not data_dir.exists() or not list(data_dir.glob("*.db"))
