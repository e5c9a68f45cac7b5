"""Categorical inputs in the prior and the Neural Process: the Hamming kernel, its random
features, mixed tasks, and the limits a prior states."""

from __future__ import annotations

import math

import pytest
import torch

from npopt.neural.model import CAT_LS_SCALE, NeuralProcess, NPConfig
from npopt.neural.priors import (
    PriorConfig,
    choice_index,
    full_kernel,
    hamming_kernel,
    oracle_log_likelihood,
    sample_tasks,
)

MIXED = dict(x_dim=4, d_model=32, n_heads=2, encoder_layers=1, decoder_hidden=32,
             spectral="ard", spectral_features=16, max_choices=6, noise_grid=4, count_feature=True,
             fourier_features=4)


def mixed_prior(**kw) -> PriorConfig:
    return PriorConfig(**{"x_dim": 4, "ard": True, "cat_prob": 1.0, "cat_dims_max": 2, "choices_min": 2,
                          "choices_max": 6, **kw})


def test_choice_index_inverts_the_unit_encoding():
    choices = torch.tensor([3, 10])
    idx = torch.tensor([[0, 9], [2, 4], [1, 0]])
    x = (idx + 0.5) / choices
    assert torch.equal(choice_index(x, choices), idx)
    assert torch.equal(choice_index(torch.tensor([[1.0, 1.0], [0.0, 0.0]]), choices), torch.tensor([[2, 9], [0, 0]]))


def test_hamming_kernel_counts_differing_categories():
    choices = torch.tensor([0, 3, 2])
    x = torch.tensor([[[0.1, 0.5 / 3, 0.25], [0.9, 0.5 / 3, 0.75], [0.1, 2.5 / 3, 0.75]]], dtype=torch.float64)
    ls = torch.tensor([[math.inf, 2.0, 0.5]], dtype=torch.float64)
    K = hamming_kernel(x, x, choices, ls)[0]
    # pair (0, 1): only input 2 differs; pair (0, 2): both categorical inputs differ
    assert K[0, 1] == pytest.approx(math.exp(-1 / 0.5))
    assert K[0, 2] == pytest.approx(math.exp(-1 / 2.0 - 1 / 0.5))
    assert K[1, 2] == pytest.approx(math.exp(-1 / 2.0))
    assert torch.allclose(K.diagonal(), torch.ones(3, dtype=torch.float64))


def test_mixed_tasks_sit_on_choice_centres_and_the_true_kernel_ignores_their_order():
    g = torch.Generator().manual_seed(3)
    tb = sample_tasks(mixed_prior(), 6, 30, 10, g, active_dims=4)
    choices = tb.choices
    assert choices is not None and 1 <= int((choices > 0).sum()) <= 2
    cat = choices > 0
    for x in (tb.xc, tb.xt):
        centres = (choice_index(x[..., cat], choices[cat]) + 0.5) / choices[cat]
        assert torch.allclose(x[..., cat], centres.to(x.dtype))
    # the continuous kernel and the trend ignore categorical coordinates: relabelling
    # the categories (a permutation of the centres) leaves the covariance unchanged
    x = tb.xc.double()
    perm = x.clone()
    j = int(cat.nonzero()[0])
    C = int(choices[j])
    idx = choice_index(x[..., j], choices[j:j + 1].expand_as(x[..., j]))
    perm[..., j] = ((C - 1 - idx) + 0.5) / C
    assert torch.allclose(full_kernel(tb.hyper, x, x), full_kernel(tb.hyper, perm, perm))
    marginal, joint = oracle_log_likelihood(tb)
    assert torch.isfinite(marginal).all() and torch.isfinite(joint).all()


def test_continuous_priors_draw_the_same_tasks_as_before_categoricals_existed():
    """cat_prob = 0 draws no extra random numbers, so existing priors keep their streams."""
    plain = PriorConfig(x_dim=3, ard=True)
    a = sample_tasks(plain, 4, 10, 5, torch.Generator().manual_seed(0), active_dims=3)
    assert a.choices is None
    b = sample_tasks(PriorConfig(x_dim=3, ard=True, cat_prob=0.0, cat_dims_max=2), 4, 10, 5,
                     torch.Generator().manual_seed(0), active_dims=3)
    assert torch.equal(a.xc, b.xc) and torch.equal(a.yt, b.yt)


