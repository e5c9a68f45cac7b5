"""Search spaces: unit-cube round trips, every bad-space error, space files, directions."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from npopt.errors import SpaceError
from npopt.space import (
    Fixed,
    Float,
    Int,
    Space,
    check_direction,
    load_space_file,
    read_space_file,
    to_minimise,
)

MIXED = {
    "x": Float(-2, 2),
    "lr": Float(1e-5, 1e-1, log=True),
    "layers": Int(1, 8),
    "width": Int(16, 1024, log=True),
    "batch": Fixed(64),
}


# ---------------------------------------------------------------- round trips


def test_dim_and_names_skip_fixed_values():
    space = Space(MIXED)
    assert space.names == ["x", "lr", "layers", "width"]
    assert space.dim == 4
    assert space.has_int


@pytest.mark.parametrize("value", [-2.0, -0.37, 0.0, 1.5, 2.0])
def test_float_round_trip(value):
    space = Space({"x": Float(-2, 2)})
    assert space.from_unit(space.to_unit({"x": value}))["x"] == pytest.approx(value, abs=1e-12)


@pytest.mark.parametrize("value", [1e-5, 3.3e-4, 1e-3, 0.05, 1e-1])
def test_log_float_round_trip_and_scale(value):
    space = Space({"lr": Float(1e-5, 1e-1, log=True)})
    u = space.to_unit({"lr": value})
    assert u[0] == pytest.approx((math.log10(value) + 5) / 4)  # linear in log10
    assert space.from_unit(u)["lr"] == pytest.approx(value, rel=1e-12)


@pytest.mark.parametrize("param", [Int(1, 8), Int(-3, 3), Int(1, 1000, log=True), Int(2, 5, log=True)])
def test_int_round_trip_every_value(param):
    space = Space({"n": param})
    for n in range(param.low, param.high + 1):
        assert space.from_unit(space.to_unit({"n": n})) == {"n": n}
        assert space.snap(space.to_unit({"n": n})) == space.to_unit({"n": n})


def test_int_values_get_equal_shares_of_the_unit_interval():
    space = Space({"n": Int(1, 4)})
    grid = [(i + 0.5) / 4000 for i in range(4000)]
    counts = {n: 0 for n in range(1, 5)}
    for u in grid:
        counts[space.from_unit([u])["n"]] += 1
    assert counts == {1: 1000, 2: 1000, 3: 1000, 4: 1000}  # ends included, none favoured


def test_from_unit_clips_rounds_and_returns_python_types():
    space = Space(MIXED)
    low = space.from_unit([-0.5, 0.0, 0.0, 0.0])
    high = space.from_unit([1.5, 1.0, 1.0, 1.0])
    assert low == {"x": -2.0, "lr": pytest.approx(1e-5), "layers": 1, "width": 16, "batch": 64}
    assert high == {"x": 2.0, "lr": pytest.approx(1e-1), "layers": 8, "width": 1024, "batch": 64}
    assert type(low["layers"]) is int and type(low["x"]) is float
    assert 1e-5 <= low["lr"] and high["lr"] <= 1e-1  # never outside the bounds through exp()


def test_snap_maps_a_whole_integer_slice_to_one_point():
    space = Space({"x": Float(0, 1), "n": Int(0, 3)})
    assert space.snap([0.3, 0.26]) == space.snap([0.3, 0.49]) == pytest.approx([0.3, 0.375])


def test_validate_fills_fixed_values_and_casts():
    space = Space(MIXED)
    out = space.validate({"x": 1, "lr": 0.01, "layers": 3.0, "width": 32})
    assert out == {"x": 1.0, "lr": 0.01, "layers": 3, "width": 32, "batch": 64}
    assert type(out["layers"]) is int and type(out["x"]) is float


@pytest.mark.parametrize(
    "params, message",
    [
        ({"lr": 0.01, "layers": 3, "width": 32}, "parameter 'x' is missing"),
        ({"x": 3.0, "lr": 0.01, "layers": 3, "width": 32}, "parameter 'x': 3.0 is outside [-2, 2]"),
        ({"x": "1", "lr": 0.01, "layers": 3, "width": 32}, "parameter 'x': expected a finite number"),
        ({"x": True, "lr": 0.01, "layers": 3, "width": 32}, "parameter 'x': expected a finite number"),
        ({"x": math.nan, "lr": 0.01, "layers": 3, "width": 32}, "parameter 'x': expected a finite number"),
        ({"x": 0, "lr": 0.01, "layers": 2.5, "width": 32}, "parameter 'layers': expected an integer"),
        ({"x": 0, "lr": 0.01, "layers": 9, "width": 32}, "parameter 'layers': 9 is outside [1, 8]"),
        ({"x": 0, "lr": 0.01, "layers": 3, "width": 32, "y": 1}, "unknown parameter 'y'"),
        ({"x": 0, "lr": 0.01, "layers": 3, "width": 32, "batch": 32}, "parameter 'batch' is fixed at 64"),
    ],
)
def test_to_unit_refuses_bad_params(params, message):
    with pytest.raises(SpaceError) as info:
        Space(MIXED).to_unit(params)
    assert message in str(info.value)


# ---------------------------------------------------------------- bad spaces


@pytest.mark.parametrize(
    "params, message",
    [
        ({"x": Float(1, 1)}, "parameter 'x': low (1) must be less than high (1)"),
        ({"x": Float(2, -2)}, "parameter 'x': low (2) must be less than high (-2)"),
        ({"n": Int(5, 5)}, "parameter 'n': low (5) must be less than high (5)"),
        ({"lr": Float(0, 1, log=True)}, "parameter 'lr': log scale needs low > 0, got low=0"),
        ({"lr": Float(-1, 1, log=True)}, "parameter 'lr': log scale needs low > 0"),
        ({"n": Int(0, 8, log=True)}, "parameter 'n': log scale needs low > 0"),
        ({"x": Float(math.nan, 1)}, "parameter 'x': low must be finite, not nan"),
        ({"x": Float(0, math.nan)}, "parameter 'x': high must be finite, not nan"),
        ({"x": Float(0, math.inf)}, "parameter 'x': high must be finite, not inf"),
        ({"x": Float("a", 1)}, "parameter 'x': low must be a number, not 'a'"),
        ({"x": Float(None, 1)}, "parameter 'x': low must be a number, not None"),
        ({"x": Float(0, 1, log="yes")}, "parameter 'x': log must be true or false"),
        ({"n": Int(0.5, 3)}, "parameter 'n': int low must be a whole number"),
        ({"x": {"type": "flaot", "low": 0, "high": 1}}, "parameter 'x': unknown type 'flaot' (expected float, int or fixed)"),
        ({"x": {"low": 0, "high": 1}}, "parameter 'x': has no type"),
        ({"x": {"type": "float", "low": 0}}, "parameter 'x': missing 'high'"),
        ({"x": {"type": "float", "low": 0, "hi": 1}}, "parameter 'x': unknown field 'hi'"),
        ({"x": {"type": "fixed"}}, "parameter 'x': missing 'value'"),
        ({"opt": ["adam", "sgd"]}, "parameter 'opt': categorical parameters (a list of choices) are not supported yet"),
        ({"opt": {"type": "categorical", "choices": ["a", "b"]}}, "parameter 'opt': categorical parameters are not supported yet"),
        ({"opt": {"type": "choice", "choices": ["a"]}}, "parameter 'opt': categorical parameters are not supported yet"),
        ({"c": Fixed(math.inf), "x": Float(0, 1)}, "parameter 'c': fixed value must be finite"),
        ({"c": Fixed([1, 2]), "x": Float(0, 1)}, "parameter 'c': fixed value must be a number, string or boolean"),
        ({"": Float(0, 1)}, "parameter names must be non-empty strings"),
        ({3: Float(0, 1)}, "parameter names must be non-empty strings, not 3"),
        ({}, "the space is empty"),
        ({"c": Fixed(1)}, "the space has only fixed values"),
    ],
)
def test_bad_space_is_refused_naming_parameter_and_problem(params, message):
    with pytest.raises(SpaceError) as info:
        Space(params)
    assert message in str(info.value)
    assert info.value.code == "bad_space"


def test_space_that_is_not_a_mapping_is_refused():
    with pytest.raises(SpaceError, match="a space must be a mapping"):
        Space([Float(0, 1)])


# ---------------------------------------------------------------- serialisation and files


def test_to_dict_is_json_and_round_trips():
    space = Space(MIXED)
    d = json.loads(json.dumps(space.to_dict()))
    assert d["lr"] == {"type": "float", "low": 1e-5, "high": 0.1, "log": True}
    assert d["batch"] == {"type": "fixed", "value": 64}
    assert Space.from_dict(d) == space
    assert Space.from_dict(d).names == space.names


def test_python_and_file_declarations_are_equal():
    from_python = Space({"x": Float(-2, 2), "n": Int(1, 8), "b": 64})
    from_file = Space(
        {"x": {"type": "float", "low": -2, "high": 2}, "n": {"type": "int", "low": 1, "high": 8}, "b": {"type": "fixed", "value": 64}}
    )
    assert from_python == from_file
    assert Space({"x": Float(-2, 2)}) != Space({"x": Float(-2, 3)})


YAML = """
direction: maximize
space:
  x: {type: float, low: -2, high: 2}
  lr: {type: float, low: 1e-5, high: 1e-1, log: true}   # PyYAML reads 1e-5 as a string
  layers: {type: int, low: 1, high: 8}
  batch: 64
