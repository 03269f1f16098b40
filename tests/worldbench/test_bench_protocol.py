"""The simulator protocol: any model in the dream env and the benchmark."""

import gymnasium as gym
import numpy as np
import pytest

import worldgen_env  # noqa: F401
from worldbench.models import OracleSimulator, parse_spec
from worldgen_env.dream import DreamWorldMapEnv, DreamWorldMapVectorEnv
from worldgen_env.envs import WorldCore, WorldMapEnv


class CountingSim:
    """A toy simulator with per-sub-env memory: each next view is the first view, darkened by
    the number of moves made since the sub-env's reset."""

    def __init__(self):
        self.first, self.moves, self.calls = None, None, []

    def reset(self, idx, first_views, positions):
        if self.first is None:
            self.first, self.moves = np.zeros((len(idx), *first_views.shape[1:]), np.uint8), np.zeros(len(idx), int)
        self.first[idx], self.moves[idx] = first_views, 0
        self.calls.append(("reset", np.array(idx), positions.copy()))

    def step(self, actions, moved):
        self.calls.append(("step", np.array(actions), np.array(moved)))
        self.moves += moved
        return np.clip(self.first.astype(int) - self.moves[:, None, None, None], 0, 255).astype(np.uint8)


def test_toy_simulator_dreams_through_the_vector_env():
    sim = CountingSim()
    envs = DreamWorldMapVectorEnv(num_envs=3, model=sim, max_episode_steps=None)
    obs, info = envs.reset(seed=0)
    kind, idx, pos = sim.calls[0]
    assert kind == "reset" and idx.tolist() == [0, 1, 2] and np.array_equal(pos * 8, info["agent_pos"])
    real = WorldMapEnv()
    first = obs["image"].copy()
    obs, *_ = envs.step(np.array([3, 3, 3]))
    kind, actions, moved = sim.calls[-1]
    assert kind == "step" and actions.tolist() == [3, 3, 3] and moved.all()
    assert np.array_equal(obs["image"].astype(int), np.clip(first.astype(int) - 1, 0, 255))
    assert real.observation_space["image"].contains(obs["image"][0])


def test_blocked_moves_keep_the_view_and_reset_clears_the_sub_env():
    sim = CountingSim()
    env = DreamWorldMapEnv(model=sim)
    obs, info = env.reset(seed=0)
    while info["agent_pos"][0] > 0:  # walk to the top edge
        obs, *_, info = env.step(0)
    before = obs["image"].copy()
    obs, *_ = env.step(0)  # blocked
    assert not sim.calls[-1][2].any() and np.array_equal(obs["image"], before)
    env.reset(seed=1)
    assert sim.moves[0] == 0


def test_model_and_checkpoint_are_exclusive_and_checked(tiny_world_model):
    with pytest.raises(ValueError, match="either model="):
        DreamWorldMapEnv(model=CountingSim(), checkpoint=tiny_world_model)
    with pytest.raises(TypeError, match="simulator protocol"):
        DreamWorldMapEnv(model=object())


def test_oracle_in_the_dream_env_is_the_real_env():
    core = WorldCore()
    dream = gym.make("DreamWorldMap-v0", model=OracleSimulator(core))
    real = gym.make("WorldMap-v0")
    o1, _ = dream.reset(seed=3)
    o2, _ = real.reset(seed=3)
    for a in np.random.default_rng(0).integers(0, 4, 20):
        o1, r1, *_ = dream.step(int(a))
        o2, r2, *_ = real.step(int(a))
        assert np.array_equal(o1["image"], o2["image"]) and r1 == r2


def test_model_specs(tiny_world_model):
    core = WorldCore()
    assert parse_spec("copy", core).name == "copy"
    e = parse_spec(f"tiny={tiny_world_model}?steps=1&cfg=1.0", core)
    assert e.name == "tiny" and e.learned
    assert isinstance(
        parse_spec("worldbench.models:OracleSimulator", core).make(), OracleSimulator
    )  # anyone's factory(core)
    with pytest.raises(ValueError, match="unknown settings"):
        parse_spec(f"{tiny_world_model}?temperature=2", core)
    with pytest.raises(ValueError, match="memory must be 0 or 1"):
        parse_spec(f"{tiny_world_model}?memory=yes", core)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        parse_spec("nope.pt", core)
    with pytest.raises(ValueError, match="is not copy, shift"):
        parse_spec("banana", core)


def test_checkpoint_specs_dream_with_memory_unless_told_not_to(tiny_world_model):
    """A checkpoint row dreams as DreamWorldMap-v0 does (with its memory): back at the start of a
    loop it shows exactly the start view; ``?memory=0`` is the memoryless dream."""
    from worldbench import runners

    core = WorldCore()
    starts, actions = runners.line_loops(core, 8, 3, seed=0)
    true, _ = runners.run_episodes(parse_spec("oracle", core).make, core, starts, actions)
    for spec, exact in ((f"{tiny_world_model}?steps=1", True), (f"{tiny_world_model}?steps=1&memory=0", False)):
        _, fake = runners.run_episodes(parse_spec(spec, core).make, core, starts, actions)
        assert np.array_equal(fake[:, -1], true[:, 0]) == exact


@pytest.mark.parametrize("factory", ["noise_with_memory", "shift_with_memory"])
def test_calibration_simulators_remember_and_invent_their_defect(factory):
    """worldbench.models' known-defect simulators: exact revisits (the dream's memory), the defect elsewhere."""
    core = WorldCore()
    sim = parse_spec(f"worldbench.models:{factory}", core).make()
    start = np.array([[40, 40]])
    first = core.views(start)
    sim.reset(np.arange(1), first, start)
    out = sim.step(np.array([3]), np.array([True]))  # right: the last 8 columns were never shown
    assert np.array_equal(out[0, :, :-8], first[0, :, 8:])  # the known part comes back exactly
    new = out[0, :, -8:].astype(float)
    if factory == "noise_with_memory":
        assert new.std() > 60  # uniform noise (std 74), not map content
    else:
        assert np.array_equal(
            out[0, :, -8:], np.repeat(first[0, :, -1:], 8, axis=1)
        )  # shift's streak: the edge column repeated
    back = sim.step(np.array([2]), np.array([True]))  # and back: all remembered
    assert np.array_equal(back, first)
