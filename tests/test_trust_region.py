"""Trust regions (TuRBO) for Thompson sampling, the multi-start L-BFGS-B minimiser and LogEI."""

from __future__ import annotations

import math

import pytest
import torch
from scipy.stats import norm

from npopt.acquisition import trust_region as tr
from npopt.acquisition.logei import log_ei, log_h
from npopt.acquisition.minimise import minimise
from npopt.acquisition.options import AcquisitionOptions
from npopt.acquisition.thompson import thompson_ranked, thompson_suggest
from npopt.encoding import UnitSpace
from tests.test_acquisition import Bowl


def _values(*steps: float) -> torch.Tensor:
    return torch.tensor(steps, dtype=torch.float64)


# ---------------------------------------------------------------- the region's state


def test_three_successes_double_the_side_and_failures_halve_it():
    dim = 4  # failure tolerance max(4, d) = 4
    assert tr.replay(_values(5.0), dim).length == tr.LENGTH_INIT
    grown = tr.replay(_values(5, 4, 3, 2), dim)  # three improvements in a row
    assert grown.length == 2 * tr.LENGTH_INIT and grown.incumbent == 3
    shrunk = tr.replay(_values(5, 6, 6, 6, 6), dim)  # four failures
    assert shrunk.length == tr.LENGTH_INIT / 2 and shrunk.incumbent == 0
    assert tr.replay(_values(5, 6, 6, 6), dim).length == tr.LENGTH_INIT  # three are not enough
    assert tr.replay(_values(*([5] + [6] * 10)), 10).length == tr.LENGTH_INIT / 2  # d = 10: ten failures
    capped = tr.replay(_values(*range(20, 0, -1)), dim)
    assert capped.length == tr.LENGTH_MAX


def test_an_improvement_smaller_than_the_threshold_is_a_failure_but_moves_the_incumbent():
    state = tr.replay(_values(1.0, 1.0 - tr.IMPROVEMENT / 2, 2, 2, 2), 2)
    assert state.length == tr.LENGTH_INIT / 2 and state.incumbent == 1


def test_a_collapsed_region_restarts_at_its_initial_side():
    dim = 2  # every 4 failures halve: 0.8 -> ... -> below 0.5**7 after 8 halvings
    halvings = math.ceil(math.log2(tr.LENGTH_INIT / tr.LENGTH_MIN))
    state = tr.replay(_values(*([0.0] + [1.0] * (4 * halvings))), dim)
    assert state.restarts == 1 and state.length == tr.LENGTH_INIT
    before = tr.replay(_values(*([0.0] + [1.0] * (4 * halvings - 1))), dim)
    assert before.restarts == 0 and before.length < 2 * tr.LENGTH_MIN


def test_the_region_is_a_function_of_the_values_so_far():
    g = torch.Generator().manual_seed(3)
    y = torch.randn(60, generator=g, dtype=torch.float64)
    # replaying a prefix equals stopping there: a fresh process sees what a long run saw
    states = [tr.replay(y[:k], 6) for k in range(1, 61)]
    assert states[-1] == tr.replay(y.clone(), 6)
    assert len({s.length for s in states}) > 2  # the side moved along the way


def test_the_box_is_shaped_by_the_lengthscales_and_stays_in_the_cube():
    centre = torch.tensor([0.5, 0.5, 0.95], dtype=torch.float64)
    lo, hi = tr.box(centre, 0.2, torch.tensor([1.0, 4.0, 1.0], dtype=torch.float64))
    side = hi - lo
    geo = 4 ** (1 / 3)  # the lengthscales' geometric mean
    assert torch.allclose(side[:2], torch.tensor([0.2 / geo, 0.8 / geo], dtype=torch.float64))
    assert float(hi[2]) == 1.0 and float(lo[2]) == pytest.approx(0.95 - 0.1 / geo)  # clipped at the face
    lo, hi = tr.box(centre, 0.1, None, movable=torch.tensor([True, False, True]))
    assert float(lo[1]) == 0.0 and float(hi[1]) == 1.0 and float(hi[0] - lo[0]) == pytest.approx(0.1)


