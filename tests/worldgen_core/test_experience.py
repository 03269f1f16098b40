"""What an agent saw of a map (Experience), the world as experienced (ExperienceCore) and its dream."""

import gymnasium as gym
import numpy as np
import pytest

import worldgen_env  # noqa: F401
from worldgen_core import dynamics as dyn
from worldgen_core.experience import Experience, ExperienceCore
from worldgen_core.simulator import PredictorSimulator, TileMemory
from worldgen_core.world import WorldCore

FAR = dyn.TaskConfig(goal_distance=(8, 12), goal_out_of_view=True)


@pytest.fixture
def world():
    return WorldCore(world=np.random.default_rng(0).integers(0, 256, (400, 480, 3), np.uint8), task=FAR)


def _seen(world, rows=slice(0, 16), cols=slice(0, 20)):
    seen = Experience.of(world)
    pos = np.argwhere(np.ones((rows.stop - rows.start, cols.stop - cols.start), bool)) + [rows.start, cols.start]
    seen.add(world.views(pos), pos)
    return seen


def test_the_canvas_holds_exactly_what_was_seen(world):
    seen = _seen(world)
    g = 8
    assert seen.cells[: 16 + g - 1, : 20 + g - 1].all() and seen.cells.sum() == (16 + g - 1) * (20 + g - 1)
    h, w = (16 + g - 1) * 8, (20 + g - 1) * 8
    assert (seen.canvas[:h, :w] == world.world[:h, :w]).all()
    assert not seen.canvas[h:].any() and not seen.canvas[:, w:].any()  # never seen: black
    assert (
        seen.known_views() == np.pad(np.ones((16, 20), bool), ((0, world.grid[0] - 16), (0, world.grid[1] - 20)))
    ).all()


def test_episodes_start_and_end_only_where_the_views_were_seen(world):
    core = _seen(world).core()
    start, goal = core.reset_positions(np.random.default_rng(1), 500)
    assert (start < [16, 20]).all() and (goal < [16, 20]).all()
    d = dyn.manhattan(start, goal)
    assert ((8 <= d) & (d <= 12)).all() and (np.abs(goal - start).max(1) >= 8).all()  # the far task's goals
    assert core.fingerprint == world.fingerprint and (core.views(start) == world.views(start)).all()


def test_a_world_too_small_for_the_task_is_refused(world):
    seen = _seen(world, slice(0, 3), slice(0, 3))  # 3x3 places: no goal 8-12 moves away
    with pytest.raises(ValueError, match="too few or too scattered"):
        seen.core().reset_positions(np.random.default_rng(0), 1)
    with pytest.raises(ValueError, match="no whole view"):
        Experience.of(world).core()


def test_the_unrestricted_draws_are_unchanged():
    rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
    a = dyn.sample_start_and_goal(rng_a, np.array([30, 40]), (3, 7), 50)
    b = dyn.sample_start_and_goal(rng_b, np.array([30, 40]), (3, 7), 50, allowed=None)
    assert all((x == y).all() for x, y in zip(a, b))


def test_tile_memory_remembers_cells(world):
    mem = TileMemory(8, 16)
    views = world.views(np.array([[0, 0]]))
    mem.reset(np.array([0]), views, np.array([[0, 0]]))
    tiles = world.world[80:88, 88:96][None]
    mem.write_cells(0, np.array([[10, 11]]), tiles)
    out, known = mem.recall(np.array([0]), np.array([[10, 11]]), np.zeros_like(views))
    assert known[0, 0, 0] and known.sum() == 1 and (out[0, :8, :8] == tiles[0]).all()


def _noise_sim():
    rng = np.random.default_rng(0)
    return PredictorSimulator(lambda v, a: rng.integers(0, 256, v.shape, np.uint8), memory=TileMemory(8))


def test_the_dream_of_an_experience_is_exact_where_it_was_seen(world):
    seen = _seen(world)
    envs = gym.make_vec(
        "DreamWorldMap-v0",
        num_envs=4,
        experience=seen,
        model=_noise_sim(),
        goal_distance=(8, 12),
        goal_out_of_view=True,
    )
    envs.reset(seed=0)
    u, rng = envs.unwrapped, np.random.default_rng(0)
    known = seen.known_views()
    inside = outside = 0
    for _ in range(60):
        before = u._pos.copy()
        obs, *_ = envs.step(rng.integers(0, 4, 4))
        for i in range(4):
            if u._steps[i] == 0:  # just reset: a real first view
                before[i] = u._pos[i]
            if known[tuple(u._pos[i])]:
                assert (obs["image"][i] == world.views(u._pos[i : i + 1])[0]).all()
                inside += 1
            elif (obs["image"][i] != world.views(u._pos[i : i + 1])[0]).any():
                outside += 1  # never seen: the (noise) model's
    assert inside > 50 and outside > 0
    envs.close()


def test_an_experience_replaces_the_map(world):
    seen = _seen(world)
    with pytest.raises(ValueError, match="drop map_path"):
        gym.make_vec("DreamWorldMap-v0", num_envs=1, experience=seen, model=_noise_sim(), map_path="x.png")
    with pytest.raises(ValueError, match="remember cells"):
        gym.make_vec("DreamWorldMap-v0", num_envs=1, experience=seen, model=PredictorSimulator(lambda v, a: v))
    env = gym.make("DreamWorldMap-v0", experience=seen, model=_noise_sim())
    assert isinstance(env.unwrapped.core, ExperienceCore)
    env.close()
