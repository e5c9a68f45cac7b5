"""An objective whose search space lives in a YAML file (examples/space.yaml).

    npopt run examples/objective_with_yaml.py --space examples/space.yaml --surrogate gp

The file defines only the function; `--space` supplies the parameters (and the
direction). A synthetic "validation loss" with its minimum 0 at x = 0.5, lr = 1e-3,
layers = 4; `batch_size` is a fixed value passed through unchanged.
"""

import math


def objective(x: float, lr: float, layers: int, batch_size: int) -> float:
    assert batch_size == 64
    return (x - 0.5) ** 2 + 0.25 * (math.log10(lr) + 3) ** 2 + 0.05 * (layers - 4) ** 2