def test_candidates_lie_in_the_box_and_each_moves_some_coordinates():
    dim = 40
    centre = torch.full((dim,), 0.3, dtype=torch.float64)
    lo, hi = tr.box(centre, 0.2)
    cands = tr.candidates_in(lo, hi, centre, 500, torch.Generator().manual_seed(0))
    assert cands.shape == (500, dim)
    assert bool(((cands >= lo) & (cands <= hi)).all())
    moved = (cands != centre).sum(1)
    assert int(moved.min()) >= 1
    assert 12 < float(moved.double().mean()) < 28  # about 20 of 40 coordinates (TuRBO's mask)


# ---------------------------------------------------------------- the minimiser


def test_lbfgsb_finds_a_bowls_minimum_inside_the_box_and_never_gets_worse():
    target = torch.tensor([0.31, 0.72, 0.5], dtype=torch.float64)

    def bowl(x):
        return ((x - target) ** 2).sum(-1)

    starts = torch.tensor([[0.2, 0.6, 0.1], [0.4, 0.65, 0.9]], dtype=torch.float64)
    lo, hi = torch.zeros(3, dtype=torch.float64), torch.tensor([1.0, 0.7, 1.0], dtype=torch.float64)
    ends, values = minimise(bowl, starts, lo, hi, movable=torch.tensor([True, True, False]))
    assert torch.allclose(ends[:, :2], torch.tensor([[0.31, 0.7], [0.31, 0.7]], dtype=torch.float64), atol=1e-5)
    assert torch.equal(ends[:, 2], starts[:, 2])  # a fixed coordinate stays
    assert bool((values <= bowl(starts)).all())
    # with a snap (slices of 0.25: an int coordinate) every point returned is snapped, starts
    # clamped into the box included, and none is worse than its snapped start
    def snap(x):
        return (torch.floor(x * 4).clamp(max=3) + 0.5) / 4

    outside = torch.tensor([[0.9, 0.95, 0.1]], dtype=torch.float64)  # beyond hi[1] = 0.7
    ends, values = minimise(bowl, outside, lo, hi, snap=snap)
    assert torch.equal(snap(ends), ends)
    assert float(values[0]) <= float(bowl(snap(torch.minimum(outside, hi)))[0])


class WideBowl(Bowl):
    """The bowl, searched in trust regions from 8 inputs on."""

    acquisition = AcquisitionOptions(trust_region_dim=8)


def test_thompson_sampling_in_a_trust_region_minimises_each_draw_inside_the_box():
    dim = 10
    g = torch.Generator().manual_seed(0)
    X = torch.rand(30, dim, generator=g, dtype=torch.float64)
    y = torch.randn(30, generator=g, dtype=torch.float64)
    state = tr.replay(y, dim)
    lo, hi = tr.box(X[state.incumbent], state.length)
    target = [0.97] * dim  # the draws' minimum is outside the region
    surrogate = WideBowl(target)
    points = thompson_suggest(surrogate, X, y, 3, torch.Generator().manual_seed(1))
    assert bool(((points >= lo - 1e-12) & (points <= hi + 1e-12)).all())  # inside the box
    clipped = torch.minimum(torch.maximum(torch.tensor(target, dtype=torch.float64), lo), hi)
    assert float((points[0] - clipped).abs().max()) < 1e-4  # at the draw's minimum over the box
    # below the trust region's dimension the same bowl is searched over the whole cube
    low = WideBowl([0.97] * 7)
    point7 = thompson_suggest(low, X[:, :7], y, 1, torch.Generator().manual_seed(1))[0]
    assert float((point7 - 0.97).abs().max()) < 0.05


def test_ranked_alternatives_of_a_trust_region_draw_are_its_next_candidates():
    dim = 9
    g = torch.Generator().manual_seed(2)
    X = torch.rand(20, dim, generator=g, dtype=torch.float64)
    y = torch.randn(20, generator=g, dtype=torch.float64)
    ranked = thompson_ranked(WideBowl([0.5] * dim), X, y, 2, torch.Generator().manual_seed(0), UnitSpace(dim), keep=8)
    assert ranked.shape == (2, 8, dim)
    assert torch.cdist(ranked[0, :1], ranked[1, :1]).item() > 0  # two draws, two points


# ---------------------------------------------------------------- LogEI


