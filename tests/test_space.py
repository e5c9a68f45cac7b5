"""Search spaces: unit-cube round trips, every bad-space error, space files, directions."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from npopt.errors import SpaceError
from npopt.space import (
    Categorical,
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
    assert space.has_discrete and space.choices == (0, 0, 0, 0)
    assert not Space({"x": Float(0, 1)}).has_discrete


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


# ---------------------------------------------------------------- categoricals

CHOICES = ["rbf", 1, 2.5, True, False, None]


def test_categorical_keeps_the_choices_and_round_trips_each_one():
    p = Categorical(CHOICES)
    assert p.choices == CHOICES
    space = Space({"x": Float(0, 1), "k": p})
    assert space.names == ["x", "k"] and space.choices == (0, 6) and space.has_discrete
    for i, c in enumerate(CHOICES):
        u = space.to_unit({"x": 0.5, "k": c})
        assert u[1] == pytest.approx((i + 0.5) / 6)
        back = space.from_unit(u)["k"]
        assert back == c and type(back) is type(c)  # True stays a bool, 1 an int, None None


def test_categorical_unit_slices_are_equal_and_clipped():
    space = Space({"k": ["a", "b", "c", "d"]})
    counts = dict.fromkeys("abcd", 0)
    for i in range(4000):
        counts[space.from_unit([(i + 0.5) / 4000])["k"]] += 1
    assert counts == dict.fromkeys("abcd", 1000)
    assert space.from_unit([-3.0])["k"] == "a" and space.from_unit([1.0])["k"] == space.from_unit([7.0])["k"] == "d"


def test_categorical_matches_numbers_by_value_but_never_booleans():
    space = Space({"k": [1, True, 2.0, "1"]})
    assert space.dim == 1
    assert space.validate({"k": 1.0}) == {"k": 1} and type(space.validate({"k": 1.0})["k"]) is int
    assert space.validate({"k": 2}) == {"k": 2.0}
    assert space.validate({"k": True})["k"] is True
    assert space.to_unit({"k": "1"}) == [3.5 / 4]
    with pytest.raises(SpaceError) as info:
        space.validate({"k": False})
    assert str(info.value) == "parameter 'k': False is not one of its choices; use one of 1, True, 2.0, '1'"
    for bad in ("rbf", [1], {"a": 1}, None, 1.5):
        with pytest.raises(SpaceError, match="parameter 'k': .* is not one of its choices; use one of"):
            space.to_unit({"k": bad})


def test_one_choice_categorical_is_a_constant():
    space = Space({"x": Float(0, 1), "k": ["only"], "n": [None]})
    assert space.names == ["x"] and space.choices == (0,) and not space.has_discrete
    assert space.from_unit([0.5]) == {"x": 0.5, "k": "only", "n": None}
    assert space.validate({"x": 0.5}) == {"x": 0.5, "k": "only", "n": None}
    assert space.validate({"x": 0.5, "k": "only", "n": None})["n"] is None
    with pytest.raises(SpaceError, match="'other' is not one of its choices; use one of 'only'"):
        space.validate({"x": 0.5, "k": "other"})


def test_categorical_declarations_agree_and_serialise_to_json():
    python = Space({"k": Categorical(("a", None, True)), "x": Float(0, 1)})
    for declared in (
        {"k": ["a", None, True], "x": Float(0, 1)},
        {"k": {"type": "categorical", "choices": ["a", None, True]}, "x": Float(0, 1)},
        {"k": {"type": "choice", "choices": ["a", None, True]}, "x": Float(0, 1)},
        {"k": {"choices": ["a", None, True]}, "x": Float(0, 1)},
    ):
        assert Space(declared) == python
    d = json.loads(json.dumps(python.to_dict()))
    assert d["k"] == {"type": "categorical", "choices": ["a", None, True]}
    assert Space.from_dict(d) == python
    assert Space({"k": [1, 0]}) != Space({"k": [True, False]})  # a bool is not a number
    assert Space({"k": [1, 0]}) == Space({"k": [1.0, 0.0]})
    assert Space({"k": ["a", "b"]}) != Space({"k": ["b", "a"]})  # the order defines the indices


def test_categorical_in_a_yaml_file(tmp_path):
    path = tmp_path / "space.yaml"
    path.write_text("space:\n  kernel: {type: categorical, choices: [rbf, linear]}\n  shrink: [true, false]\n"
                    "  gamma: [scale, auto, null, 0.1]\n")
    space, _ = load_space_file(path)
    assert space.params["kernel"] == Categorical(["rbf", "linear"])
    assert space.params["shrink"].choices == [True, False]
    assert space.params["gamma"].choices == ["scale", "auto", None, 0.1]
    assert space.describe().splitlines() == [
        "kernel: categorical ['rbf', 'linear']", "shrink: categorical [True, False]",
        "gamma: categorical ['scale', 'auto', None, 0.1]",
    ]


# ---------------------------------------------------------------- vectorised snapping


def test_snap_unit_agrees_with_snap_on_every_type():
    space = Space({
        "x": Float(-2, 2), "lr": Float(1e-5, 1e-1, log=True), "n": Int(0, 3), "w": Int(16, 1024, log=True),
        "k": ["a", "b", "c"], "b": [True, False], "c": Fixed(1), "one": ["x"],
    })
    assert space.choices == (0, 0, 0, 0, 3, 2)
    rng = np.random.default_rng(0)
    U = rng.uniform(-0.1, 1.1, size=(2000, space.dim))  # outside the cube too
    U[:5] = [[0.0] * 6, [1.0] * 6, [0.5] * 6, [1 / 3] * 6, [0.25] * 6]  # slice edges
    snapped = space.snap_unit(U)
    assert snapped.shape == U.shape and snapped.dtype == np.float64
    np.testing.assert_allclose(snapped, np.array([space.snap(u) for u in U]), rtol=0, atol=1e-12)
    assert np.array_equal(space.snap_unit(snapped), snapped)  # snapping is idempotent
    assert np.array_equal(snapped[:, :2], np.clip(U[:, :2], 0, 1))  # floats are only clipped
    assert set(np.round(snapped[:, 4] * 6, 9)) == {1, 3, 5}  # choice i at (i + 0.5) / C
    with pytest.raises(SpaceError, match="expected an m x 6 array"):
        space.snap_unit(U[:, :5])


def test_snap_unit_on_ints_is_the_dict_round_trip():
    space = Space({"n": Int(1, 4), "m": Int(2, 5, log=True)})
    u = np.linspace(0, 1, 1001)
    U = np.stack([u, u], 1)
    expected = np.array([space.to_unit(space.from_unit(p)) for p in U])
    np.testing.assert_allclose(space.snap_unit(U), expected, rtol=0, atol=1e-12)


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
        ({"x": {"type": "flaot", "low": 0, "high": 1}},
         "parameter 'x': unknown type 'flaot' (expected float, int, categorical or fixed)"),
        ({"x": {"low": 0, "high": 1}}, "parameter 'x': has no type"),
        ({"x": {"type": "float", "low": 0}}, "parameter 'x': missing 'high'"),
        ({"x": {"type": "float", "low": 0, "hi": 1}}, "parameter 'x': unknown field 'hi'"),
        ({"x": {"type": "fixed"}}, "parameter 'x': missing 'value'"),
        ({"opt": Categorical([])}, "parameter 'opt': a categorical needs at least one choice"),
        ({"opt": []}, "parameter 'opt': a categorical needs at least one choice"),
        ({"opt": ["adam", "sgd", "adam"]},
         "parameter 'opt': choice 'adam' is listed twice (also as 'adam'); list each choice once"),
        ({"opt": [1, 2, 1.0]}, "parameter 'opt': choice 1.0 is listed twice (also as 1)"),
        ({"opt": [None, None]}, "parameter 'opt': choice None is listed twice"),
        ({"opt": ["a", ["b", "c"]]},
         "parameter 'opt': choice ['b', 'c'] is a list; choices must be strings, numbers, booleans or null"),
        ({"opt": ["a", {"b": 1}]}, "parameter 'opt': choice {'b': 1} is a dict"),
        ({"opt": [1, math.inf]}, "parameter 'opt': choice inf is not finite"),
        ({"opt": [1, object]}, "parameter 'opt': choice <class 'object'> is a type"),
        ({"opt": {"adam", "sgd"}}, "parameter 'opt': write the choices as a list"),
        ({"opt": {"type": "categorical"}}, "parameter 'opt': missing 'choices'"),
        ({"opt": {"type": "categorical", "choices": "adam"}}, "parameter 'opt': choices must be a list, not str"),
        ({"opt": {"type": "choice", "choices": ["a"], "low": 0}},
         "parameter 'opt': unknown field 'low' for type categorical"),
        ({"opt": ["only"]}, "the space has only fixed values"),
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
        {"x": {"type": "float", "low": -2, "high": 2}, "n": {"type": "int", "low": 1, "high": 8},
         "b": {"type": "fixed", "value": 64}}
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
    assert space == Space(
        {"x": Float(-2, 2), "lr": Float(1e-5, 0.1, log=True), "layers": Int(1, 8), "batch": Fixed(64)}
    )


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
        ("s.yaml", "space: {x: {type: float, low: 1, high: 0}}",
         "space file {path}: parameter 'x': low (1) must be less than high (0)"),
        ("s.yaml", "space: {x: {type: categorical, choices: [a, b, a]}}",
         "space file {path}: parameter 'x': choice 'a' is listed twice"),
        ("s.yaml", "space: {x: {type: categorical, choices: []}}",
         "space file {path}: parameter 'x': a categorical needs at least one choice"),
        ("s.yaml", "space: {x: [a, [b]]}", "space file {path}: parameter 'x': choice ['b'] is a list"),
        ("s.yaml", "x: {type: float, low: 0, high: 1}", "must be a mapping with a 'space' key"),
        ("s.yaml", "- 1\n- 2", "must be a mapping with a 'space' key"),
        ("s.yaml", "space: {x: {type: float, low: 0, high: 1}}\ndirections: max", "unknown key 'directions'"),
        ("s.yaml", "space: {x: {type: float, low: 0, high: 1}}\ndirection: upwards",
         "direction must be 'minimize' or 'maximize'"),
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


def test_categorical_takes_any_ordered_collection_and_numpy_values():
    import numpy as np

    space = Space({"a": Categorical(range(3)), "b": Categorical(np.array([1.5, 2.5])),
                   "c": Categorical([np.True_, np.False_])})
    assert space.params["a"].choices == [0, 1, 2] and space.params["b"].choices == [1.5, 2.5]
    assert space.params["c"].choices == [True, False] and all(type(c) is bool for c in space.params["c"].choices)
    for bad in ("abc", {1, 2}):
        with pytest.raises(SpaceError, match="parameter 'a': choices must be a list"):
            Space({"a": Categorical(bad)})
