"""Property-based hostile input (hypothesis): whatever a space file, a study URL or a
series of told values holds, npopt answers with its own one-line error or a sound result,
never another exception."""

from __future__ import annotations

import math

import pytest
import torch

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from npopt.encoding import standardisation  # noqa: E402
from npopt.errors import SpaceError, StudyError  # noqa: E402
from npopt.space import Space, load_yaml, read_space_file  # noqa: E402
from npopt.storage import parse  # noqa: E402

FAST = settings(max_examples=300, deadline=None, derandomize=True,  # the same examples in every run: CI does not flake
                suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=10**300, max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
)
json_like = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=8), inner, max_size=5)),
    max_leaves=20,
)
fields = st.sampled_from(["type", "low", "high", "log", "choices", "value", "step"])
param_specs = st.one_of(
    json_like,
    st.dictionaries(fields, json_like, max_size=5),
    st.fixed_dictionaries({"type": st.sampled_from(["float", "int", "categorical", "fixed", "FLOAT", "bool"])},
                          optional={"low": scalars, "high": scalars, "log": scalars, "choices": json_like,
                                    "value": scalars}),
)


@FAST
@given(st.dictionaries(st.text(max_size=6), param_specs, max_size=4))
def test_any_space_is_a_space_or_a_space_error(params):
    try:
        space = Space(params)
    except SpaceError as exc:
        assert exc.message and "\n" not in exc.message and len(exc.message) < 1000
        return
    assert space.dim >= 1
    u = torch.rand(space.dim, dtype=torch.float64).tolist()
    assert space.validate(space.from_unit(u)) == space.from_unit(u)  # what it suggests, it accepts


@FAST
@given(st.text(max_size=300))
def test_any_yaml_text_is_a_space_or_a_space_error(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("yaml") / "space.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        read_space_file(path)
    except SpaceError as exc:
        assert "\n" not in exc.message and len(exc.message) < 1000


@FAST
@given(st.integers(min_value=1, max_value=6), st.integers(min_value=1, max_value=6))
def test_nested_aliases_of_any_shape_are_refused(width, depth):
    lines = ["a0: &a0 [" + ", ".join(["x"] * width) + "]"]
    for i in range(1, depth + 1):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    with pytest.raises(Exception, match="aliases"):
        load_yaml("\n".join(lines))


@FAST
@given(st.lists(st.one_of(st.floats(allow_nan=False), st.sampled_from([1.7e308, -1.7e308, 5e-324])),
                min_size=2, max_size=40))
@example([0.0, 5e-324])  # subnormal values: found by this test in CI
@example([1.7e308, -1.7e308, 0.0])
def test_any_told_values_standardise_to_finite_values_in_the_same_order(values):
    y = torch.tensor(values, dtype=torch.float64)
    z, back = standardisation(y)
    assert torch.isfinite(z).all()
    finite = torch.isfinite(y)
    order = torch.argsort(y[finite], stable=True)
    assert (torch.diff(z[finite][order]) >= -1e-12).all()  # monotone: the best stays the best
    if finite.all() and (y.abs() < 1e300).all():
        assert torch.allclose(back(z), y, rtol=1e-6, atol=1e-9 * float(y.abs().max().clamp_min(1.0)))


SECRET = "S3cr3tPw"


@FAST
@given(st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=40),
       st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=30))
def test_any_postgres_url_parses_or_is_refused_without_its_password(host_part, query):
    url = f"postgresql://user:{SECRET}@{host_part}?{query}"
    try:
        conninfo, name, shown = parse(url)
    except StudyError as exc:
        assert SECRET not in exc.message and "\n" not in exc.message
        return
    assert SECRET not in shown and name
    assert not math.isnan(len(conninfo))
