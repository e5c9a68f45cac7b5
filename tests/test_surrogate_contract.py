"""The contract every surrogate passes (:class:`npopt.surrogates.base.Surrogate`).

:class:`TestSurrogateContract` runs over every name in :data:`npopt.surrogates.REGISTRY` on a
1-D space, a continuous 3-D space and a mixed 3-D space (a 4-choice categorical between two
floats), and over the benchmark's ``gp-oracle`` (built as the ``gp1d`` suite builds it) on the
continuous spaces; ``np`` uses the shipped priors (``np1d``, ``np6d``, ``np16d``). Items:
capabilities declared on the class, conditioning, reproducible draws, coherent draws (one
draw is one function that passes by the observations), ``paths()`` where declared,
``predict``, ``to_units`` and the space's ``choices``.

Random search is the one registered surrogate whose draws are iid noise by design
(npopt/surrogates/random.py: the argmin of iid values is a uniformly random candidate); where
the model-based surrogates promise coherence, it is held to its own promise instead: its
draws ignore both the candidates and the observations.

The coherence criteria are shown to reject independent noise on two fakes at the end.
"""

from __future__ import annotations

from functools import cache

import pytest
import torch
from torch import Tensor

from npopt.acquisition.options import AcquisitionOptions
from npopt.benchmarks.problems import gp1d_function
from npopt.benchmarks.suites import build_surrogate
from npopt.surrogates import REGISTRY, SURROGATES, make_surrogate
from npopt.surrogates.base import Surrogate
from npopt.surrogates.oracle import OracleGPSurrogate

#: The spaces, by their per-coordinate numbers of choices (0: continuous).
SPACES = {"d1": (0,), "d3": (0, 0, 0), "mixed": (0, 4, 0)}
#: The benchmark's oracle knows one kernel and no categories: the continuous spaces only.
ORACLE = "gp-oracle"
CASES = [(name, space) for space in SPACES for name in SURROGATES] + [(ORACLE, "d1"), (ORACLE, "d3")]
#: Registered surrogates whose draws are iid noise by design (random search).
IID = {"random"}
#: Observations to condition on; at least every surrogate's ``min_observations``.
N_OBS = {"d1": 6, "d3": 12, "mixed": 12}

#: A draw at a candidate given twice in one call: values this close, relative to the spread of
#: the draws far from the data (measured over five data sets: 0 for the NP, up to 1e-3 for
#: the GPs, whose m x m Cholesky is jittered; independent noise: about 1).
DUPLICATE_TOLERANCE = 1e-2
#: Draws at the observed points: their median distance to the observed values, relative to
#: the spread of the draws far from the data (measured over five data sets: up to 0.11;
#: independent noise: about 1).
CLOSENESS_TOLERANCE = 0.3


def snap(U: Tensor, choices: tuple[int, ...]) -> Tensor:
    """Categorical coordinates to their choice centres ``(i + 0.5) / C``, as the space snaps them."""
    U = U.clone()
    for j, C in enumerate(choices):
        if C:
            U[:, j] = (torch.floor(U[:, j] * C).clamp(0, C - 1) + 0.5) / C
    return U


def points(m: int, choices: tuple[int, ...], seed: int) -> Tensor:
    """``m x d`` uniform points of the space, categories snapped."""
    g = torch.Generator().manual_seed(seed)
    return snap(torch.rand(m, len(choices), generator=g, dtype=torch.float64), choices)


def observations(space: str, seed: int = 0) -> tuple[Tensor, Tensor]:
    """``n`` points of a smooth function and their standardised values; the continuous
    coordinates in ``[0, 0.5]``, so that the far corner of the cube is far from the data."""
    choices = SPACES[space]
    X = points(N_OBS[space], choices, 100 + seed)
    X[:, [not c for c in choices]] *= 0.5
    y = torch.sin(3.0 * X[:, 0]) + 2.0 * (X - 0.3).square().sum(-1)
    return X, (y - y.mean()) / y.std()


def far_points(choices: tuple[int, ...], k: int = 8) -> Tensor:
    """``k`` points of the space whose continuous coordinates lie in ``[0.8, 1]``, far from
    :func:`observations` (at least 0.3 away in each continuous coordinate)."""
    C = points(k, choices, 7)
    C[:, [not c for c in choices]] = 0.8 + 0.2 * C[:, [not c for c in choices]]
    return C


def build(name: str, space: str) -> Surrogate:
    if name == ORACLE:
        return build_surrogate(ORACLE, gp1d_function(0))
    return make_surrogate(name, len(SPACES[space]), choices=SPACES[space])


def generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@cache
def conditioned(name: str, space: str) -> Surrogate:
    """A surrogate conditioned on :func:`observations`, shared by the tests that only draw."""
    surrogate = build(name, space)
    surrogate.condition(*observations(space))
    return surrogate


def far_spread(draws: Tensor, far: slice) -> float:
    """The median over the far candidates of the draws' std there."""
    return float(draws[:, far].std(0).median())


