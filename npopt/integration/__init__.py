"""npopt inside other tools (``npopt.integration.optuna``: the NP as an Optuna sampler)."""
