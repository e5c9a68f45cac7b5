"""Optuna's own generic sampler tests (shipped in the installed optuna as
``optuna.testing.pytest_samplers``), run against NPSampler with one startup trial so that
the Neural Process really samples in the relative tests.

The multi-objective cases are not run: NPSampler optimises one objective and refuses
several at once (``SingleOnlySamplerTestCase`` checks that refusal).
"""

from __future__ import annotations

import pytest

optuna = pytest.importorskip("optuna")
from optuna.testing.pytest_samplers import (  # noqa: E402
    BasicSamplerTestCase,
    MultiObjectiveSamplerTestCase,
    RelativeSamplerTestCase,
    SingleOnlySamplerTestCase,
)

from npopt.integration.optuna import NPSampler  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)


class TestNPSampler(BasicSamplerTestCase, RelativeSamplerTestCase, SingleOnlySamplerTestCase):
    @pytest.fixture
    def sampler(self):
        return lambda: NPSampler(seed=0, n_startup_trials=1)


@pytest.mark.skip(reason="NPSampler optimises one objective and refuses several (checked by "
                         "SingleOnlySamplerTestCase above); multi-objective support is issue 33")
class TestNPSamplerMultiObjective(MultiObjectiveSamplerTestCase):
    @pytest.fixture
    def sampler(self):
        return lambda: NPSampler(seed=0, n_startup_trials=1)
