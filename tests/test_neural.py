"""The Neural Process: shapes, invariances, likelihood maths, coherent draws, checkpoints."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from npopt.errors import CheckpointError
from npopt.neural.checkpoints import load_model, save_checkpoint
from npopt.neural.fit import lowrank_gaussian_logpdf
from npopt.neural.model import NeuralProcess, NPConfig, spread_power
from npopt.neural.priors import Dist, Family, PriorConfig, oracle_log_likelihood, sample_tasks

TINY = dict(x_dim=1, d_model=32, n_heads=2, encoder_layers=1, decoder_hidden=32, fourier_features=4, spectral="fixed",
            spectral_features=16, spectral_max_freq=8.0, refine_steps=0, summary_max_points=0, max_choices=0,
            noise_grid=6)


def tiny_model(**kw) -> NeuralProcess:
    torch.manual_seed(0)
    return NeuralProcess(NPConfig(**{**TINY, **kw})).eval()


def tasks(B=4, n=7, m=9, seed=0, x_dim=1):
    prior = PriorConfig(x_dim=x_dim, families=[Family("rbf", lengthscale=Dist("uniform", 0.1, 0.3))])
    return sample_tasks(prior, B, n, m, torch.Generator().manual_seed(seed)).float()


@pytest.mark.parametrize("kw", [{}, {"encoder_layers": 0}, {"x_dim": 3}, {"x_dim": 3, "spectral": "ard"}])
def test_shapes(kw):
    model = tiny_model(**kw)
    tb = tasks(x_dim=kw.get("x_dim", 1))
    assert model.log_likelihood(tb.xc, tb.yc, tb.xt, tb.yt).shape == (4,)
    assert model.log_likelihood(tb.xc, tb.yc, tb.xt, tb.yt, joint=False).shape == (4,)
    draws = model.sample_functions(tb.xc[0], tb.yc[0], tb.xt[0], 5, torch.Generator().manual_seed(0))
    assert draws.shape == (5, 9)
    mean, std = model.predict(tb.xc[0], tb.yc[0], tb.xt[0])
    assert mean.shape == std.shape == (9,) and bool((std >= 0).all())


@pytest.mark.parametrize("kw", [{}, {"spectral": "ard"}])
def test_order_invariance_over_context(kw):
    model = tiny_model(**kw)
    tb = tasks()
    perm = torch.randperm(tb.xc.shape[1], generator=torch.Generator().manual_seed(1))
    a = model.log_likelihood(tb.xc, tb.yc, tb.xt, tb.yt)
    b = model.log_likelihood(tb.xc[:, perm], tb.yc[:, perm], tb.xt, tb.yt)
    assert torch.allclose(a, b, atol=1e-4)
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    d1 = model.sample_functions(tb.xc[0], tb.yc[0], tb.xt[0], 4, g1)
    d2 = model.sample_functions(tb.xc[0, perm], tb.yc[0, perm], tb.xt[0], 4, g2)
    assert torch.allclose(d1, d2, atol=1e-3)


def test_woodbury_matches_dense_gaussian():
    g = torch.Generator().manual_seed(0)
    r, U, noise = torch.randn(3, 20, generator=g), torch.randn(3, 20, 5, generator=g), torch.tensor([0.1, 0.5, 2.0])
    cov = U @ U.transpose(1, 2) + noise[:, None, None] ** 2 * torch.eye(20)
    dense = torch.distributions.MultivariateNormal(torch.zeros(3, 20), cov).log_prob(r)
    assert torch.allclose(lowrank_gaussian_logpdf(r, U, noise), dense, rtol=1e-4, atol=1e-3)


def test_bayesian_latent_is_exact_linear_regression():
    """q(z | C) equals the conjugate posterior of y - m = Phi z + noise, z ~ N(0, I)."""
    model = tiny_model()
    tb = tasks(B=1)
    with torch.no_grad():
        ctx = model.encode(tb.xc, tb.yc)
        m_c, phi = (t.double()[0] for t in model.basis(ctx, tb.xc))
        var = ctx.noise.double()[0] ** 2
        cov = torch.linalg.inv(torch.eye(phi.shape[1], dtype=torch.float64) + phi.T @ phi / var)
        mean = cov @ phi.T @ (tb.yc[0].double() - m_c) / var
        assert torch.allclose(ctx.z_mean[0].double(), mean, atol=1e-4)
        S = ctx.z_factor[0].double()
        assert torch.allclose(S @ S.T, cov, atol=1e-4)


def test_oracle_beats_a_wrong_model_and_is_finite():
    prior = PriorConfig(families=[Family("rbf", lengthscale=Dist("uniform", 0.1, 0.2))])
    tb = sample_tasks(prior, 16, 20, 30, torch.Generator().manual_seed(0))
    marginal, joint = oracle_log_likelihood(tb)
    assert torch.isfinite(marginal).all() and torch.isfinite(joint).all()
    wrong = -0.5 * (math.log(2 * math.pi) + tb.yt.double() ** 2).mean(1)  # N(0, 1) everywhere
    assert marginal.mean() > wrong.mean() + 0.5


def test_loss_decreases_on_a_tiny_training_run():
    model = tiny_model().train()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    val = tasks(B=32, n=10, m=20, seed=99)
    before = model.loss(val.xc, val.yc, val.xt, val.yt).item()
    g = torch.Generator().manual_seed(5)
    prior = PriorConfig(families=[Family("rbf", lengthscale=Dist("uniform", 0.1, 0.3))])
    for _ in range(120):
        tb = sample_tasks(prior, 16, 10, 20, g).float()
        loss = model.loss(tb.xc, tb.yc, tb.xt, tb.yt, marginal_weight=0.5)
        opt.zero_grad()
        loss.backward()
        opt.step()
    after = model.loss(val.xc, val.yc, val.xt, val.yt).item()
    assert after < before - 0.3, (before, after)


def test_checkpoint_round_trip(tmp_path: Path):
    model = tiny_model()
    path = tmp_path / "m.pt"
    save_checkpoint(path, model, name="tiny", step=3)
    loaded, ck = load_model(path)
    assert ck["name"] == "tiny" and ck["step"] == 3 and loaded.config == model.config
    tb = tasks()
    assert torch.equal(
        model.log_likelihood(tb.xc, tb.yc, tb.xt, tb.yt), loaded.log_likelihood(tb.xc, tb.yc, tb.xt, tb.yt)
    )


def test_corrupt_truncated_and_incompatible_checkpoints_name_the_file(tmp_path: Path):
    model = tiny_model()
    good = tmp_path / "good.pt"
    save_checkpoint(good, model, name="tiny")
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"\x00not a checkpoint" * 50)
    for path in (truncated, garbage, tmp_path / "missing.pt"):
        with pytest.raises(CheckpointError, match=str(path.name)):
            load_model(path)
    ck = torch.load(good, weights_only=True)
    torch.save({**ck, "format_version": 999}, tmp_path / "future.pt")
    with pytest.raises(CheckpointError, match="future.pt.*version 999"):
        load_model(tmp_path / "future.pt")
    ck["state_dict"] = {k: v for k, v in ck["state_dict"].items() if "decoder" not in k}
    torch.save(ck, tmp_path / "mismatch.pt")
    with pytest.raises(CheckpointError, match="mismatch.pt"):
        load_model(tmp_path / "mismatch.pt")


def test_shipped_prior_draws_are_coherent_and_pass_near_the_context():
    from npopt.neural.checkpoints import prior_path

    model, _ = load_model(prior_path(dim=1))  # the 1-D prior
    prior = PriorConfig(families=[Family("paper", lengthscale=Dist("uniform", 0.05, 0.15))],
                        noise_std=Dist("fixed", 0.01, 0.01))
    tb = sample_tasks(prior, 1, 12, 1, torch.Generator().manual_seed(4)).float()
    grid = torch.linspace(0, 1, 300)[:, None]
    draws = model.sample_functions(tb.xc[0], tb.yc[0], grid, 64, torch.Generator().manual_seed(0))
    # Coherence: a draw's neighbouring values move together; different draws do not.
    within = torch.corrcoef(torch.stack([draws[:, :-1].flatten(), draws[:, 1:].flatten()]))[0, 1]
    across = torch.corrcoef(torch.stack([draws[:-1].flatten(), draws[1:].flatten()]))[0, 1]
    assert within > 0.95 and abs(across) < within - 0.3, (within, across)
    centred = draws - draws.mean(0)
    assert (centred[:, 1:] - centred[:, :-1]).abs().mean() < 0.2 * centred.abs().mean()  # smooth rows
    # Draws pass near the context points: spread there is a fraction of the spread elsewhere.
    at_ctx = model.sample_functions(tb.xc[0], tb.yc[0], tb.xc[0], 64, torch.Generator().manual_seed(1))
    assert (at_ctx - tb.yc[0]).abs().median() < 0.15
    assert at_ctx.std(0).mean() < 0.5 * draws.std(0).mean()


def test_grid_evidence_matches_dense_gaussian_and_picks_the_true_noise():
    from npopt.neural.fit import grid_evidence

    g = torch.Generator().manual_seed(0)
    psi = torch.randn(2, 40, 6, generator=g, dtype=torch.float64) * 0.5
    r = (psi @ torch.randn(2, 6, 1, generator=g, dtype=torch.float64))[..., 0]
    r = r + 0.05 * torch.randn(2, 40, generator=g, dtype=torch.float64)
    levels = torch.tensor([0.01, 0.05, 0.3], dtype=torch.float64)
    ev = grid_evidence(
        psi.transpose(1, 2) @ psi, (psi.transpose(1, 2) @ r[..., None])[..., 0], r.pow(2).sum(-1), 40, levels
    )
    for j, s in enumerate(levels):
        cov = psi @ psi.transpose(1, 2) + s**2 * torch.eye(40, dtype=torch.float64)
        dense = torch.distributions.MultivariateNormal(torch.zeros(2, 40, dtype=torch.float64), cov).log_prob(r)
        assert torch.allclose(ev[:, j], dense, atol=1e-6)
    assert bool((ev.argmax(-1) == 1).all())  # the true noise level (0.05) has the highest evidence


def test_the_kernel_form_of_the_grid_evidence_is_the_feature_form():
    """Fewer points than features (n = 12, R = 30): the n x n eigendecomposition gives the
    same evidence at every noise level as the R x R one and the dense Gaussian."""
    from npopt.neural.fit import grid_evidence, kernel_grid_evidence

    g = torch.Generator().manual_seed(1)
    psi = torch.randn(3, 12, 30, generator=g, dtype=torch.float64) * 0.3
    r = torch.randn(3, 12, generator=g, dtype=torch.float64)
    levels = torch.logspace(-3, 0, 7, dtype=torch.float64)
    kernel = kernel_grid_evidence(psi, r, levels)
    features = grid_evidence(psi.transpose(1, 2) @ psi, (psi.transpose(1, 2) @ r[..., None])[..., 0],
                             r.pow(2).sum(-1), 12, levels)
    torch.testing.assert_close(kernel, features, rtol=1e-9, atol=1e-7)
    cov = psi @ psi.transpose(1, 2) + levels[2] ** 2 * torch.eye(12, dtype=torch.float64)
    dense = torch.distributions.MultivariateNormal(torch.zeros(3, 12, dtype=torch.float64), cov).log_prob(r)
    torch.testing.assert_close(kernel[:, 2], dense)


def test_noise_grid_model_runs_and_is_order_invariant():
    model = tiny_model(count_feature=True)
    tb = tasks()
    perm = torch.randperm(tb.xc.shape[1], generator=torch.Generator().manual_seed(1))
    a = model.log_likelihood(tb.xc, tb.yc, tb.xt, tb.yt)
    b = model.log_likelihood(tb.xc[:, perm], tb.yc[:, perm], tb.xt, tb.yt)
    assert torch.isfinite(a).all() and torch.allclose(a, b, atol=1e-4)


def test_gaussian_logpdf_dense_and_woodbury_forms_agree():
    from npopt.neural.fit import gaussian_logpdf

    g = torch.Generator().manual_seed(0)
    noise = torch.tensor([0.1, 0.3], dtype=torch.float64)
    for m, R in [(5, 12), (12, 5)]:  # m < R uses the m x m covariance, m >= R the Woodbury form
        U = torch.randn(2, m, R, generator=g, dtype=torch.float64)
        r = torch.randn(2, m, generator=g, dtype=torch.float64)
        cov = U @ U.transpose(1, 2) + noise[:, None, None] ** 2 * torch.eye(m, dtype=torch.float64)
        dense = torch.distributions.MultivariateNormal(torch.zeros(2, m, dtype=torch.float64), cov).log_prob(r)
        assert torch.allclose(gaussian_logpdf(r, U, noise), dense, atol=1e-8)


ARD = dict(spectral="ard", spectral_features=16, noise_grid=6, count_feature=True)


def test_ard_model_shapes_invariance_and_exact_posterior():
    model = tiny_model(x_dim=3, **ARD)
    assert model.base_freqs.shape == (16, 3)
    tb = tasks(x_dim=3)
    ctx = model.encode(tb.xc, tb.yc)
    assert ctx.log_ls.shape == (4, 3) and ctx.amp.shape == (4, 16)
    m_c, phi = model.basis(ctx, tb.xc)
    assert phi.shape == (4, 7, 32)
    perm = torch.randperm(7, generator=torch.Generator().manual_seed(1))
    a = model.log_likelihood(tb.xc, tb.yc, tb.xt, tb.yt)
    b = model.log_likelihood(tb.xc[:, perm], tb.yc[:, perm], tb.xt, tb.yt)
    assert torch.isfinite(a).all() and torch.allclose(a, b, atol=1e-4)
    # a longer lengthscale in one input gives a function that varies less along it
    x = torch.rand(1, 50, 3, generator=torch.Generator().manual_seed(2))
    short = model.waves(x, ctx.amp[:1], torch.tensor([[math.log(0.05), 0.0, 0.0]]))
    long = model.waves(x, ctx.amp[:1], torch.tensor([[math.log(50.0), 0.0, 0.0]]))
    x2 = x.clone()
    x2[..., 0] += 0.1  # move along input 0 only
    moved_short = model.waves(x2, ctx.amp[:1], torch.tensor([[math.log(0.05), 0.0, 0.0]]))
    moved_long = model.waves(x2, ctx.amp[:1], torch.tensor([[math.log(50.0), 0.0, 0.0]]))
    assert (moved_long - long).abs().max() < 0.01 * (moved_short - short).abs().max()


def test_refinement_raises_the_context_evidence_and_adapts_lengthscales():
    """An untrained network proposes arbitrary lengthscales; the evidence ascent must move
    them towards the data: input 0 matters (lengthscale 0.2), inputs 1-2 do not."""
    from npopt.neural.fit import gaussian_logpdf

    model = tiny_model(x_dim=3, refine_steps=0, refine_lr=0.1, **ARD)
    g = torch.Generator().manual_seed(3)
    x = torch.rand(2, 60, 3, generator=g)
    y = torch.sin(2 * math.pi * x[..., 0] / 0.8) + 0.01 * torch.randn(2, 60, generator=g)
    y = (y - y.mean(1, keepdim=True)) / y.std(1, keepdim=True)

    def evidence(ctx):
        m_c, phi = model.basis(ctx, x)
        return gaussian_logpdf((y - m_c).double(), phi.double(), ctx.noise.double())

    with torch.no_grad():
        before = model.encode(x, y, refine_steps=0)
        after = model.encode(x, y, refine_steps=60)
    assert bool((evidence(after) > evidence(before) + 5).all())
    # relevant input 0 gets a shorter lengthscale than the irrelevant inputs 1 and 2
    assert bool((after.log_ls[:, 0] < after.log_ls[:, 1:].min(-1).values).all())
    # the ascent moves only the context's hyperparameters: no gradient reaches the weights
    assert not any(p.grad is not None for p in model.parameters())


def test_refinement_uses_a_bounded_subset_of_a_large_context():
    model = tiny_model(x_dim=2, refine_steps=5, refine_max_points=32, **ARD)
    g = torch.Generator().manual_seed(4)
    x = torch.rand(1, 300, 2, generator=g)
    y = torch.randn(1, 300, generator=g)
    draws = model.sample_functions(x[0], y[0], x[0, :10], 3, torch.Generator().manual_seed(0))
    again = model.sample_functions(x[0], y[0], x[0, :10], 3, torch.Generator().manual_seed(0))
    assert torch.isfinite(draws).all() and torch.equal(draws, again)  # the subset is deterministic


def test_refine_steps_need_the_ard_spectrum():
    with pytest.raises(ValueError, match="refine_steps needs spectral 'ard'"):
        NPConfig(spectral="fixed", max_choices=0, spectral_features=8, refine_steps=5)
    with pytest.raises(ValueError, match="spectral must be"):
        NPConfig(spectral="iso")


def test_summary_of_a_large_context_comes_from_a_fixed_subset_but_the_posterior_uses_all():
    model = tiny_model(x_dim=2, summary_max_points=32, **ARD)
    g = torch.Generator().manual_seed(5)
    x, y = torch.rand(1, 200, 2, generator=g), torch.randn(1, 200, generator=g)
    keep = torch.randperm(200, generator=torch.Generator().manual_seed(0))[:32]
    with torch.no_grad():
        big = model.encode(x, y)
        sub = model.encode(x[:, keep], y[:, keep])
    assert torch.allclose(big.summary, sub.summary, atol=1e-6)
    assert not torch.allclose(big.z_mean, sub.z_mean, atol=1e-3)  # all 200 points condition z


def test_removed_settings_load_at_their_kept_value_and_are_refused_otherwise():
    old = {**NPConfig().to_dict(), "decoder": "linear", "latent": "bayesian", "latent_dim": 0, "cross_layers": 0,
           "n_latent_samples": 16}
    assert NPConfig.from_dict(old) == NPConfig()
    with pytest.raises(ValueError, match="decoder='mlp' was removed"):
        NPConfig.from_dict({**old, "decoder": "mlp"})
    with pytest.raises(ValueError, match="unknown setting.* wings; known: count_feature"):
        NPConfig.from_dict({**old, "wings": 2})


def test_config_defaults_are_the_shipped_16d_prior():
    import yaml

    committed = yaml.safe_load((Path(__file__).parents[1] / "npopt/neural/configs/np16d.yaml").read_text())
    assert NPConfig.from_dict(committed["model"]) == NPConfig()


@pytest.mark.parametrize("categorical", [False, True])
def test_the_written_out_evidence_gradient_is_autograd_s(categorical):
    """The refinement's hand-written gradients equal autograd's through the basis and the
    Gaussian density (lengthscales, signal scale, noise; with a categorical input too)."""
    from npopt.neural.fit import EvidenceGradient, gaussian_logpdf

    model = tiny_model(x_dim=3, **{**ARD, "max_choices": 4 if categorical else 0})
    choices = torch.tensor([0, 4, 0]) if categorical else None
    g = torch.Generator().manual_seed(7)
    x = torch.rand(2, 11, 3, generator=g, dtype=torch.float64)
    if categorical:
        x[..., 1] = (torch.floor(x[..., 1] * 4) + 0.5) / 4
    r = torch.randn(2, 11, generator=g, dtype=torch.float64)
    amp = torch.rand(2, model.config.spectral_features, generator=g, dtype=torch.float64) / 4
    log_ls = (0.5 * torch.randn(2, 3, generator=g, dtype=torch.float64) - 1.0).requires_grad_(True)
    scale = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    log_noise = torch.full((2,), -2.0, dtype=torch.float64, requires_grad=True)
    phi = model.waves(x, amp * scale.exp()[:, None], log_ls, choices)
    evidence = gaussian_logpdf(r, phi, log_noise.exp())
    expected = torch.autograd.grad(evidence.sum(), [log_ls, scale, log_noise])
    got = EvidenceGradient(model, x, r, choices)(amp, log_ls.detach(), log_noise.detach().exp())
    torch.testing.assert_close(got[0], evidence.detach())
    for mine, theirs in zip(got[1:], expected, strict=True):
        torch.testing.assert_close(mine, theirs)
    if categorical:  # the categorical input's lengthscale has a gradient of its own
        assert bool((got[1][:, 1].abs() > 1e-6).all())


def test_the_decoder_mean_is_the_mlp_on_the_target_and_the_summary():
    """basis() applies the decoder's first layer in two halves; the mean is the decoder on
    [query(x), summary] all the same."""
    model = tiny_model(x_dim=2, **ARD)
    tb = tasks(B=2, x_dim=2)
    with torch.no_grad():
        ctx = model.encode(tb.xc, tb.yc)
        mean, _ = model.basis(ctx, tb.xt)
        r = model.query(model.inputs(tb.xt, None))
        s = ctx.summary[:, None, :].expand(-1, tb.xt.shape[1], -1)
        torch.testing.assert_close(mean, model.decoder(torch.cat([r, s], -1))[..., 0])


def test_the_kernel_form_of_the_latent_posterior_is_the_same_posterior(monkeypatch):
    import npopt.neural.fit as model_module

    wide = tiny_model(x_dim=3, **ARD).widened(64)  # R = 128 basis functions, 8 context points
    tb = tasks(x_dim=3)
    xc, yc, xt = tb.xc[:1], tb.yc[:1], tb.xt[:1]
    monkeypatch.setattr(model_module, "KERNEL_FORM_FROM", 128)
    with torch.no_grad():
        kernel = wide.encode(xc, yc)
    assert kernel.z_factor is None and kernel.z_kernel is not None  # the n x n form was taken
    assert wide.encode(xc, yc).z_kernel is None  # with gradients (training): the R x R form
    monkeypatch.setattr(model_module, "KERNEL_FORM_FROM", 10**9)
    with torch.no_grad():
        square = wide.encode(xc, yc)
    assert square.z_kernel is None
    assert torch.allclose(kernel.z_mean, square.z_mean, atol=1e-5)
    W, w = (t.double() for t in kernel.z_kernel)
    S = torch.eye(128, dtype=torch.float64) - W[0] @ torch.diag(w[0]) @ W[0].T
    L = square.z_factor[0].double()
    assert torch.allclose(S @ S.T, L @ L.T, atol=1e-5)  # the same covariance, another square root
    assert not torch.allclose(S, L, atol=1e-3)
    for a, b in zip(wide.predict_from(kernel, xt[0]), wide.predict_from(square, xt[0]), strict=True):
        assert torch.allclose(a, b, atol=1e-5)
    z = wide.paths_from(kernel, 20000, torch.Generator().manual_seed(0)).z.double()  # draws: S's covariance
    assert (torch.cov(z.T) - L @ L.T).abs().max() < 0.05


def test_a_kept_refinement_chooses_the_noise_on_the_basis_the_posterior_uses(monkeypatch):
    """Beyond the refit point a context gets an earlier refinement's corrections: the noise
    is chosen on the corrected basis (the one ``z`` uses), and between ``R / 2`` and ``R``
    points the kernel form reuses that choice's eigendecomposition: the same posterior as
    the ``R x R`` form."""
    import npopt.neural.fit as model_module

    wide = tiny_model(x_dim=3, **ARD).widened(64)  # R = 128 basis functions
    tb = tasks(B=1, n=100, x_dim=3)  # 100 points: between R / 2 and R
    xc, yc, xt = tb.xc, tb.yc, tb.xt
    with torch.no_grad():
        # corrections that lengthen every lengthscale e^2-fold: the corrected basis is far
        # smoother than the proposal, so the evidence on it asks for more noise
        refinement = model_module.Refinement(torch.full((1, 3), 2.0, dtype=torch.float64),
                                             torch.zeros(1, dtype=torch.float64), torch.zeros(1, dtype=torch.float64))
        monkeypatch.setattr(model_module, "KERNEL_FORM_FROM", 128)
        kernel = wide.encode(xc, yc, refinement=refinement)
        monkeypatch.setattr(model_module, "KERNEL_FORM_FROM", 10**9)
        square = wide.encode(xc, yc, refinement=refinement)

        def noise_chosen(ctx):  # the noise the grid evidence picks on ctx's basis, R x R sums
            mean, psi = wide.basis(ctx, xc)
            psi, resid = psi.double(), (yc - mean).double()
            evidence = model_module.noise_evidence(wide.noise_levels, psi, resid, model_module.context_sums(psi, resid))
            return model_module.choose_noise(wide, ctx, evidence).noise

        corrected = model_module.apply_refinement(wide.summarise(xc, yc), refinement, wide.config.refine_min_std,
                                                  noise=False)
        corrected_noise, proposal_noise = noise_chosen(corrected), noise_chosen(wide.summarise(xc, yc))
    assert kernel.z_kernel is not None and square.z_kernel is None
    torch.testing.assert_close(kernel.noise, corrected_noise)  # the corrected basis' evidence
    assert float(kernel.noise[0]) > 1.5 * float(proposal_noise[0])  # not the proposal's
    torch.testing.assert_close(kernel.noise, square.noise)
    for a, b in zip(wide.predict_from(kernel, xt[0]), wide.predict_from(square, xt[0]), strict=True):
        assert torch.allclose(a, b, atol=1e-5)


def test_a_widened_basis_shares_the_networks_and_expresses_the_kernel_with_less_error():
    model = tiny_model(x_dim=3, **ARD)
    wide = model.widened(2048)
    assert model.base_freqs.shape == (16, 3) and wide.base_freqs.shape == (2048, 3)  # the original kept
    assert all(p is q for p, q in zip(model.parameters(), wide.parameters(), strict=True))  # the same networks
    tb = tasks(x_dim=3)
    narrow_amp, wide_amp = model.summarise(tb.xc, tb.yc).amp, wide.summarise(tb.xc, tb.yc).amp
    assert wide_amp.shape == (4, 2048)
    for a, b in ((narrow_amp[:, :8], wide_amp[:, :1024]), (narrow_amp[:, 8:], wide_amp[:, 1024:])):
        assert torch.allclose(a.pow(2).sum(-1), b.pow(2).sum(-1), rtol=1e-5)  # each family's power kept
    small = model.widened(64)  # a whole encoding (z has 128 entries)
    assert small.encode(tb.xc, tb.yc).z_mean.shape == (4, 128)
    assert torch.isfinite(small.log_likelihood(tb.xc, tb.yc, tb.xt, tb.yt)).all()
    # the Gaussian half with unit power expresses exp(-|x - x'|^2 / 2) (lengthscale 1):
    # the wide basis with far less sampling error than the trained 16 frequencies
    x = torch.rand(1, 30, 3, generator=torch.Generator().manual_seed(3)) * 2
    exact = torch.exp(-0.5 * torch.cdist(x[0], x[0]).pow(2))
    amp = torch.cat([torch.full((1, 8), 8 ** -0.5), torch.zeros(1, 8)], -1)
    errors = []
    for m, a in ((model, amp), (wide, spread_power(amp, 2048))):
        phi = m.waves(x, a, torch.zeros(1, 3))[0]
        errors.append(float((phi @ phi.T - exact).abs().mean()))
    assert errors[1] < 0.05 and errors[1] < errors[0] / 3, errors
    with pytest.raises(ValueError, match="only an 'ard'"):
        tiny_model(x_dim=3).widened(64)


def test_kriging_constant_is_the_evidence_maximising_mean_in_each_form():
    """The three ways of computing the GLS constant (the kernel's eigendecomposition, the
    n x n Cholesky, the R x R Woodbury form with or without the context's sums) agree with
    the dense formula, and the constant is where the evidence of the shifted values peaks."""
    from npopt.neural.fit import context_sums, gaussian_logpdf, kernel_eigh, kriging_constant

    g = torch.Generator().manual_seed(3)
    noise = torch.tensor([0.2, 0.05], dtype=torch.float64)
    for n, R in [(6, 14), (14, 6)]:
        psi = torch.randn(2, n, R, generator=g, dtype=torch.float64)
        r = torch.randn(2, n, generator=g, dtype=torch.float64) + torch.tensor([[3.0], [-1.0]], dtype=torch.float64)
        K = psi @ psi.transpose(1, 2) + noise[:, None, None] ** 2 * torch.eye(n, dtype=torch.float64)
        ones = torch.ones(2, n, 1, dtype=torch.float64)
        dense = ((ones.transpose(1, 2) @ torch.linalg.solve(K, r[..., None])) /
                 (ones.transpose(1, 2) @ torch.linalg.solve(K, ones)))[:, 0, 0]
        forms = [kriging_constant(psi, r, noise), kriging_constant(psi, r, noise, sums=context_sums(psi, r))]
        if n < R:
            forms.append(kriging_constant(psi, r, noise, eig=kernel_eigh(psi)))
        for c in forms:
            assert torch.allclose(c, dense, atol=1e-9)
        for step in (-1e-3, 1e-3):  # the evidence is highest at the constant
            assert (gaussian_logpdf(r - dense[:, None], psi, noise)
                    > gaussian_logpdf(r - dense[:, None] - step, psi, noise)).all()


def test_a_constant_mean_is_what_the_np_returns_to_far_from_its_observations():
    """With ``constant_mean`` the encoding carries the fitted constant and the decoder's
    mean includes it: values that are all high beside a low pair near one corner give a
    constant near the high values, and the mean far from every observation returns to it,
    not to the decoder's own mean. Without it nothing changes (training's path)."""
    from npopt.neural.checkpoints import prior_path

    model, _ = load_model(prior_path(dim=6))
    g = torch.Generator().manual_seed(0)
    X = torch.rand(1, 30, model.config.x_dim, generator=g) * 0.5  # the lower half of the cube
    X[..., 6:] = 0.5
    y = (1.0 + 0.1 * torch.randn(1, 30, generator=g))
    y[0, :2] = -4.0
    y = (y - y.mean()) / y.std()
    with torch.no_grad():
        plain = model.encode(X, y)
        fitted = model.encode(X, y, constant_mean=True)
    assert plain.offset is None
    assert fitted.offset is not None and float(fitted.offset[0]) > 0.0  # near the many high values (mean 0)
    far = torch.full((1, 1, model.config.x_dim), 0.5)
    far[..., :6] = 1.0  # the opposite corner
    with torch.no_grad():
        m_far, _ = model.predict_from(fitted, far)
        m_plain, _ = model.predict_from(plain, far)
    assert abs(float(m_far[0, 0]) - float(fitted.offset[0])) < abs(float(m_plain[0, 0]) - float(fitted.offset[0]))