def test_random_features_approximate_the_product_of_ard_and_hamming_kernels():
    torch.manual_seed(0)
    model = NeuralProcess(NPConfig(**{**MIXED, "x_dim": 3, "spectral_features": 8192})).eval()
    choices = torch.tensor([0, 4, 3])
    x = torch.tensor([[[0.3, 0.125, 0.5], [0.3, 0.375, 0.5], [0.3, 0.125, 1 / 6], [0.3, 0.375, 1 / 6]]])
    K = model.config.spectral_features
    amp = torch.full((1, K), 1 / math.sqrt(K))
    log_ls = torch.tensor([[0.0, 0.0, 1.0]])
    phi = model.waves(x, amp, log_ls, choices)[0]
    gram = phi @ phi.T
    rho = torch.exp(-torch.exp(-log_ls[0]) / CAT_LS_SCALE)
    expected = torch.tensor([[1, rho[1], rho[2], rho[1] * rho[2]],
                             [rho[1], 1, rho[1] * rho[2], rho[2]],
                             [rho[2], rho[1] * rho[2], 1, rho[1]],
                             [rho[1] * rho[2], rho[2], rho[1], 1]])
    assert torch.allclose(gram, expected, atol=0.05), (gram, expected)


def test_summed_tasks_draw_their_weights_and_the_oracle_scores_them():
    prior = mixed_prior(cat_sum_prob=0.5)
    tb = sample_tasks(prior, 64, 12, 8, torch.Generator().manual_seed(0), active_dims=3)
    w = tb.hyper["cat_weights"]
    torch.testing.assert_close(w.sum(1), torch.ones(64, dtype=torch.float64))
    product = (w[:, 0] == 1.0) & (w[:, 1:] == 0).all(1)
    assert 16 < int(product.sum()) < 48  # about half the tasks are the product alone
    marginal, joint = oracle_log_likelihood(tb)
    assert torch.isfinite(marginal).all() and torch.isfinite(joint).all()
    # the oracle's kernel: the product alone for weights (1, 0, 0); for (0, 1, 0) the choice
    # does not matter (a part every choice shares); for (0, 0, 1) only it does (an offset per choice)
    h = {"kind": torch.tensor([1]), "lengthscale": torch.tensor([[0.3, 1.0]], dtype=torch.float64),
         "period": torch.ones(1, dtype=torch.float64), "signal_std": torch.ones(1, dtype=torch.float64),
         "offset_std": torch.zeros(1, dtype=torch.float64), "trend_std": torch.zeros(1, dtype=torch.float64),
         "choices": torch.tensor([0, 4]), "cat_lengthscale": torch.tensor([[math.inf, 0.5]], dtype=torch.float64)}
    x = torch.stack([torch.linspace(0, 1, 6), torch.full((6,), 0.125)], -1).double()[None]
    y = x.clone()
    y[..., 1] = 0.625  # another choice for every point
    weigh = lambda w: {**h, "cat_weights": torch.tensor([w], dtype=torch.float64)}  # noqa: E731
    torch.testing.assert_close(full_kernel(weigh([1.0, 0.0, 0.0]), x, y), full_kernel(h, x, y))
    torch.testing.assert_close(full_kernel(weigh([0.0, 1.0, 0.0]), x, y), full_kernel(weigh([0.0, 1.0, 0.0]), x, x))
    offsets = full_kernel(weigh([0.0, 0.0, 1.0]), x, y)
    torch.testing.assert_close(offsets, torch.full_like(offsets, math.exp(-1 / 0.5)))  # rho for one differing input
    torch.testing.assert_close(full_kernel(weigh([0.0, 0.0, 1.0]), x, x), torch.ones_like(offsets))
    # without cat_sum_prob the draws are the same as before the option existed
    a = sample_tasks(mixed_prior(), 4, 10, 5, torch.Generator().manual_seed(0), active_dims=3)
    b = sample_tasks(mixed_prior(cat_sum_prob=0.0), 4, 10, 5, torch.Generator().manual_seed(0), active_dims=3)
    assert "cat_weights" not in a.hyper and torch.equal(a.yt, b.yt)


def test_every_feature_keeps_its_power_with_many_categorical_inputs():
    """Six categorical inputs at the shipped basis size: each feature's [cos, sin] pair has
    the same power at every point (a random phase, not a random gain, carries the choice),
    and the gram still approximates the Hamming kernel."""
    torch.manual_seed(0)
    K = 128
    model = NeuralProcess(NPConfig(**{**MIXED, "x_dim": 7, "spectral_features": K, "max_choices": 5})).eval()
    choices = torch.tensor([0, 5, 5, 5, 5, 5, 5])
    g = torch.Generator().manual_seed(1)
    idx = torch.randint(0, 5, (200, 6), generator=g)
    x = torch.cat([torch.rand(200, 1, generator=g), (idx + 0.5) / 5], -1)[None]
    amp = torch.full((1, K), 1 / math.sqrt(K))
    log_ls = torch.zeros(1, 7)  # Hamming lengthscale 4: rho = exp(-1/4) per differing input
    phi = model.waves(x, amp, log_ls, choices)[0]  # 200 x 2K
    power = phi[:, :K] ** 2 + phi[:, K:] ** 2  # 200 x K
    assert torch.allclose(power, torch.full_like(power, 1 / K), rtol=1e-4)
    # points that share the continuous input: the gram is rho ** (number of differing choices)
    x[..., 0] = 0.5
    phi = model.waves(x, amp, log_ls, choices)[0]
    gram = phi @ phi.T
    differ = (idx[:, None, :] != idx[None, :, :]).sum(-1)
    expected = math.exp(-1 / CAT_LS_SCALE) ** differ
    off = ~torch.eye(200, dtype=torch.bool)
    assert (gram - expected)[off].abs().mean() < 0.08  # Monte Carlo error of 128 features


