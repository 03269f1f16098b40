import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

import worldgen_env
from worldgen_core import dynamics as dyn
from worldgen_env.envs import WorldMapEnv, WorldMapVectorEnv


def test_env_checkers_pass():
    from gymnasium.utils.env_checker import check_env
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    check_env(gym.make("WorldMap-v0").unwrapped)
    sb3_check_env(gym.make("WorldMap-v0"))


def test_registration_without_import():
    code = (
        "import gymnasium as gym; e = gym.make('worldgen_env:WorldMap-v0'); print(e.observation_space['image'].shape)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "(64, 64, 3)" in out


def test_spaces_and_types():
    env = gym.make("WorldMap-v0")
    obs, info = env.reset(seed=1)
    assert env.action_space == gym.spaces.Discrete(4)
    assert obs["image"].shape == obs["goal"].shape == (64, 64, 3) and obs["image"].dtype == np.uint8
    obs, r, term, trunc, info = env.step(0)
    assert type(r) is float and type(term) is bool and type(trunc) is bool
    assert set(info) == {"agent_pos", "goal_pos", "distance", "is_success"}
    world = env.unwrapped.core.world
    assert not np.shares_memory(obs["image"], world) and not np.shares_memory(obs["goal"], world)


def _run_single(seed, actions):
    env = gym.make("WorldMap-v0")
    obs, info = env.reset(seed=seed)
    out = [(obs, 0.0, False, False, info)]
    done = False
    for a in actions:
        if done:  # mirror next-step autoreset: the vector env resets on the step after done
            obs, info = env.reset()
            out.append((obs, 0.0, False, False, info))
            done = False
            continue
        obs, r, te, tr, info = env.step(int(a))
        out.append((obs, r, te, tr, info))
        done = te or tr
    return out


def test_vector_env_with_one_env_matches_single_env():
    actions = np.random.default_rng(0).integers(0, 4, 300)
    single = _run_single(7, actions)
    envs = gym.make_vec("WorldMap-v0", num_envs=1)
    obs, info = envs.reset(seed=7)
    copy = lambda o: {k: v.copy() for k, v in o.items()}  # obs["goal"] is a reused buffer
    vec = [(copy(obs), 0.0, False, False, info)]
    for a in actions:
        obs, r, te, tr, info = envs.step(np.array([a]))
        vec.append((copy(obs), r[0], te[0], tr[0], info))
    n_done = 0
    for (so, sr, ste, stt, si), (vo, vr, vte, vtt, vi) in zip(single, vec):
        assert np.array_equal(so["image"], vo["image"][0]) and np.array_equal(so["goal"], vo["goal"][0])
        assert sr == pytest.approx(vr) and ste == vte and stt == vtt
        assert np.array_equal(si["agent_pos"], vi["agent_pos"][0]) and si["distance"] == vi["distance"][0]
        n_done += ste or stt
    assert n_done >= 5  # the comparison crossed several episode ends, both truncations and successes


def test_same_seed_same_trajectory_and_different_seed_differs():
    actions = np.random.default_rng(1).integers(0, 4, 50)
    a, b, c = _run_single(3, actions), _run_single(3, actions), _run_single(4, actions)
    assert all(np.array_equal(x[0]["image"], y[0]["image"]) for x, y in zip(a, b))
    assert not all(np.array_equal(x[0]["image"], y[0]["image"]) for x, y in zip(a, c))


def test_goal_distance_range_and_random_policy_rarely_succeeds():
    envs = WorldMapVectorEnv(num_envs=256, goal_distance=(3, 7))
    obs, info = envs.reset(seed=0)
    assert info["distance"].min() >= 3 and info["distance"].max() <= 7
    rng = np.random.default_rng(0)
    succ = eps = 0
    for _ in range(300):
        _, _, te, tr, _ = envs.step(rng.integers(0, 4, 256))
        succ, eps = succ + te.sum(), eps + (te | tr).sum()
    assert 0.02 < succ / eps < 0.3


def test_edge_of_map_moves_leave_agent_in_place():
    grid = np.array([5, 6])
    pos = np.array([[0, 0], [0, 0], [4, 5], [4, 5], [2, 3]])
    act = np.array([dyn.UP, dyn.LEFT, dyn.DOWN, dyn.RIGHT, dyn.UP])
    assert np.array_equal(dyn.move(pos, act, grid), [[0, 0], [0, 0], [4, 5], [4, 5], [1, 3]])
    env = WorldMapEnv()
    env.reset(seed=0, options={"start": (0, 0)})
    obs, r, *_, info = env.step(dyn.UP)
    assert np.array_equal(info["agent_pos"], [0, 0])
    assert np.array_equal(obs["image"], env.core.world[:64, :64])


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), actions=st.lists(st.integers(0, 3), min_size=1, max_size=40))
def test_observation_is_always_the_map_crop_at_reported_position(seed, actions):
    env = gym.make("WorldMap-v0")
    world = env.unwrapped.core.world
    obs, info = env.reset(seed=seed)
    gy, gx = info["goal_pos"]
    assert np.array_equal(obs["goal"], world[gy : gy + 64, gx : gx + 64])
    for a in actions:
        obs, r, te, tr, info = env.step(a)
        y, x = info["agent_pos"]
        assert np.array_equal(obs["image"], world[y : y + 64, x : x + 64])
        assert info["distance"] == np.abs(info["agent_pos"] - info["goal_pos"]).sum() // 8
        if te or tr:
            break


