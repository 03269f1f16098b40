"""What a simulator costs: FLOPs per generated frame and dream env-steps/s."""

from __future__ import annotations

import statistics
from typing import Callable

import numpy as np
from torch.utils.flop_counter import FlopCounterMode

from worldgen_core.simulator import Simulator
from worldgen_core.world import WorldCore
from worldgen_env.speed import time_vector

__all__ = ["flops_per_frame", "dream_steps_per_s"]


def flops_per_frame(make: Callable[[], Simulator], core: WorldCore, batch: int = 8) -> float:
    """torch FLOPs of one step of ``batch`` moving sub-envs, per frame (0 for numpy simulators)."""
    sim = make()
    rng = np.random.default_rng(0)
    pos = np.stack([rng.integers(1, core.grid[0] - 1, batch), rng.integers(1, core.grid[1] - 1, batch)], 1)
    if hasattr(sim, "seed"):
        sim.seed(0)
    sim.reset(np.arange(batch), core.views(pos), pos)
    with FlopCounterMode(display=False) as fc:
        sim.step(rng.integers(0, 4, batch), np.ones(batch, bool))
    return fc.get_total_flops() / batch


def dream_steps_per_s(
    make: Callable[[], Simulator], num_envs: int = 64, seconds: float = 2.0, repeats: int = 3, **env_kwargs
) -> float:
    """Median env-steps/s of ``DreamWorldMap-v0`` with ``num_envs`` sub-envs dreamed by ``make()``."""
    return statistics.median(
        time_vector("DreamWorldMap-v0", num_envs, seconds, {"model": make(), **env_kwargs}) for _ in range(repeats)
    )