def test_mixed_model_learns_and_draws_differ_between_categories():
    torch.manual_seed(0)
    model = NeuralProcess(NPConfig(**MIXED)).train()
    prior = mixed_prior()
    val = sample_tasks(prior, 32, 15, 20, torch.Generator().manual_seed(99), active_dims=3).float()
    before = model.loss(val.xc, val.yc, val.xt, val.yt, choices=val.choices).item()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(5)
    for _ in range(80):
        tb = sample_tasks(prior, 16, 15, 20, g, active_dims=3).float()
        loss = model.loss(tb.xc, tb.yc, tb.xt, tb.yt, 0.5, tb.choices)
        opt.zero_grad()
        loss.backward()
        opt.step()
    after = model.loss(val.xc, val.yc, val.xt, val.yt, choices=val.choices).item()
    assert after < before - 0.2, (before, after)
    model.eval()
    # one z decoded at two points that differ only in a categorical input: different values
    choices = torch.tensor([0, 5, 0, 0])
    xc = torch.rand(12, 4)
    xc[:, 1] = (torch.randint(0, 5, (12,)) + 0.5) / 5
    yc = torch.randn(12)
    x = torch.tensor([[0.5, 0.1, 0.5, 0.5], [0.5, 0.9, 0.5, 0.5]])
    draws = model.sample_functions(xc, yc, x, 8, torch.Generator().manual_seed(0), choices=choices)
    assert (draws[:, 0] - draws[:, 1]).abs().max() > 1e-3
    again = model.sample_functions(xc, yc, x, 8, torch.Generator().manual_seed(0), choices=choices)
    assert torch.equal(draws, again)


def test_a_prior_refuses_more_choices_than_it_serves_and_continuous_priors_refuse_categoricals():
    model = NeuralProcess(NPConfig(**MIXED)).eval()
    x, y = torch.rand(5, 4), torch.randn(5)
    with pytest.raises(ValueError, match="up to 6 choices"):
        model.predict(x, y, x, choices=torch.tensor([0, 7, 0, 0]))
    plain = NeuralProcess(NPConfig(**{**MIXED, "max_choices": 0})).eval()
    with pytest.raises(ValueError, match="no categorical inputs"):
        plain.predict(x, y, x, choices=torch.tensor([0, 3, 0, 0]))
    # all-continuous choices are the same as none
    a = model.predict(x, y, x, choices=torch.zeros(4, dtype=torch.long))
    b = model.predict(x, y, x)
    assert torch.equal(a[0], b[0])


def test_max_choices_needs_the_ard_spectrum():
    with pytest.raises(ValueError, match="max_choices needs spectral 'ard'"):
        NPConfig(**{**MIXED, "spectral": "fixed", "refine_steps": 0})


def _saved(tmp_path, **kw):
    from npopt.neural.checkpoints import save_checkpoint

    torch.manual_seed(0)
    model = NeuralProcess(NPConfig(**{**MIXED, **kw}))
    path = tmp_path / f"mixed{kw.get('max_choices', '')}.pt"
    save_checkpoint(path, model, name="mixed", setup={"prior": {"active_dims_min": 1, "active_dims_max": 4}})
    return path


def test_np_surrogate_serves_categorical_inputs_and_names_its_limits(tmp_path):
    from npopt.errors import NoPriorError
    from npopt.surrogates.np import NPSurrogate

    path = _saved(tmp_path)
    s = NPSurrogate(path, dim=3, choices=(0, 4, 0))
    X = torch.rand(10, 3, dtype=torch.float64)
    X[:, 1] = (torch.randint(0, 4, (10,)) + 0.5) / 4
    s.condition(X, torch.randn(10, dtype=torch.float64))
    C = torch.rand(50, 3, dtype=torch.float64)
    C[:, 1] = (torch.randint(0, 4, (50,)) + 0.5) / 4
    draws = s.sample(C, 4, torch.Generator().manual_seed(0))
    paths = s.paths(4, torch.Generator().manual_seed(0))
    assert draws.shape == (4, 50) and torch.allclose(paths(C), draws)
    with pytest.raises(NoPriorError, match="at most 6 choices, not 9; use at most 6 choices or --surrogate gp"):
        NPSurrogate(path, dim=3, choices=(0, 9, 0))
    plain = _saved(tmp_path, max_choices=0)
    with pytest.raises(NoPriorError, match="at most 0 choices, not 4; use a prior with categorical inputs"):
        NPSurrogate(plain, dim=3, choices=(0, 4, 0))
