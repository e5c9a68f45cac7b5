"""Quick start: minimise a 1-D function with a known minimum.

    npopt run examples/quickstart.py --budget 20

The Forrester function f(x) = (6x - 2)^2 sin(12x - 4) on [0, 1] has a local minimum near
x = 0.14 and its global minimum f(0.757249) = -6.020740, so the optimiser has to look past
the first dip. The study is stored in ./quickstart.study.db; run the command again with a
larger --budget to continue it.
"""

import math

import npopt

space = {"x": npopt.Float(0.0, 1.0)}


def objective(x: float) -> float:
    return (6 * x - 2) ** 2 * math.sin(12 * x - 4)
