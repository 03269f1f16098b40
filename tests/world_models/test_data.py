"""world_models.data: transitions drawn from the map(s)."""

from types import SimpleNamespace

import numpy as np
import pytest
from helpers import stripe_map

from world_models.data import TransitionSampler
from worldgen_core import dynamics as dyn
from worldgen_core.world import WorldCore


def test_transition_sampler_draws_only_moves_that_happen():
    core = WorldCore(
        world=np.random.default_rng(0).integers(0, 256, (80, 400, 3), dtype=np.uint8)
    )  # grid (3, 43): a third of the cells on each horizontal edge
    sampler = TransitionSampler(core, seed=0)
    b = sampler.sample(400)
    assert not (dyn.move(b["pos"], b["action"], core.grid) == b["pos"]).all(1).any()
    assert (b["view"] != b["next"]).any((1, 2, 3)).all() and set(b["action"]) == {0, 1, 2, 3}
    again = TransitionSampler(core, seed=0).sample(400)
    assert all(np.array_equal(b[k], again[k]) for k in b)  # still a pure function of the seed
    with pytest.raises(ValueError, match="single view position"):
        TransitionSampler(SimpleNamespace(grid=np.array([1, 1])))  # a 64 x 64 map: one view, no moves


def test_many_maps_are_drawn_in_proportion_to_their_view_positions(tmp_path):
    small, big = (
        stripe_map(tmp_path / "s.png", (255, 0, 0), (120, 96)),
        stripe_map(tmp_path / "b.png", (0, 0, 255), (320, 240)),
    )
    cores = [WorldCore(small), WorldCore(big)]
    batch = TransitionSampler(cores, seed=0).sample(4000)
    from_small = (batch["view"][:, :, :, 0].mean((1, 2)) > 127).mean()
    want = cores[0].grid.prod() / (cores[0].grid.prod() + cores[1].grid.prod())
    assert abs(from_small - want) < 0.03
    red = batch["view"][:, :, :, 0].mean((1, 2)) > 127  # each next view comes from the same map as its view
    assert ((batch["next"][:, :, :, 0].mean((1, 2)) > 127) == red).all()
    one = TransitionSampler(cores[0], seed=3).sample(8)  # one map: the same draws as before many-map support
    assert (one["pos"] == TransitionSampler([cores[0]], seed=3).sample(8)["pos"]).all()
