"""npopt.optim.Adam does torch.optim.Adam's arithmetic, bit for bit."""

from __future__ import annotations

import torch

from npopt.optim import Adam


def test_adam_matches_torch_adam_exactly():
    g = torch.Generator().manual_seed(0)
    start = [torch.randn(3, 5, generator=g, dtype=torch.float64), torch.randn(3, generator=g, dtype=torch.float64)]
    ours = [p.clone().requires_grad_(True) for p in start]
    theirs = [p.clone().requires_grad_(True) for p in start]
    mine, reference = Adam(ours, lr=0.1), torch.optim.Adam(theirs, lr=0.1)

    def loss(a, b):
        return (a.sin() * b[:, None]).pow(2).sum() + a.exp().mean()

    for _ in range(25):
        mine.step(torch.autograd.grad(loss(*ours), ours))
        reference.zero_grad()
        loss(*theirs).backward()
        reference.step()
    assert all(torch.equal(a, b) for a, b in zip(ours, theirs, strict=True))
    assert not torch.equal(ours[0], start[0])  # it moved
