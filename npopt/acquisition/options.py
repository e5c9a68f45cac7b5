"""How Thompson sampling searches a surrogate's draws: declared by each surrogate class.

No torch here: the surrogate registry and the CLI read these without loading a model.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The acquisition rules, for ``--acquisition``: Thompson sampling first (the default).
RULES = ("thompson", "logei")


@dataclass(frozen=True)
class AcquisitionOptions:
    """The acquisition settings a surrogate declares (:attr:`Surrogate.acquisition`).

    Attributes:
        local_candidates: the default candidate set adds perturbations of the best
            observations (model-based surrogates), or is purely space-filling (random search).
        lean_candidates: the default candidate set is the lean one (about a third of the
            points): for a surrogate whose draws at the candidates cost more than its
            conditioning (the NP decodes each candidate through its networks; a GP's fit
            dominates its ask).
        local_search_dim: from this many inputs on, each draw is searched only among
            perturbations of the best observations, without the space-filling points and
            without the gradient polish (``None``: never). For a surrogate whose draws are
            trustworthy near its data but not across a high-dimensional cube (the NP from
            6-D on: away from the data its draws are the prior's few hundred sinusoids, and
            the polish walks their minima onto the faces of the cube).
        polish_steps: gradient steps that move each draw's best candidate downhill on that
            draw (for surrogates with :attr:`Surrogate.has_paths`); ``None``: the default of
            :func:`npopt.acquisition.thompson.thompson_ranked`.
        trust_region_dim: from this many inputs on, each draw is searched inside a trust
            region around the incumbent (:mod:`npopt.acquisition.trust_region`, TuRBO) and
            minimised there by multi-start L-BFGS-B where the surrogate has paths; this
            replaces the local search and the polish (``None``: never).
        starts: how many of each draw's lowest candidates start the L-BFGS-B minimisation
            inside the trust region (and LogEI's over the cube); 0: none.
        rule: ``"thompson"`` (the design) or ``"logei"``, the yardstick
            (:mod:`npopt.acquisition.logei`; for surrogates with a Gaussian
            :meth:`~Surrogate.predictive`).
        final_logei: where the caller knows how many evaluations of its budget remain
            (``run --budget``, the benchmarks), the last this-many maximise LogEI instead of
            drawing (for surrogates with a Gaussian :meth:`~Surrogate.predictive`). The last
            evaluation cannot inform a later one, so the choice that maximises the expected
            best value is the one-step lookahead, expected improvement; 0: never.
    """

    local_candidates: bool = True
    lean_candidates: bool = False
    local_search_dim: int | None = None
    polish_steps: int | None = None
    trust_region_dim: int | None = None
    starts: int = 4
    rule: str = "thompson"
    final_logei: int = 0
