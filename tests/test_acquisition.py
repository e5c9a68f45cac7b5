"""Thompson sampling on mixed spaces: candidates, category perturbations, the polish."""

from __future__ import annotations

import pytest
import torch

from npopt.acquisition import thompson
from npopt.acquisition.candidates import candidate_set
from npopt.acquisition.options import AcquisitionOptions
from npopt.acquisition.thompson import thompson_suggest
from npopt.encoding import UnitSpace, on_tensors
from npopt.space import Float, Int, Space
from npopt.surrogates.base import Surrogate


class _BowlPaths:
    """Draw ``i`` is ``|x - target|^2``: smooth, so the polish can descend it."""

    def __init__(self, target: torch.Tensor, n: int) -> None:
        self.target, self.n, self.calls = target, n, 0

    def draw(self, i: int, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return ((x - self.target) ** 2).sum(-1)  # k

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([self.draw(i, x) for i in range(self.n)])  # n x m


class Bowl(Surrogate):
    """A surrogate whose every draw is the same bowl around ``target`` (in the unit cube)."""

    name = "bowl"
    has_paths = True

    def __init__(self, target: list[float]) -> None:
        self.target = torch.tensor(target, dtype=torch.float64)
        self.made: list[_BowlPaths] = []

    def condition(self, X, y) -> None:
        pass

    def paths(self, n_draws, generator):
        self.made.append(_BowlPaths(self.target, n_draws))
        return self.made[-1]

    def sample(self, candidates, n_draws, generator):
        return _BowlPaths(self.target, n_draws)(candidates)


def _snapper(space: Space):
    return on_tensors(space.snap_unit)


def _observed(space: Space, n: int = 4, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    X = _snapper(space)(torch.rand(n, space.dim, generator=g, dtype=torch.float64))
    return X, torch.randn(n, generator=g, dtype=torch.float64)


# ---------------------------------------------------------------- candidates


def test_local_candidates_change_categories_and_keep_them_at_centres():
    choices = (0, 3, 0, 4)
    X = torch.tensor([[0.3, 0.5, 0.7, 0.125], [0.9, 1 / 6, 0.1, 0.875]], dtype=torch.float64)
    y = torch.tensor([0.0, 1.0], dtype=torch.float64)
    plain = candidate_set(4, torch.Generator().manual_seed(0), n_space_filling=64)
    cands = candidate_set(4, torch.Generator().manual_seed(0), X, y, n_space_filling=64, choices=choices)
    assert torch.equal(cands[:64], plain)  # the Sobol part is untouched
    local = cands[64:]  # 3 scales x 2 best x 256 perturbations
    assert local.shape == (3 * 2 * 64 * 4, 4)
    centres = X[torch.argsort(y)].repeat_interleave(256, 0).repeat(3, 1)
    for j, C in ((1, 3), (3, 4)):
        index = local[:, j] * C - 0.5
        assert torch.allclose(index, index.round(), atol=1e-12)  # at a category's centre
        assert set(index.round().long().tolist()) == set(range(C))  # every category is reached
    changed = (local[:, [1, 3]] != centres[:, [1, 3]]).any(1)
    assert bool(changed[::2].all())  # half of the perturbations change a category for sure
    assert 0.5 < changed.float().mean() < 0.95  # ... and the others sometimes
    moved = local[:, [0, 2]] != centres[:, [0, 2]]
    assert moved.float().mean() > 0.9  # continuous coordinates get Gaussian noise


def test_no_categorical_coordinate_leaves_candidates_as_before():
    X = torch.rand(5, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    y = torch.arange(5, dtype=torch.float64)
    a = candidate_set(3, torch.Generator().manual_seed(2), X, y)
    b = candidate_set(3, torch.Generator().manual_seed(2), X, y, choices=(0, 0, 0))
    assert torch.equal(a, b)


# ---------------------------------------------------------------- the polish on mixed spaces


def test_float_int_space_is_polished_and_the_int_stays_snapped():
    """Regression: snapped candidates used to be read as a fixed grid, so a Float+Int space
    was never polished."""
    space = Space({"x": Float(0, 1), "n": Int(0, 9)})
    surrogate = Bowl([0.3137, 0.62])  # n: 0.62 is in the slice of 6 (centre 0.65)
    X, y = _observed(space)
    g = torch.Generator().manual_seed(3)
    point = thompson_suggest(surrogate, X, y, 1, g, UnitSpace.of(space))[0]
    assert surrogate.made and surrogate.made[0].calls > thompson.POLISH_STEPS  # the polish ran
    assert point[1] == pytest.approx(0.65, abs=1e-12)  # snapped: integer 6
    assert space.from_unit(point.tolist())["n"] == 6
    g = torch.Generator().manual_seed(3)
    cands = _snapper(space)(candidate_set(2, g, X, y, choices=space.choices))
    bowl = _BowlPaths(surrogate.target, 1)
    best_candidate = float(bowl.draw(0, cands).min()) - 0.03**2  # the part the polish can lower
    assert float(bowl.draw(0, point[None])[0]) - 0.03**2 < best_candidate / 3  # polished past every candidate
    assert not bool((cands[:, 0] == point[0]).any())


def test_polish_never_moves_a_categorical_coordinate():
    space = Space({"x": Float(0, 1), "k": ["a", "b"], "n": Int(1, 4)})
    surrogate = Bowl([0.77, 0.5, 0.5])  # k's target between its two centres 0.25 and 0.75
    X, y = _observed(space, n=6)
    for seed in range(3):
        point = thompson_suggest(
            surrogate, X, y, 2, torch.Generator().manual_seed(seed), UnitSpace.of(space)
        )
        assert set(point[:, 1].tolist()) <= {0.25, 0.75}
        assert torch.equal(point, _snapper(space)(point))  # every coordinate snapped
        assert float((point[:, 0] - 0.77).abs().min()) < 5e-3  # the float coordinate did move


def test_the_polish_itself_leaves_categorical_coordinates_alone():
    """No snap afterwards to hide a moved coordinate: the gradient of a categorical
    coordinate is masked, however far the draw's minimum lies along it."""
    surrogate = Bowl([0.77, 0.9, 0.4])
    paths = surrogate.paths(1, torch.Generator().manual_seed(0))
    start = torch.tensor([0.3, 0.25, 0.6], dtype=torch.float64)
    movable = torch.tensor([1.0, 0.0, 1.0], dtype=torch.float64)
    X = torch.zeros(0, 3, dtype=torch.float64)
    point = thompson.polish(paths, 0, start, X, None, [], 1e-6, 30, movable, None)
    assert point[1] == 0.25  # the categorical coordinate did not move
    assert abs(float(point[0]) - 0.3) > 0.1 and abs(float(point[2]) - 0.6) > 0.1  # the others did


def test_only_categorical_coordinates_are_not_polished():
    space = Space({"k": ["a", "b", "c"], "j": [1, 2]})
    surrogate = Bowl([0.5, 0.5])
    X, y = _observed(space, n=2)
    point = thompson_suggest(surrogate, X, y, 1, torch.Generator().manual_seed(0), UnitSpace.of(space))[0]
    assert not surrogate.made  # nothing to polish: no paths asked for
    assert torch.equal(point, _snapper(space)(point[None])[0])


def test_a_grid_is_never_polished_even_in_two_dimensions():
    grid = torch.rand(200, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    surrogate = Bowl([0.3137, 0.62])
    X, y = grid[:3], torch.zeros(3, dtype=torch.float64)
    picks = thompson_suggest(surrogate, X, y, 3, torch.Generator().manual_seed(1), candidates=grid, grid=True)
    assert bool((picks[:, None, :] == grid[None]).all(-1).any(-1).all())  # every pick is a grid point
    assert not surrogate.made
    polished = thompson_suggest(surrogate, X, y, 1, torch.Generator().manual_seed(1), candidates=grid)
    assert surrogate.made and not bool((polished == grid).all(-1).any())  # a candidate set is polished
    with pytest.raises(ValueError, match="grid=True needs"):
        thompson_suggest(surrogate, X, y, 1, torch.Generator(), grid=True)


def test_standardisation_inverse_maps_values_back_tail_included():
    """The inverse of the standardisation (Figure 5's draws in the function's units)
    undoes the log compression of the upper tail, not only the mean and scale."""
    from npopt.encoding import standardisation, standardise

    y = torch.cat([torch.linspace(0, 1, 39, dtype=torch.float64), torch.tensor([1000.0], dtype=torch.float64)])
    z, back = standardisation(y)
    assert torch.allclose(z, standardise(y))
    assert torch.allclose(back(z), y)
    naive = z * y.std() + y.mean()  # a mean/std map: off for the bulk once the tail is compressed
    assert abs(float(naive[-2]) - 1.0) > 0.2
    one, back_one = standardisation(torch.tensor([3.0], dtype=torch.float64))
    assert float(one[0]) == 0.0 and float(back_one(torch.tensor([0.5]))[0]) == 3.5


@pytest.mark.parametrize("dim", [1, 2, 6])
def test_the_closeness_test_agrees_with_the_full_distance_matrix(dim):
    """_too_close measures only pairs whose projections are close; it must flag exactly the
    candidates the full distance matrix does: random points, near copies, snapped
    (lattice) points and a pile of identical points."""
    from npopt.acquisition.candidates import too_close

    g = torch.Generator().manual_seed(dim)
    points = torch.rand(600, dim, generator=g, dtype=torch.float64)
    points[:200] = torch.round(points[:200] * 4) / 4  # a lattice: many equal projections
    points[200:260] = points[200]  # one point observed 60 times
    radius = 1e-3 * dim**0.5
    cands = torch.cat([torch.rand(3000, dim, generator=g, dtype=torch.float64),
                       points[:300] + 0.4 * radius / dim**0.5, points[300:400] + 2 * radius,
                       torch.round(torch.rand(500, dim, generator=g, dtype=torch.float64) * 4) / 4])
    expected = torch.cdist(cands, points).min(dim=1).values <= radius
    got = too_close(cands, points, radius)
    assert torch.equal(got, expected) and 300 <= int(expected.sum()) < cands.shape[0]


class LocalBowl(Bowl):
    """The bowl, from a surrogate that trusts its draws only near its data from 7-D on."""

    acquisition = AcquisitionOptions(local_search_dim=7)


def test_in_high_dimensions_a_local_search_surrogate_picks_an_unpolished_perturbation():
    dim = 10
    g = torch.Generator().manual_seed(0)
    X = torch.rand(12, dim, generator=g, dtype=torch.float64) * 0.5  # data in the lower half
    y = torch.randn(12, generator=g, dtype=torch.float64)
    surrogate = LocalBowl([0.95] * dim)  # the draws' minimum: a far corner
    point = thompson_suggest(surrogate, X, y, 1, torch.Generator().manual_seed(5))[0]
    assert not surrogate.made  # no paths asked for: no polish
    local = candidate_set(dim, torch.Generator().manual_seed(5), X, y, n_space_filling=0)
    assert bool((local == point).all(-1).any())  # the pick is one of the perturbations
    nearest = torch.cdist(point[None], X[torch.argsort(y)[:5]]).min()
    assert float(nearest) < float(torch.cdist(point[None], surrogate.target[None])[0, 0])  # near the data
    # the same surrogate below its local-search dimension: space-filling points and polish
    low = LocalBowl([0.95] * 6)
    point6 = thompson_suggest(low, X[:, :6], y, 1, torch.Generator().manual_seed(5))[0]
    assert low.made and float((point6 - 0.95).abs().max()) < 0.05  # polished into the far corner


def test_a_candidate_set_of_perturbations_only_needs_observations():
    with pytest.raises(ValueError, match="needs observations"):
        candidate_set(3, torch.Generator().manual_seed(0), n_space_filling=0)
    X = torch.full((2, 3), 0.5, dtype=torch.float64)
    local = candidate_set(3, torch.Generator().manual_seed(0), X, torch.zeros(2, dtype=torch.float64),
                          n_space_filling=0)
    assert local.shape == (3 * 2 * 64 * 3, 3)  # 3 scales x 2 best points x 64 d, no Sobol points
    assert float((local - 0.5).abs().max()) < 0.15 * 6  # all around the observations