def duplicate_gap(surrogate: Surrogate, X: Tensor, choices: tuple[int, ...], seed: int = 0) -> float:
    """Largest gap between one draw's values at a candidate given twice in one call, relative
    to the spread of the draws far from the data."""
    far = far_points(choices)
    C = torch.cat([far, X[:4], far[:2], X[:2]])  # rows 0, 1 and 8, 9 repeated at the end
    draws = surrogate.sample(C, 16, generator(seed))
    again = torch.cat([draws[:, :2], draws[:, 8:10]], 1)
    return float((draws[:, -4:] - again).abs().max()) / far_spread(draws, slice(0, 8))


def closeness(surrogate: Surrogate, X: Tensor, y: Tensor, choices: tuple[int, ...], seed: int = 0) -> float:
    """Median distance of the draws at the observed points to the observed values, relative
    to the spread of the draws far from the data (both in the observations' units)."""
    n = X.shape[0]
    draws = surrogate.to_units(surrogate.sample(torch.cat([X, far_points(choices)]), 16, generator(seed)))
    return float((draws[:, :n] - y).abs().median()) / far_spread(draws, slice(n, None))


@pytest.mark.parametrize(("name", "space"), CASES, ids=[f"{n}-{s}" for n, s in CASES])
class TestSurrogateContract:
    def test_capabilities_are_declared_on_the_class(self, name, space):
        surrogate = build(name, space)
        cls = type(surrogate)
        assert isinstance(cls.acquisition, AcquisitionOptions)
        assert type(cls.has_paths) is bool and type(cls.standardised_y) is bool
        assert type(cls.min_observations) is int and cls.min_observations >= 0
        assert isinstance(cls.name, str) and cls.name != Surrogate.name
        assert not {"acquisition", "has_paths", "min_observations", "standardised_y"} & set(vars(surrogate))
        # paths() is overridden exactly where it is declared (Surrogate.paths)
        assert (cls.paths is not Surrogate.paths) == cls.has_paths
        assert surrogate.supports(len(SPACES[space]))
        if name in REGISTRY:
            assert cls.name == name

    def test_conditioned_draws_are_finite_function_samples(self, name, space):
        X, y = observations(space)
        surrogate = conditioned(name, space)
        assert X.shape[0] >= surrogate.min_observations
        draws = surrogate.sample(points(9, SPACES[space], 1), 5, generator(0))
        assert draws.shape == (5, 9) and draws.is_floating_point()
        assert torch.isfinite(draws).all()

    def test_conditions_on_its_declared_minimum_of_observations(self, name, space):
        X, y = observations(space)
        surrogate = build(name, space)
        n = surrogate.min_observations
        surrogate.condition(X[:n], y[:n])
        draws = surrogate.sample(points(7, SPACES[space], 1), 3, generator(0))
        assert draws.shape == (3, 7) and torch.isfinite(draws).all()

    def test_the_same_seed_gives_the_same_draws_and_another_seed_others(self, name, space):
        """Conditioning is deterministic too: two fresh surrogates, the same draws."""
        X, y = observations(space)
        C = points(11, SPACES[space], 2)
        fresh = build(name, space)
        fresh.condition(X, y)
        a = conditioned(name, space).sample(C, 4, generator(7))
        assert torch.equal(a, fresh.sample(C, 4, generator(7)))
        assert torch.equal(a, conditioned(name, space).sample(C, 4, generator(7)))
        assert not torch.equal(a, fresh.sample(C, 4, generator(8)))

    def test_a_draw_is_one_function_of_the_candidates(self, name, space):
        """A candidate given twice in one call: the same value in every draw (model-based);
        random search draws iid values that ignore where the candidates lie."""
        X, _ = observations(space)
        surrogate = conditioned(name, space)
        if name in IID:
            C = points(10, SPACES[space], 3)
            moved = points(10, SPACES[space], 4)
            assert torch.equal(surrogate.sample(C, 6, generator(0)), surrogate.sample(moved, 6, generator(0)))
            return
        for seed in range(2):
            assert duplicate_gap(surrogate, X, SPACES[space], seed) < DUPLICATE_TOLERANCE

    def test_draws_pass_by_the_observations(self, name, space):
        """Model-based draws at an observed point are near its value, compared with their
        spread far from the data; random search ignores the observations."""
        X, y = observations(space)
        surrogate = conditioned(name, space)
        if name in IID:
            C = torch.cat([X, far_points(SPACES[space])])
            untold = build(name, space)
            assert torch.equal(surrogate.sample(C, 6, generator(0)), untold.sample(C, 6, generator(0)))
            return
        for seed in range(2):
            assert closeness(surrogate, X, y, SPACES[space], seed) < CLOSENESS_TOLERANCE

    def test_paths_are_the_draws_where_declared(self, name, space):
        surrogate = conditioned(name, space)
        C = points(10, SPACES[space], 5)
        g = generator(3)
        torch.rand(5, generator=g)  # any state, not only a fresh seed
        same = torch.Generator()
        same.set_state(g.get_state())
        if not type(surrogate).has_paths:
            with pytest.raises(NotImplementedError):
                surrogate.paths(3, g)
            return
        paths = surrogate.paths(3, g)
        values = paths(C)
        assert values.shape == (3, 10)
        torch.testing.assert_close(values, surrogate.sample(C, 3, same), rtol=0, atol=1e-10)
        x = C[:4].clone().requires_grad_(True)
        one = paths.draw(1, x)
        assert one.shape == (4,)
        # the NP decodes in float32: draw(i, x) and the call differ by a few float32 roundings
        torch.testing.assert_close(one.detach(), values[1, :4], rtol=0, atol=1e-5)
        (grad,) = torch.autograd.grad(one.sum(), x)
        continuous = [j for j, c in enumerate(SPACES[space]) if not c]
        assert torch.isfinite(grad).all() and grad[:, continuous].abs().sum() > 0

    def test_predict_gives_a_mean_and_a_std_per_candidate(self, name, space):
        mean, std = conditioned(name, space).predict(points(13, SPACES[space], 6))
        assert mean.shape == std.shape == (13,)
        assert torch.isfinite(mean).all() and torch.isfinite(std).all() and (std >= 0).all()

    def test_to_units_is_monotone_and_the_identity_without_a_warp(self, name, space):
        surrogate = conditioned(name, space)
        assert surrogate.output_warp is None or isinstance(surrogate.output_warp, float)
        values = torch.linspace(-3, 3, 61, dtype=torch.float64)
        mapped = surrogate.to_units(values)
        assert mapped.shape == values.shape and torch.isfinite(mapped).all()
        assert (mapped.diff() >= 0).all()
        if surrogate.output_warp is None:
            assert torch.equal(mapped, values)

    def test_records_the_choices_of_its_space(self, name, space):
        choices = SPACES[space]
        assert build(name, space).choices == (choices if any(choices) else ())


