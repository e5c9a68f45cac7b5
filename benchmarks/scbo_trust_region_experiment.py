"""An experiment, not a setting: SCBO's trust region (Eriksson & Poloczek 2021) for np on the
constrained suite, from every dimension (np's default searches below 6-D with local
candidates and from 6-D with its local search, without a trust region).

    OMP_NUM_THREADS=1 python benchmarks/scbo_trust_region_experiment.py SEED tr   # or: SEED default
"""

import dataclasses
import sys

import npopt.acquisition.several as S
from npopt.benchmarks import outcomes

ORIGINAL = S.OutcomeModels.__init__


def with_trust_region(self, models, observed):
    """OutcomeModels whose constrained studies search inside a trust region from any dimension."""
    ORIGINAL(self, models, observed)
    if observed.Y.shape[1] > observed.objectives:
        self.acquisition = dataclasses.replace(self.acquisition, trust_region_dim=1, local_search_dim=None)


if __name__ == "__main__":
    if sys.argv[2] == "tr":
        S.OutcomeModels.__init__ = with_trust_region
    summary = outcomes.run_suite("constrained", ["np"], 3, int(sys.argv[1]),
                                 ["gramacy", "spring", "vessel", "hartmann6-sum"])
    print(sys.argv[1:], {n: f'{e["methods"]["np"]["median"]:.3g}' for n, e in summary["problems"].items()})
