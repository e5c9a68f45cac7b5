"""Surrogate tests beyond the contract (tests/test_surrogate_contract.py): shapes in 1-D and
2-D, fidelity and smoothness of the draws, each surrogate's own machinery (the GP's pathwise,
mixed and subset draws, random search's uniformity, the NP's polish, output warp and refits).

Parametrised tests run over every name in :data:`npopt.surrogates.SURROGATES` plus the
benchmark's ``gp-oracle``; ``np`` uses the shipped priors.
"""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch

from npopt.encoding import UnitSpace
from npopt.surrogates import SURROGATES, make_surrogate
from npopt.surrogates.oracle import OracleGPSurrogate

NAMES = (*SURROGATES, "gp-oracle")
MODELS = tuple(n for n in NAMES if n != "random")


def build(name: str, dim: int):
    if name == "gp-oracle":
        return OracleGPSurrogate(lengthscale=0.2, signal_std=1.0)
    return make_surrogate(name, dim)


def data(dim: int, n: int = 8, seed: int = 0):
    """``n`` points of a smooth function, values standardised."""
    g = torch.Generator().manual_seed(seed)
    X = torch.rand(n, dim, generator=g, dtype=torch.float64)
    y = torch.sin(6.0 * X).sum(-1)
    return X, (y - y.mean()) / y.std()


