"""Optuna's own generic sampler tests (shipped in the installed optuna as
``optuna.testing.pytest_samplers``), run against NPSampler with one startup trial so that
the Neural Process really samples in the relative tests.

The multi-objective cases run too: NPSampler samples several objectives by random
Chebyshev scalarisations of one draw per objective (``SingleOnlySamplerTestCase``, which
checks that a sampler refuses several objectives, no longer applies).
"""

from __future__ import annotations

import pytest

optuna = pytest.importorskip("optuna")
from optuna.testing.pytest_samplers import (  # noqa: E402
    BasicSamplerTestCase,
    MultiObjectiveSamplerTestCase,
    RelativeSamplerTestCase,
)

from npopt.integration.optuna import NPSampler  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)


class TestNPSampler(BasicSamplerTestCase, RelativeSamplerTestCase):
    @pytest.fixture
    def sampler(self):
        return lambda: NPSampler(seed=0, n_startup_trials=1)


class TestNPSamplerMultiObjective(MultiObjectiveSamplerTestCase):
    @pytest.fixture
    def sampler(self):
        return lambda: NPSampler(seed=0, n_startup_trials=1)