def test_success_terminates_with_positive_reward():
    env = WorldMapEnv()
    _, info = env.reset(seed=5)
    g, p = info["goal_pos"] // 8, info["agent_pos"] // 8
    path = (
        [dyn.DOWN] * max(g[0] - p[0], 0)
        + [dyn.UP] * max(p[0] - g[0], 0)
        + [dyn.RIGHT] * max(g[1] - p[1], 0)
        + [dyn.LEFT] * max(p[1] - g[1], 0)
    )
    for i, a in enumerate(path):
        obs, r, te, tr, info = env.step(a)
        assert te == (i == len(path) - 1)
    assert r > 0.9 and info["is_success"] and np.array_equal(obs["image"], obs["goal"])


def test_shaping_is_potential_based():
    task = dyn.TaskConfig(shaping=0.1)
    r, s = dyn.reward_and_success(np.array([3, 3]), np.array([2, 4]), task)
    assert r == pytest.approx([-0.01 + 0.1, -0.01 - 0.1]) and not s.any()


def test_same_step_autoreset_reports_final_obs():
    envs = WorldMapVectorEnv(num_envs=8, autoreset_mode="same_step", max_episode_steps=5)
    envs.reset(seed=0)
    seen_done = False
    for _ in range(6):
        obs, r, te, tr, info = envs.step(np.zeros(8, np.int64))
        done = te | tr
        if done.any():
            seen_done = True
            assert np.array_equal(info["_final_obs"], done)
            i = np.flatnonzero(done)[0]
            fy, fx = info["final_info"]["agent_pos"][i]
            world = envs.core.world
            assert np.array_equal(info["final_obs"]["image"][i], world[fy : fy + 64, fx : fx + 64])
            assert 3 <= info["distance"][i] <= 7  # the fresh episode
    assert seen_done


def test_image_observations_are_not_reused_buffers():
    envs = WorldMapVectorEnv(num_envs=4)
    obs0, _ = envs.reset(seed=0)
    kept = obs0["image"].copy()
    envs.step(np.array([0, 1, 2, 3]))
    assert np.array_equal(obs0["image"], kept)


def test_render_modes():
    env = gym.make("WorldMap-v0", render_mode="rgb_array")
    env.reset(seed=0)
    frame = env.render()
    assert frame.ndim == 3 and frame.shape[2] == 3 and frame.shape[0] >= 192
    human = gym.make("WorldMap-v0", render_mode="human")
    human.reset(seed=0)
    human.step(1)
    human.close()
    vec = WorldMapVectorEnv(num_envs=2, render_mode="rgb_array")
    vec.reset(seed=0)
    assert len(vec.render()) == 2


