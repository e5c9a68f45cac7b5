"""A mixed space declared in Python: a float, a log-scaled float and an integer.

    npopt run examples/mixed.py --budget 30 --surrogate gp

A synthetic "validation accuracy" to MAXIMISE (note `direction`): its maximum is 1.0 at
dropout = 0.2, lr = 3e-3 (log10(lr) = -2.52...), layers = 5.
"""

import math

import npopt

space = {
    "dropout": npopt.Float(0.0, 0.6),
    "lr": npopt.Float(1e-5, 1e-1, log=True),
    "layers": npopt.Int(1, 8),
}
direction = "maximize"


def objective(dropout: float, lr: float, layers: int) -> float:
    return 1.0 - (dropout - 0.2) ** 2 - 0.1 * (math.log10(lr) - math.log10(3e-3)) ** 2 - 0.02 * (layers - 5) ** 2
