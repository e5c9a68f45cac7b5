"""Lowest validation loss of a toy training job whose memory must stay under 16 GB."""
import math

import npopt

space = {
    "width": npopt.Int(64, 2048, log=True),
    "depth": npopt.Int(2, 16),
    "lr": npopt.Float(1e-4, 1e-1, log=True),
}
constraints = {"memory_gb": {"max": 16}}


def objective(width, depth, lr):
    capacity = math.log(width * depth)
    loss = 2.0 / capacity + 0.3 * (math.log10(lr) + 2.5) ** 2
    memory_gb = 2.0 + width * depth / 1000.0
    return {"value": loss, "memory_gb": memory_gb}