@pytest.mark.parametrize("z", [6.0, 1.0, 0.0, -0.99, -1.0, -1.01, -4.0, -12.0, -35.0])
def test_log_h_matches_the_closed_form_and_has_finite_gradients(z):
    t = torch.tensor([z], dtype=torch.float64, requires_grad=True)
    value = log_h(t)
    value.sum().backward()
    expected = math.log(norm.pdf(z) + z * norm.cdf(z)) if z > -5 else None
    if expected is not None:
        assert float(value.detach()) == pytest.approx(expected, rel=1e-9, abs=1e-12)
    else:  # h(z) = phi(z) - |z| Q(|z|) cancels in floating point; use the asymptotic series instead
        u = -z
        series = norm.logpdf(u) - 2 * math.log(u) + math.log(1 - 3 / u**2 + 15 / u**4)
        assert float(value.detach()) == pytest.approx(series, rel=1e-6)
    assert math.isfinite(float(t.grad)) and float(t.grad) > 0  # EI grows with the improvement


def test_log_ei_is_the_log_of_expected_improvement():
    mean = torch.tensor([0.0, 1.0, -0.5], dtype=torch.float64)
    std = torch.tensor([1.0, 0.3, 2.0], dtype=torch.float64)
    best = 0.2
    z = (best - mean) / std
    ei = std * (torch.from_numpy(norm.pdf(z.numpy())) + z * torch.from_numpy(norm.cdf(z.numpy())))
    assert torch.allclose(log_ei(mean, std, best), ei.log())


@pytest.mark.parametrize("name", ["np", "gp"])
def test_logei_on_a_real_surrogate_asks_where_a_bowl_is_lowest(name):
    from npopt.surrogates import make_surrogate

    g = torch.Generator().manual_seed(4)
    X = torch.rand(12, 2, generator=g, dtype=torch.float64)
    target = torch.tensor([0.62, 0.35], dtype=torch.float64)
    values = ((X - target) ** 2).sum(-1)
    y = (values - values.mean()) / values.std()
    surrogate = make_surrogate(name, 2, acquisition="logei")
    ranked = thompson_ranked(surrogate, X, y, 2, torch.Generator().manual_seed(0), UnitSpace(2), keep=3)
    assert ranked.shape == (2, 3, 2)
    first, second = ranked[:, 0]
    assert float(((first - target) ** 2).sum()) < float(values.min())  # better than every observation
    assert float(torch.dist(first, second)) > UnitSpace(2).radius  # a batch: distinct points


def test_the_last_evaluations_of_a_known_budget_maximise_logei_and_the_others_draw():
    import dataclasses

    from npopt.surrogates import make_surrogate

    g = torch.Generator().manual_seed(4)
    X = torch.rand(12, 2, generator=g, dtype=torch.float64)
    values = ((X - torch.tensor([0.62, 0.35], dtype=torch.float64)) ** 2).sum(-1)
    y = (values - values.mean()) / values.std()

    def ask(rule: str = "thompson", final: int = 0, remaining: int | None = None):
        surrogate = make_surrogate("np", 2, acquisition=rule)
        surrogate.acquisition = dataclasses.replace(surrogate.acquisition, final_logei=final)
        return thompson_ranked(surrogate, X, y, 1, torch.Generator().manual_seed(0), UnitSpace(2), keep=2,
                               remaining=remaining)

    logei, thompson = ask("logei"), ask()
    assert not torch.equal(logei, thompson)
    assert torch.equal(ask(final=1, remaining=1), logei)  # the last one: LogEI
    assert torch.equal(ask(final=3, remaining=3), logei)
    assert torch.equal(ask(final=1, remaining=2), thompson)  # two left: still Thompson sampling
    assert torch.equal(ask(final=1), thompson)  # no known budget
    assert torch.equal(ask(remaining=1), thompson)  # the option off (the default)


def test_a_trust_region_in_a_mixed_space_keeps_most_categories_and_changes_some():
    from npopt.space import Categorical, Float, Space

    space = Space({**{f"x{i}": Float(0, 1) for i in range(7)}, "c": Categorical(list("abcde"))})
    unit = UnitSpace.of(space)
    g = torch.Generator().manual_seed(0)
    X = unit.snap(torch.rand(15, 8, generator=g, dtype=torch.float64))
    y = torch.randn(15, generator=g, dtype=torch.float64)
    incumbent = X[tr.replay(y, 8).incumbent]
    ranked = thompson_ranked(WideBowl([0.5] * 8), X, y, 1, torch.Generator().manual_seed(0), unit, keep=8)
    points = ranked[0]
    assert torch.equal(unit.snap(points), points)  # categories at their centres
    kept = (points[:, 7] == incumbent[7]).float().mean()
    assert 0 < float(kept) < 1  # the alternatives both keep and change the incumbent's category