#: The NP's networks see the raw categorical coordinate (``NeuralProcess.inputs`` embeds all of
#: ``x``; only the spectral basis reads the choice index), so its draws move by about 5e-4
#: within a category's slice. Harmless today (the space snaps categories to slice centres and
#: the polish leaves them alone), but not the protocol's "``u`` is choice ``floor(u C)``".
NP_READS_THE_SLICE = pytest.mark.xfail(strict=True, raises=AssertionError,
                                       reason="the NP's mean network reads the raw categorical coordinate")


@pytest.mark.parametrize("name", [pytest.param(n, marks=NP_READS_THE_SLICE) if n == "np" else n for n in SURROGATES])
def test_draws_do_not_depend_on_where_in_a_category_slice(name):
    """Any unit coordinate in ``[i / C, (i + 1) / C)`` is choice ``i`` (Surrogate.choices)."""
    choices = SPACES["mixed"]
    surrogate = conditioned(name, "mixed")
    C = points(8, choices, 9)
    draws = surrogate.sample(C, 4, generator(0))
    for offset in (0.01, 0.24):  # near either edge of each slice of width 0.25
        moved = C.clone()
        moved[:, 1] = torch.floor(C[:, 1] * 4) / 4 + offset
        assert torch.equal(surrogate.sample(moved, 4, generator(0)), draws)


# ------------------------------------------------------------------ the criteria reject noise

class PureNoise(Surrogate):
    """Draws iid standard normal values at every candidate, whatever it observed."""

    name = "pure-noise"

    def condition(self, X: Tensor, y: Tensor) -> None:
        pass

    def sample(self, candidates: Tensor, n_draws: int, generator: torch.Generator) -> Tensor:
        return torch.randn(n_draws, candidates.shape[0], generator=generator, dtype=torch.float64)


class IndependentAroundTheMean(OracleGPSurrogate):
    """The pitfall of STYLE.md: the right mean and std per candidate, independent noise
    between candidates (a diagonal covariance)."""

    name = "diagonal"

    def sample(self, candidates: Tensor, n_draws: int, generator: torch.Generator) -> Tensor:
        mean, std = self.predict(candidates)
        return mean + std * torch.randn(n_draws, candidates.shape[0], generator=generator, dtype=torch.float64)


@pytest.mark.parametrize("space", ["d1", "mixed"])
def test_the_coherence_criteria_reject_independent_noise(space):
    X, y = observations(space)
    choices = SPACES[space]
    noise = PureNoise()
    noise.condition(X, y)
    diagonal = IndependentAroundTheMean(lengthscale=0.1, signal_std=1.0)
    diagonal.condition(X, y)
    for seed in range(2):
        assert duplicate_gap(noise, X, choices, seed) > 10 * DUPLICATE_TOLERANCE
        assert closeness(noise, X, y, choices, seed) > 2 * CLOSENESS_TOLERANCE
        # right marginals pass by the observations; only the repeated candidate unmasks them
        assert duplicate_gap(diagonal, X, choices, seed) > 10 * DUPLICATE_TOLERANCE
