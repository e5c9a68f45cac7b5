"""Seeds derived from other seeds, so that every random choice is reproducible.

Two mixers, kept apart on purpose: :func:`hashed_seed` seeds the suggestions of studies and
samplers (any parts, as strings); :func:`derived_seed` draws the benchmark problems (the gp1d
functions, the starting points) that the committed results were measured on -- replacing one
by the other would redraw every benchmark.
"""

from __future__ import annotations

import hashlib

import numpy as np


def hashed_seed(*parts: object) -> int:
    """A well-mixed 63-bit seed from any parts (their ``str``, joined by ``:``, hashed)."""
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def derived_seed(*parts: int) -> int:
    """A 63-bit seed from integers (e.g. the suite seed and a function index)."""
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(2, np.uint64)[0] >> 1)