def draws(surrogate, X, y, candidates, n_draws, seed):
    if X.shape[0] >= surrogate.min_observations:
        surrogate.condition(X, y)
    return surrogate.sample(candidates, n_draws, torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("dim", [1, 2])
@pytest.mark.parametrize("name", NAMES)
def test_shapes_and_finite(name, dim):
    s = build(name, dim)
    assert s.min_observations >= 0 and s.supports(dim)
    X, y = data(dim)
    C = torch.rand(37, dim, dtype=torch.float64)
    out = draws(s, X, y, C, 5, 0)
    assert out.shape == (5, 37)
    assert torch.isfinite(out).all()


def test_gp_pathwise_draws_deterministic_and_near_posterior():
    """Beyond ``joint_max`` candidates the GP uses Matheron paths; same contract."""
    from npopt.surrogates.gp import GPSurrogate

    X, y = data(1)
    C = torch.linspace(0, 1, 300, dtype=torch.float64)[:, None]
    s = GPSurrogate(joint_max=100)
    s.condition(X, y)
    a = s.sample(C, 64, torch.Generator().manual_seed(1))
    b = s.sample(C, 64, torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and a.shape == (64, 300)
    mean, std = s.predict(C)
    assert (a.mean(0) - mean).abs().max() < 4 * std.max() / math.sqrt(64) + 0.05


@pytest.mark.parametrize("name", MODELS)
def test_draws_pass_near_observations(name):
    X, y = data(1)
    out = draws(build(name, 1), X, y, X, 16, 0)  # 16 x n at the observed points
    assert (out - y).abs().median() < 0.25, (out - y).abs().median()


@pytest.mark.parametrize("name", MODELS)
def test_draws_are_coherent_functions(name):
    """Each row is one smooth function, not independent noise around a mean.

    Residuals about the mean draw: adjacent grid points of the SAME draw are strongly
    correlated; the same point in two DIFFERENT draws is not.
    """
    X, y = data(1, n=3)
    C = torch.linspace(0, 1, 200, dtype=torch.float64)[:, None]
    r = draws(build(name, 1), X, y, C, 64, 0)
    r = r - r.mean(0)  # 64 x 200

    def corr(a, b):
        return float((a * b).sum() / (a.square().sum() * b.square().sum()).sqrt())

    within = corr(r[:, :-1], r[:, 1:])
    across = corr(r[:-1], r[1:])
    assert within > 0.9, within
    assert abs(across) < 0.3, across


def test_random_draws_are_uniform_and_pick_uniformly():
    s = make_surrogate("random", 1)
    assert s.min_observations == 0
    out = s.sample(torch.zeros(10, 1, dtype=torch.float64), 20000, torch.Generator().manual_seed(0))
    assert 0 <= float(out.min()) and float(out.max()) <= 1
    counts = torch.bincount(out.argmin(1), minlength=10).double()
    assert (counts / 2000 - 1).abs().max() < 0.1


def test_gp_fit_failure_falls_back_with_warning(monkeypatch):
    import botorch.fit

    from npopt.surrogates.gp import GPFitWarning, GPSurrogate

    def boom(*args, **kwargs):
        raise RuntimeError("simulated fit failure")

    monkeypatch.setattr(botorch.fit, "fit_gpytorch_mll", boom)
    X, y = data(1)
    s = GPSurrogate()
    with pytest.warns(GPFitWarning, match="simulated fit failure"):
        s.condition(X, y)
    assert s.fit_failed
    out = s.sample(X, 3, torch.Generator().manual_seed(0))
    assert out.shape == (3, X.shape[0]) and torch.isfinite(out).all()


def test_random_search_is_uniform_not_clustered_near_the_incumbent():
    """Random search must not inherit the model surrogates' local candidates."""
    import torch

    from npopt.acquisition.thompson import thompson_suggest
    from npopt.surrogates import make_surrogate

    X = torch.full((5, 2), 0.9, dtype=torch.float64) + 0.01 * torch.arange(5, dtype=torch.float64)[:, None]
    y = torch.arange(5, dtype=torch.float64)
    picks = torch.cat([thompson_suggest(make_surrogate("random", 2), X, y, 8, torch.Generator().manual_seed(s))
                       for s in range(40)])
    near = (picks - 0.92).norm(dim=1) < 0.2  # a disc of area ~0.126 around the incumbent
    assert near.float().mean() < 0.25, near.float().mean()
    assert abs(picks.mean().item() - 0.5) < 0.06


@pytest.mark.parametrize("dim", [2, 3])
def test_np_paths_match_sample_and_polishing_only_goes_downhill(dim):
    """The NP's differentiable paths are the draws sample() gives; Thompson sampling's
    gradient polish ends at a point where the same draw is no higher than at the best
    candidate, and never leaves the unit cube."""
    from npopt.acquisition.candidates import candidate_set
    from npopt.acquisition.thompson import thompson_suggest

    X, y = data(dim, n=12)
    surrogate = build("np", dim)
    surrogate.condition(X, y)
    cands = candidate_set(dim, torch.Generator().manual_seed(5), X, y)
    paths = surrogate.paths(3, torch.Generator().manual_seed(7))
    assert torch.allclose(paths(cands), surrogate.sample(cands, 3, torch.Generator().manual_seed(7)), atol=1e-5)

    for seed in range(3):
        polished = thompson_suggest(surrogate, X, y, 1, torch.Generator().manual_seed(seed))[0]
        plain = thompson_suggest(surrogate, X, y, 1, torch.Generator().manual_seed(seed),
                                 options=replace(surrogate.acquisition, polish_steps=0))[0]
        # replay the same draw: same generator state as inside thompson_suggest
        g = torch.Generator().manual_seed(seed)
        candidate_set(dim, g, X, y, lean=surrogate.acquisition.lean_candidates)
        again = surrogate.paths(1, g)
        assert float(again(polished[None])[0, 0]) <= float(again(plain[None])[0, 0]) + 1e-6
        assert bool(((polished >= 0) & (polished <= 1)).all())


def test_one_dimensional_draws_are_not_polished_by_default():
    from npopt.acquisition.thompson import thompson_suggest

    X, y = data(1, n=8)
    for seed in range(3):
        default = thompson_suggest(build("np", 1), X, y, 1, torch.Generator().manual_seed(seed))
        np1 = build("np", 1)
        plain = thompson_suggest(np1, X, y, 1, torch.Generator().manual_seed(seed),
                                 options=replace(np1.acquisition, polish_steps=0))
        assert torch.equal(default, plain)


def test_a_grid_is_never_polished():
    from npopt.acquisition.thompson import thompson_suggest

    X, y = data(2, n=6)  # 2-D: where the polish runs by default
    g = torch.linspace(0, 1, 21, dtype=torch.float64)
    grid = torch.cartesian_prod(g, g)
    picks = thompson_suggest(build("np", 2), X, y, 4, torch.Generator().manual_seed(0), candidates=grid, grid=True)
    assert bool((torch.cdist(picks, grid).min(-1).values < 1e-12).all())  # every pick is a grid point


# ------------------------------------------------------------------ categorical inputs

#: A 3-D mixed space: a float, a 4-choice categorical, a float.
CHOICES = (0, 4, 0)


def build_mixed(name: str, choices=CHOICES, **kwargs):
    return make_surrogate(name, len(choices), choices=choices, **kwargs)


def snap_categories(U, choices=CHOICES):
    """Categorical coordinates to their choice centres ``(i + 0.5) / C``."""
    U = U.clone()
    for j, C in enumerate(choices):
        if C:
            U[:, j] = (torch.floor(U[:, j] * C).clamp(0, C - 1) + 0.5) / C
    return U


def mixed_data(n: int = 24, seed: int = 0):
    """Values that depend on the category: choice 1 is 2 units higher than the others."""
    g = torch.Generator().manual_seed(seed)
    X = snap_categories(torch.rand(n, 3, generator=g, dtype=torch.float64))
    y = torch.sin(6.0 * X[:, 0]) + X[:, 2] + 2.0 * (torch.floor(X[:, 1] * 4) == 1).double()
    return X, (y - y.mean()) / y.std()


def test_choices_are_checked_and_all_zero_means_continuous():
    assert make_surrogate("gp", 2, choices=(0, 0)).choices == ()
    assert make_surrogate("random", 2, choices=None).choices == ()
    with pytest.raises(ValueError, match="2 entries for a 3-dimensional"):
        make_surrogate("gp", 3, choices=(0, 4))
    with pytest.raises(ValueError, match="at least 2"):
        make_surrogate("gp", 2, choices=(0, 1))


def test_gp_uses_the_mixed_model_only_with_categoricals():
    from botorch.models import MixedSingleTaskGP, SingleTaskGP

    X, y = mixed_data()
    mixed, plain = make_surrogate("gp", 3, choices=CHOICES), make_surrogate("gp", 3)
    mixed.condition(X, y)
    plain.condition(X, y)
    assert isinstance(mixed.model, MixedSingleTaskGP)
    assert type(plain.model) is SingleTaskGP
    # the categorical column reaches the model as choice indices 0..3
    assert set(mixed.model.train_inputs[0][:, 1].tolist()) <= {0.0, 1.0, 2.0, 3.0}


def test_mixed_gp_draws_differ_between_categories_and_are_coherent():
    """Choice 1 was observed 2 units higher: the draws there are higher along the whole
    x-range, and each draw is a smooth function of x within a category."""
    X, y = mixed_data(n=40)
    s = make_surrogate("gp", 3, choices=CHOICES)
    s.condition(X, y)
    x = torch.linspace(0, 1, 50, dtype=torch.float64)
    grids = [torch.stack([x, torch.full_like(x, (i + 0.5) / 4), torch.full_like(x, 0.5)], 1) for i in range(4)]
    out = s.sample(torch.cat(grids), 32, torch.Generator().manual_seed(0)).reshape(32, 4, 50)
    means = out.mean((0, 2))  # per category
    assert means[1] > means[[0, 2, 3]].max() + 0.5, means
    r = out[:, 0] - out[:, 0].mean(0)  # 32 x 50 residuals in category 0
    within = float((r[:, :-1] * r[:, 1:]).sum() / (r[:, :-1].square().sum() * r[:, 1:].square().sum()).sqrt())
    assert within > 0.9, within
    # any point of a category's slice is that category: u = 0.3 and 0.45 are both choice 1
    a, b = grids[0][:5].clone(), grids[0][:5].clone()
    a[:, 1], b[:, 1] = 0.3, 0.45
    pair = s.sample(torch.cat([a, b]), 4, torch.Generator().manual_seed(1))
    assert torch.allclose(pair[:, :5], pair[:, 5:], atol=1e-2)  # identical inputs, up to jitter


def test_mixed_gp_beyond_joint_max_draws_a_subset_exactly():
    """Beyond joint_max candidates the mixed GP (BoTorch has no random features for the
    categorical kernel) draws exactly on a subset and conditions the rest on it: same
    generator, same draws; the mean follows the posterior; the spread never exceeds it."""
    X, y = mixed_data(n=30)
    C = snap_categories(torch.rand(300, 3, generator=torch.Generator().manual_seed(4), dtype=torch.float64))
    s = make_surrogate("gp", 3, choices=CHOICES, joint_max=100)
    s.condition(X, y)
    a = s.sample(C, 2000, torch.Generator().manual_seed(1))
    assert torch.equal(a, s.sample(C, 2000, torch.Generator().manual_seed(1)))
    mean, std = s.predict(C)
    assert ((a.mean(0) - mean).abs() / std).max() < 0.15
    ratio = a.std(0) / std
    assert ratio.max() < 1.1 and (ratio > 0.9).sum() >= 90  # ~100 exact columns


def test_random_search_on_a_mixed_space_picks_valid_categories():
    from npopt.acquisition.thompson import thompson_suggest

    X, y = mixed_data(n=4)
    picks = torch.cat([
        thompson_suggest(build_mixed("random"), X, y, 4, torch.Generator().manual_seed(s),
                         UnitSpace(3, CHOICES, snap_categories))
        for s in range(20)
    ])
    assert torch.equal(picks, snap_categories(picks))
    assert set(torch.floor(picks[:, 1] * 4).tolist()) == {0.0, 1.0, 2.0, 3.0}



# ------------------------------------------------------------------ the output warp

def test_the_np_warps_values_with_a_long_upper_tail_and_leaves_smooth_ones():
    """The evidence chooses the output warp: a smooth function's values stay as they are,
    and so do those of a function with a long tail below (towards the minimum); the same
    function through exp (a few large values that squash the rest) gets the log gap, and its
    predictions, mapped back by to_units, meet the observed values."""
    from npopt.encoding import standardise

    g = torch.Generator().manual_seed(0)
    X = torch.rand(30, 2, generator=g, dtype=torch.float64)
    f = torch.sin(3 * X).sum(-1) + (X - 0.3).pow(2).sum(-1)
    chosen = {}
    for name, raw in [("smooth", f), ("upper tail", torch.exp(3 * f)), ("lower tail", -torch.exp(-3 * f))]:
        s = build("np", 2)
        y = standardise(raw)
        s.condition(X, y)
        chosen[name] = s.output_warp
        mean, _ = s.predict(X)
        assert (s.to_units(mean) - y).abs().max() < 0.05, name
    assert chosen["smooth"] is None and chosen["lower tail"] is None
    assert chosen["upper tail"] is not None


def test_the_log_gap_warp_inverts_and_its_jacobian_is_the_elementwise_one():
    from npopt.surrogates.np import warp_values

    y = torch.randn(12, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    w, log_jacobian, inverse = warp_values(y, 0.2)
    assert torch.allclose(inverse(w), y, atol=1e-12)
    assert abs(float(w.mean())) < 1e-12 and abs(float(w.std()) - 1) < 1e-12
    # each w_i as a function of y_i alone, the warp's constants held: a central difference
    gap = y - y.min() + 0.2
    mean, std = gap.log().mean(), gap.log().std()
    h = 1e-6
    slope = ((gap + h).log() - (gap - h).log()) / (2 * h) / std
    assert abs(log_jacobian - float(slope.log().sum())) < 1e-6
    assert torch.allclose((gap.log() - mean) / std, w)


def test_the_warps_encoded_as_one_batch_are_each_refined_as_if_alone():
    """The four warps are encoded and refined as one batch: the chosen warp is the one
    that encoding each alone scores best, and the encoding that serves the asks predicts as
    the chosen warp's encoding alone does (float rounding apart)."""
    from npopt.encoding import standardise
    from npopt.surrogates.np import OUTPUT_WARPS, warp_values

    g = torch.Generator().manual_seed(4)
    X = torch.rand(25, 3, generator=g, dtype=torch.float64)
    queries = torch.rand(40, 3, generator=g, dtype=torch.float64)
    f = torch.sin(3 * X).sum(-1) + (X - 0.3).pow(2).sum(-1)
    chosen = set()
    for raw in (f, torch.exp(3 * f)):
        y = standardise(raw)
        s = build("np", 3)
        s.condition(X, y)
        y0 = (y - y.mean()) / y.std()
        alone = {}
        for offset in OUTPUT_WARPS:
            w, log_jacobian, _ = (y0, 0.0, None) if offset is None else warp_values(y0, offset)
            with torch.no_grad():
                ctx = s.model.encode(s._pad(X)[None], w.float()[None], constant_mean=s.constant_mean)
            alone[offset] = ctx, float(s.model.evidence(ctx, s._pad(X)[None], w[None])[0]) + log_jacobian
        assert s.output_warp == max(alone, key=lambda o: alone[o][1])
        served, _ = s.predict(queries)
        mean, _ = s.model.predict_from(alone[s.output_warp][0], s._pad(queries))
        assert torch.allclose(mean.double(), served, atol=1e-4)
        chosen.add(s.output_warp)
    assert len(chosen) == 2  # the smooth values and the long tail chose differently


def test_few_observations_are_not_warped():
    from npopt.surrogates.np import WARP_MIN_POINTS

    s = build("np", 2)
    X = torch.rand(WARP_MIN_POINTS - 1, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    s.condition(X, torch.cat([0.1 * torch.arange(WARP_MIN_POINTS - 2.0), torch.tensor([30.0])]).double())
    assert s.output_warp is None
    assert torch.equal(s.to_units(torch.tensor([1.5])), torch.tensor([1.5]))


# ------------------------------------------------------------------ fast asks

def test_refit_points_serve_at_most_an_eighth_more_observations():
    from npopt.surrogates.np import REFIT_EVERY_ASK, refit_point

    points = [refit_point(n) for n in range(1, 2001)]
    assert points[:REFIT_EVERY_ASK] == list(range(1, REFIT_EVERY_ASK + 1))  # small studies: every ask
    for n, n0 in enumerate(points, start=1):
        assert n0 <= n and 8 * (n - n0) <= n0 + 8
    assert points == sorted(points) and len(set(points[REFIT_EVERY_ASK:])) < 30  # few fits up to 2,000


def test_np_conditioning_is_the_same_in_a_fresh_process_as_after_many_asks():
    """The kept basis fit depends on the data only: a surrogate that conditioned on every
    prefix of a study (npopt run) and a fresh one (npopt ask in a new process) give the
    same draws, also between refit points and with the values re-standardised each time."""
    from npopt.encoding import standardise
    from npopt.surrogates.np import REFIT_EVERY_ASK, refit_point

    first = REFIT_EVERY_ASK  # refit points from here on: first, first + first // 8, ...
    second = first + first // 8
    last = second + second // 8 + 2
    g = torch.Generator().manual_seed(11)
    X = torch.rand(last, 3, generator=g, dtype=torch.float64)
    raw = torch.sin(5 * X).sum(-1) + 0.1 * torch.randn(last, generator=g, dtype=torch.float64)
    cands = torch.rand(64, 3, generator=g, dtype=torch.float64)
    running = build("np", 3)
    checked = (first - 1, first, first + 1, second - 1, second, second + 1, last)
    assert [refit_point(n) for n in checked] == [first - 1, first, first, first, second, second, refit_point(last)]
    for n in range(first - 1, last + 1):
        y = standardise(raw[:n])
        running.condition(X[:n], y)
        if n in checked:
            fresh = build("np", 3)
            fresh.condition(X[:n], y)
            same = running.sample(cands, 2, torch.Generator().manual_seed(n))
            torch.testing.assert_close(fresh.sample(cands, 2, torch.Generator().manual_seed(n)), same)


def test_between_refits_the_np_still_conditions_on_every_observation(monkeypatch):
    """Between refit points the refinement's corrections are kept, but the proposal, the
    noise choice and the posterior are all n points': a surprising observation added since
    the last refit moves the prediction towards it and raises the noise, nearly as much as
    a refit on all points does."""
    import npopt.surrogates.np as np_module

    X, y = data(2, n=np_module.REFIT_EVERY_ASK, seed=3)
    X2 = torch.cat([X, torch.tensor([[0.5, 0.5]], dtype=torch.float64)])
    y2 = torch.cat([y, torch.tensor([-2.5], dtype=torch.float64)])
    kept = build("np", 2)
    kept.condition(X, y)  # a refit point
    before, _ = kept.predict(X2[-1:])
    noise_before = float(kept._context().noise[0])
    kept.condition(X2, y2)  # one more: the refinement of the first ones is kept
    monkeypatch.setattr(np_module, "REFIT_EVERY_ASK", 10**6)
    refit = build("np", 2)
    refit.condition(X2, y2)
    (after, _), (refitted, _) = kept.predict(X2[-1:]), refit.predict(X2[-1:])
    assert float(after[0]) < float(before[0]) - 0.1
    assert abs(float(after[0]) - float(refitted[0])) < 0.25 * (float(before[0]) - float(refitted[0]))
    noise, refit_noise = float(kept._context().noise[0]), float(refit._context().noise[0])
    assert noise > 10 * noise_before and 0.67 < noise / refit_noise < 1.5


def test_beyond_the_refit_point_the_noise_matches_a_refit_in_twelve_dimensions(monkeypatch):
    """Regression: between refit points the noise was chosen on the network's proposal, not
    on the refined basis that the posterior uses; on 200 points of Hartmann6 in 12-D it sat
    at the top of the grid (1.0, all noise) while a refit on all points found 0.14."""
    import npopt.surrogates.np as np_module
    from npopt.benchmarks.problems import make_problem

    problem = make_problem("hartmann6_12")
    X = torch.rand(200, 12, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    y = problem.evaluate(X)
    y = (y - y.mean()) / y.std()
    kept = build("np", 12)
    kept.condition(X, y)  # the refinement of the first refit_point(200) points, kept
    assert np_module.refit_point(200) < 200
    monkeypatch.setattr(np_module, "REFIT_EVERY_ASK", 10**6)
    refit = build("np", 12)
    refit.condition(X, y)
    noise, refit_noise = float(kept._context().noise[0]), float(refit._context().noise[0])
    assert 0.5 < noise / refit_noise < 2.0


def test_the_np_draws_over_the_lean_candidate_set():
    from npopt.acquisition.candidates import candidate_set

    X, y = data(4, n=10)
    full = candidate_set(4, torch.Generator().manual_seed(0), X, y)
    lean = candidate_set(4, torch.Generator().manual_seed(0), X, y, lean=True)
    assert lean.shape[0] * 2 < full.shape[0] and lean.shape[0] == 768 + 5 * 3 * 64
    assert make_surrogate("np", 4).acquisition.lean_candidates
    assert not make_surrogate("gp", 4).acquisition.lean_candidates


def test_spaces_of_seven_or_more_parameters_or_with_a_categorical_get_the_widened_prior():
    from npopt.surrogates.np import WIDE_FEATURES, WIDE_FROM_DIM, NPSurrogate

    wide = NPSurrogate.for_dim(WIDE_FROM_DIM)
    categorical = NPSurrogate.for_dim(3, choices=[0, 0, 3])  # np16d, 3 parameters, one a choice
    narrow = NPSurrogate.for_dim(WIDE_FROM_DIM - 1, checkpoint="np16d")  # np16d, continuous, 6 parameters
    assert wide.model.base_freqs.shape[0] == categorical.model.base_freqs.shape[0] == WIDE_FEATURES
    assert categorical.model.cat_phases.shape[0] == WIDE_FEATURES
    assert narrow.model.base_freqs.shape[0] == narrow.model.config.spectral_features < WIDE_FEATURES
    assert NPSurrogate.for_dim(WIDE_FROM_DIM).model.base_freqs.shape[0] == WIDE_FEATURES  # cache untouched
    X, y = data(10, n=20)
    surrogate = NPSurrogate.for_dim(10)
    surrogate.condition(X, y)
    cands = torch.rand(50, 10, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    draws = surrogate.sample(cands, 2, torch.Generator().manual_seed(2))
    again = surrogate.paths(2, torch.Generator().manual_seed(2))(cands)
    assert draws.shape == (2, 50) and torch.allclose(draws, again, atol=1e-5)
    assert surrogate._context().z_mean.shape[-1] == 2 * WIDE_FEATURES


def _conditioned_np(dim, X, y, choices=None, **settings):
    """The shipped NP for ``dim`` inputs, its config changed by ``settings``, conditioned."""
    import copy
    import dataclasses

    from npopt.encoding import standardise

    s = make_surrogate("np", dim, choices=choices)
    if settings:
        s.model = copy.copy(s.model)  # the cached prior stays as shipped
        s.model.config = dataclasses.replace(s.model.config, **settings)
    s.condition(X, standardise(y))
    return s._context()


def test_the_refinement_may_lower_the_noise_below_the_trained_floor_on_noise_free_data():
    X = torch.rand(30, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    y = torch.sin(6 * X[:, 0]) + torch.cos(4 * X[:, 1]) + X[:, 0] ** 2  # smooth, no noise
    shipped = _conditioned_np(2, X, y)
    assert shipped.noise.item() < 0.004  # below the network's floor min_std = 0.005
    assert shipped.noise.item() >= 0.0005 * (1 - 1e-6)  # not below refine_min_std
    assert _conditioned_np(2, X, y, refine_min_std=0.005).noise.item() >= 0.005 * (1 - 1e-6)


def test_a_categorical_whose_choices_barely_matter_gets_a_long_lengthscale_from_few_points():
    g = torch.Generator().manual_seed(0)
    X = torch.rand(12, 2, generator=g, dtype=torch.float64)
    c = torch.randint(0, 4, (12,), generator=g)
    Xc = torch.cat([X, ((c + 0.5) / 4).double()[:, None]], 1)
    y = torch.sin(6 * X[:, 0]) + torch.cos(4 * X[:, 1]) + 0.01 * c  # the choice adds almost nothing

    def correlation(ctx):  # between two different choices: exp(-1 / l), l = 4 exp(log_ls)
        return math.exp(-1 / (4 * ctx.log_ls[0, 2].exp().item()))

    assert correlation(_conditioned_np(3, Xc, y, choices=(0, 0, 4))) > 0.95
    # on the continuous inputs' leash the categorical stays near the trained range (<= 0.82)
    assert correlation(_conditioned_np(3, Xc, y, choices=(0, 0, 4), refine_cat_prior_std=1.0)) < 0.9
