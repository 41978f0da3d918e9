"""SPEC (Reading: the Api): bad argument values raise ValueError, wrong types TypeError."""

from __future__ import annotations

import pytest

import trackio_nb as tnb
from trackio_nb.errors import InvalidValue


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    root = tmp_path_factory.mktemp("argtypes")
    with tnb.init("types", "r", dir=root) as run:
        run.alert("t", level="warn")
    return tnb.Api(dir=str(root))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda api: api.alerts("types", after_id="3"), "after_id must be an integer, got str"),
        (lambda api: api.alerts("types", after_id=1.0), "after_id must be an integer, got float"),
        (lambda api: api.alerts("types", after_id=True), "after_id must be an integer, got bool"),
        (lambda api: api.alerts("types", level=3), "level must be an AlertLevel or a string, got int"),
        (lambda api: api.run("types", "r").alerts(level=2), "level must be an AlertLevel or a string, got int"),
        (lambda api: api.runs(3), "project must be a string, got int"),
        (lambda api: api.run(None, "r"), "project must be a string, got NoneType"),
        (lambda api: api.alerts(b"types"), "project must be a string, got bytes"),
        (lambda api: api.stop(3, "r"), "project must be a string, got int"),
        (lambda api: api.delete_run(3, "r"), "project must be a string, got int"),
        (lambda api: api.delete_project(3), "project must be a string, got int"),
    ],
)
def test_wrong_types_raise_type_error(api, call, message):
    with pytest.raises(TypeError) as caught:
        call(api)
    assert str(caught.value) == message
    assert not isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda api: api.alerts("types", after_id=-1), "after_id must be >= 0, got -1"),
        (lambda api: api.alerts("types", level="critical"), "level must be one of info, warn, error, got 'critical'"),
        (lambda api: api.runs(""), "project name must not be empty"),
    ],
)
def test_bad_values_raise_invalid_value(api, call, message):
    with pytest.raises(InvalidValue) as caught:
        call(api)
    assert str(caught.value) == message


def test_good_filters_still_answer(api):
    assert [a["title"] for a in api.alerts("types", level=tnb.AlertLevel.WARN, after_id=0)] == ["t"]