@pytest.mark.parametrize("mode", ["RGBA", "L", "P", "LA"])
def test_map_image_modes_are_converted_to_rgb(tmp_path, mode):
    img = Image.fromarray(np.random.default_rng(0).integers(0, 255, (100, 120, 3), dtype=np.uint8)).convert(mode)
    path = tmp_path / f"map_{mode}.png"
    img.save(path)
    env = WorldMapEnv(map_path=path)
    obs, _ = env.reset(seed=0)
    assert env.core.world.shape == (100, 120, 3) and obs["image"].shape == (64, 64, 3)


def test_bad_maps_give_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.png"):
        WorldMapEnv(map_path=tmp_path / "nope.png")
    bad = tmp_path / "notes.txt"
    bad.write_text("not an image")
    with pytest.raises(ValueError, match="notes.txt.*not an image"):
        WorldMapEnv(map_path=bad)
    small = tmp_path / "small.png"
    Image.new("RGB", (50, 80)).save(small)
    with pytest.raises(ValueError, match="small.png.*50x80.*smaller than one 64x64"):
        WorldMapEnv(map_path=small)
    with pytest.raises(ValueError, match="directory"):
        WorldMapEnv(map_path=tmp_path)


def test_bad_arguments_give_clear_errors():
    with pytest.raises(ValueError, match="goal_distance"):
        WorldMapEnv(goal_distance=(5, 2))
    with pytest.raises(ValueError, match="render_mode"):
        WorldMapEnv(render_mode="ascii")
    with pytest.raises(ValueError, match="num_envs"):
        WorldMapVectorEnv(num_envs=0)
    env = WorldMapEnv()
    with pytest.raises(gym.error.ResetNeeded):
        env.step(0)
    env.reset(seed=0)
    with pytest.raises(gym.error.InvalidAction, match="0..3"):
        env.step(7)
    vec = WorldMapVectorEnv(num_envs=2)
    vec.reset(seed=0)
    with pytest.raises(gym.error.InvalidAction, match="shape"):
        vec.step(np.array([0, 1, 2]))


def test_custom_geometry():
    env = WorldMapEnv(view_size=32, stride=4, goal_distance=(1, 2))
    obs, info = env.reset(seed=0)
    assert obs["image"].shape == (32, 32, 3) and 1 <= info["distance"] <= 2


def test_mapgen_is_deterministic_and_shipped_map_matches(tmp_path):
    from worldgen_core.mapgen import generate_map, main

    a = generate_map(seed=11, width=300, height=200)
    assert a.shape == (200, 300, 3) and np.array_equal(a, generate_map(seed=11, width=300, height=200))
    assert not np.array_equal(a, generate_map(seed=12, width=300, height=200))
    assert a.std() > 20  # a drawn map, not a flat image
    (out,) = main(["--seed", "0", "--width", "256", "--height", "160", "-o", str(tmp_path / "m.png")])
    assert Image.open(out).size == (256, 160)


def test_shipped_default_map():
    w = worldgen_env.default_map()
    assert w.shape == (1024, 1536, 3) and w.dtype == np.uint8


def test_speed_and_demo_run(tmp_path):
    from worldgen_env import demo, speed

    res = speed.run(sizes=(4,), seconds=0.05, repeats=1)
    assert res["single"] > 0 and res["vec4"] > 0
    gif = demo.main(["--out", str(tmp_path)])
    assert gif.exists() and gif.stat().st_size > 1000


def test_reset_options_place_start_and_goal_and_name_bad_values():
    env = WorldMapEnv()
    obs, info = env.reset(seed=3, options={"goal": (16, 40)})
    assert info["goal_pos"].tolist() == [16, 40] and np.array_equal(obs["goal"], env.core.views(np.array([[2, 5]]))[0])
    drawn = env.reset(seed=3)[1]["agent_pos"]
    assert np.array_equal(info["agent_pos"], drawn)  # the start is still the seeded draw
    for bad, msg in [
        ({"start": (3, 0)}, "multiples of 8"),
        ({"start": (0, 10**6)}, "0 <= x"),
        ({"goal": (0.0, 8.0)}, "pixels"),
        ({"here": (0, 0)}, "unknown reset options"),
    ]:
        with pytest.raises(ValueError, match=msg):
            env.reset(seed=0, options=bad)