"""


def test_yaml_space_file(tmp_path):
    path = tmp_path / "space.yaml"
    path.write_text(YAML)
    space, direction = load_space_file(path)
    assert direction == "maximize"
    assert space == Space({"x": Float(-2, 2), "lr": Float(1e-5, 0.1, log=True), "layers": Int(1, 8), "batch": Fixed(64)})


def test_json_space_file_and_default_direction(tmp_path):
    path = tmp_path / "space.json"
    path.write_text(json.dumps({"space": {"x": {"type": "float", "low": 0, "high": 1}}}))
    assert load_space_file(path) == (Space({"x": Float(0, 1)}), "minimize")
    assert read_space_file(path)[1] is None


def test_example_space_file_loads():
    from pathlib import Path

    space, direction = load_space_file(Path(__file__).parents[1] / "examples" / "space.yaml")
    assert direction == "minimize" and space.names == ["x", "lr", "layers"]


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("s.yaml", "space: {x: {type: float, low: 1, high: 0}}", "space file {path}: parameter 'x': low (1) must be less than high (0)"),
        ("s.yaml", "space: {x: {type: categorical, choices: [a, b]}}", "parameter 'x': categorical parameters are not supported yet"),
        ("s.yaml", "x: {type: float, low: 0, high: 1}", "must be a mapping with a 'space' key"),
        ("s.yaml", "- 1\n- 2", "must be a mapping with a 'space' key"),
        ("s.yaml", "space: {x: {type: float, low: 0, high: 1}}\ndirections: max", "unknown key 'directions'"),
        ("s.yaml", "space: {x: {type: float, low: 0, high: 1}}\ndirection: upwards", "direction must be 'minimize' or 'maximize'"),
        ("s.yaml", "space: {x: [1, 2", "is not valid YAML"),
        ("s.json", "{\"space\": ", "is not valid JSON"),
        ("s.yaml", "space: {}", "the space is empty"),
    ],
)
def test_bad_space_files(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(SpaceError) as info:
        load_space_file(path)
    assert message.format(path=path) in str(info.value)


def test_missing_space_file(tmp_path):
    with pytest.raises(SpaceError, match="cannot read space file .*nope.yaml"):
        load_space_file(tmp_path / "nope.yaml")


# ---------------------------------------------------------------- directions


def test_directions():
    assert check_direction("Maximise") == "maximize"
    assert check_direction("min") == "minimize"
    assert to_minimise(2.0, "minimize") == 2.0
    assert to_minimise(2.0, "maximize") == -2.0
    with pytest.raises(SpaceError, match="direction must be"):
        check_direction("sideways")


def test_space_and_storage_do_not_import_torch():
    code = "import sys, npopt, npopt.space, npopt.storage, npopt.study; assert 'torch' not in sys.modules, 'torch'"
    subprocess.run([sys.executable, "-c", code], check=True)
