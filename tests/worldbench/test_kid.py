"""KID with random-network features (worldbench.kid)."""

import numpy as np
import torch

from worldbench.kid import RandomFeatures, kid
from worldbench.runners import transitions
from worldgen_core import dynamics as dyn
from worldgen_core.world import WorldCore


def _next_views(core, n, seed):
    s, a = transitions(core, n, seed)
    return core.views(dyn.move(s, a[:, 0], core.grid))


def test_random_features_are_fixed_and_kid_separates_sets():
    f1, f2 = RandomFeatures(), RandomFeatures()
    x = torch.randint(0, 255, (4, 3, 64, 64), dtype=torch.uint8)
    assert torch.equal(f1(x), f2(x)) and f1(x).shape == (4, 2048)
    core = WorldCore()
    real, same = _next_views(core, 100, 0), _next_views(core, 100, 1)
    noise = np.random.default_rng(0).integers(0, 255, real.shape, dtype=np.uint8)
    k_same, _ = kid(RandomFeatures(), real, same, subsets=5, subset_size=50)
    k_noise, _ = kid(RandomFeatures(), real, noise, subsets=5, subset_size=50)
    assert k_noise > 10 * abs(k_same)
    # the subsets are drawn under a fixed seed: the same sets give the same number, whatever torch's global state
    torch.manual_seed(123)
    assert kid(RandomFeatures(), real, same, subsets=5, subset_size=50)[0] == k_same
