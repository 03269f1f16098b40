import warnings

import gymnasium as gym
import numpy as np
import pytest
from PIL import Image

import worldgen_env
from world_models.training.trainer import Args, train
from worldgen_env.dream import (
    DEFAULT_WORLD_MODEL,
    UNIVERSAL_WORLD_MODEL,
    DreamWorldMapEnv,
    DreamWorldMapVectorEnv,
    dream_views,
    load_dream_model,
)


def test_dream_env_passes_both_checkers(ckpt):
    from gymnasium.utils.env_checker import check_env
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    check_env(gym.make("DreamWorldMap-v0", checkpoint=ckpt).unwrapped)
    sb3_check_env(gym.make("DreamWorldMap-v0", checkpoint=ckpt))


def test_same_spaces_task_and_info_as_real_env(ckpt):
    real, dream = gym.make("WorldMap-v0"), gym.make("DreamWorldMap-v0", checkpoint=ckpt)
    assert real.observation_space == dream.observation_space and real.action_space == dream.action_space
    assert real.spec.max_episode_steps == dream.spec.max_episode_steps
    o_r, i_r = real.reset(seed=3)
    o_d, i_d = dream.reset(seed=3)
    assert np.array_equal(o_r["image"], o_d["image"]) and np.array_equal(o_r["goal"], o_d["goal"])
    for a in np.random.default_rng(0).integers(0, 4, 40):
        r1 = real.step(int(a))
        r2 = dream.step(int(a))
        assert r1[1:4] == r2[1:4]  # reward, terminated, truncated
        assert set(r1[4]) == set(r2[4]) and np.array_equal(r1[4]["agent_pos"], r2[4]["agent_pos"])
        assert np.array_equal(r1[0]["goal"], r2[0]["goal"])
        if r1[2] or r1[3]:
            break


def test_same_seed_same_dream_and_vector_matches_single(ckpt):
    actions = np.random.default_rng(1).integers(0, 4, 12)

    def run_single(seed):
        env = DreamWorldMapEnv(checkpoint=ckpt)
        env.reset(seed=seed)
        return [env.step(int(a))[0]["image"] for a in actions]

    a, b, c = run_single(5), run_single(5), run_single(6)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))
    vec = gym.make_vec("DreamWorldMap-v0", num_envs=1, checkpoint=ckpt, max_episode_steps=None)
    vec.reset(seed=5)
    v = [vec.step(np.array([x]))[0]["image"][0] for x in actions]
    env = DreamWorldMapEnv(checkpoint=ckpt)  # no truncation either: raw env
    env.reset(seed=5)
    s = []
    for x in actions:
        obs, r, te, tr, info = env.step(int(x))
        s.append(obs["image"])
        if te:
            break
    assert all(np.array_equal(x, y) for x, y in zip(s, v))


def test_vector_dream_steps_all_envs_with_batched_calls(ckpt, monkeypatch):
    envs = DreamWorldMapVectorEnv(num_envs=5, checkpoint=ckpt, remember_goal=False)  # no first view is all remembered
    calls = []
    orig = envs.dreamer.model.model.forward
    monkeypatch.setattr(
        envs.dreamer.model.model, "forward", lambda x, *a, **k: calls.append(x.shape[0]) or orig(x, *a, **k)
    )
    envs.reset(seed=0)
    obs, *_ = envs.step(np.arange(5) % 4)
    assert obs["image"].shape == (5, 64, 64, 3)
    steps, cfg = envs.dreamer.sampling.steps, envs.dreamer.sampling.cfg_scale != 1.0
    assert calls == [5 * (2 if cfg else 1)] * steps  # one batched forward per sampler step (CFG halves in one batch)


def test_blocked_move_keeps_the_view_without_a_model_call(ckpt, monkeypatch):
    calls = []

    def predict(views, actions):
        calls.append(len(views))
        return np.full_like(views, 7)

    prev_pos, pos = np.array([[0, 0], [3, 4], [0, 5]]), np.array([[0, 0], [2, 4], [0, 5]])
    views = np.random.default_rng(0).integers(0, 256, (3, 64, 64, 3), dtype=np.uint8)
    out = dream_views(predict, prev_pos, pos, views, np.array([0, 0, 0]))
    assert calls == [1] and (out[1] == 7).all()  # only the row that moved is dreamed
    assert np.array_equal(out[[0, 2]], views[[0, 2]]) and out is not views
    assert dream_views(predict, pos, pos, views, np.zeros(3, np.int64)) is not views and calls == [
        1
    ]  # none moved: no call

    env = DreamWorldMapEnv(checkpoint=ckpt)  # at the map's top-left corner, up and left are blocked
    env.reset(seed=0, options={"start": (0, 0)})
    monkeypatch.setattr(
        env.dreamer.model.model, "forward", lambda *a, **k: pytest.fail("the model was called for a blocked move")
    )
    for a in (0, 2):
        obs, *_, info = env.step(a)
        assert (
            np.array_equal(obs["image"], env.core.views(np.zeros((1, 2), np.int64))[0])
            and (info["agent_pos"] == 0).all()
        )


def test_resync_every_step_equals_real_env(ckpt):
    real, dream = worldgen_env.WorldMapEnv(), DreamWorldMapEnv(checkpoint=ckpt, resync_every=1)
    real.reset(seed=2)
    dream.reset(seed=2)
    for a in [0, 1, 2, 3, 3]:
        assert np.array_equal(real.step(a)[0]["image"], dream.step(a)[0]["image"])


def test_dream_bad_inputs(ckpt, tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        DreamWorldMapEnv(checkpoint=tmp_path / "missing.pt")
    with pytest.raises(ValueError, match="sampler must be one of"):
        DreamWorldMapEnv(checkpoint=ckpt, sampler="ddim")
    with pytest.raises(ValueError, match="resync_every"):
        DreamWorldMapEnv(checkpoint=ckpt, resync_every=-1)
    with pytest.raises(ValueError, match="dtype"):
        DreamWorldMapEnv(checkpoint=ckpt, dtype="float8")
    dit = train(
        Args(
            experiment="diffusion",
            preset="tiny",
            out=str(tmp_path / "dit"),
            steps=1,
            batch_size=2,
            eval_every=0,
            progress=False,
        )
    )
    with pytest.raises(ValueError, match="unconditional DiT"):
        DreamWorldMapEnv(checkpoint=str(dit))


def test_rollout_gif(ckpt, tmp_path):
    from worldgen_env import rollout_gif

    out = rollout_gif.main(["--checkpoint", ckpt, "--steps", "4", "-o", str(tmp_path / "r.gif")])
    assert out.exists()
    true, fake, frames = rollout_gif.side_by_side_rollout(ckpt, n_steps=3, seed=1)
    assert true.shape == fake.shape == (4, 64, 64, 3) and np.array_equal(true[0], fake[0])


@pytest.mark.parametrize("dream", [False, True])
def test_play_headless(ckpt, monkeypatch, dream):
    import pygame

    from worldgen_env import play

    script = [
        [pygame.event.Event(pygame.KEYDOWN, key=pygame.K_RIGHT)],
        [pygame.event.Event(pygame.KEYUP, key=pygame.K_RIGHT)],
        [pygame.event.Event(pygame.KEYDOWN, key=pygame.K_DOWN)],
        [pygame.event.Event(pygame.QUIT)],
    ]
    monkeypatch.setattr(
        pygame.event, "get", lambda *a, **k: script.pop(0) if script else [pygame.event.Event(pygame.QUIT)]
    )
    steps = []
    orig = worldgen_env.WorldMapEnv.step
    monkeypatch.setattr(worldgen_env.WorldMapEnv, "step", lambda self, a: steps.append(a) or orig(self, a))
    play.main(["--seed", "0", "--fps", "1000"] + (["--dream", "--checkpoint", ckpt] if dream else []))
    assert steps[:1] == [3]  # the right arrow moved right


def test_dream_benchmark_smoke(ckpt):
    from worldgen_env.speed import dream

    out = dream(sizes=(2,), seconds=0.01, repeats=1, checkpoint=ckpt, settings=("memory", "no-memory", "seed"))
    assert all(out[(s, 2)] > 0 for s in ("memory", "no-memory", "seed"))
    assert (
        out["flops_per_frame"] > 1e6 and 0 < out["peak_share"] < 1.5
    )  # a model forward, a plausible share of the peak


def test_dream_memory_walk_out_and_back_is_exact_and_optional(ckpt):
    """Through the vector env: k moves right and k back returns exactly to the start view with
    the memory (the default), not without it; remember_goal shows the real goal view at the goal."""
    out_and_back = [3] * 6 + [2] * 6
    for memory in (True, False):
        envs = DreamWorldMapVectorEnv(num_envs=4, checkpoint=ckpt, memory=memory, max_episode_steps=None)
        obs, info = envs.reset(seed=1)
        start, p0 = obs["image"].copy(), info["agent_pos"].copy()
        for a in out_and_back:
            obs, r, te, tr, info = envs.step(np.full(4, a))
        back = (info["agent_pos"] == p0).all(1) & ~te  # not stopped by an edge or the goal
        assert back.any()
        same = [np.array_equal(obs["image"][i], start[i]) for i in np.flatnonzero(back)]
        assert all(same) if memory else not any(same)
    env = DreamWorldMapEnv(checkpoint=ckpt, remember_goal=True, goal_distance=(2, 2))
    obs, info = env.reset(seed=0)
    d = (info["goal_pos"] - info["agent_pos"]) // 8
    for a in [1 if d[0] > 0 else 0] * abs(d[0]) + [3 if d[1] > 0 else 2] * abs(d[1]):
        obs, *_ = env.step(a)
    assert np.array_equal(obs["image"], obs["goal"])
    for bad, match in (
        (dict(memory="yes"), "memory must be True or False"),
        (dict(memory=False, remember_goal=True), "needs memory=True"),
        (dict(memory_cells=2), "memory_cells"),
    ):
        with pytest.raises(ValueError, match=match):
            DreamWorldMapEnv(checkpoint=ckpt, **bad)


def test_remember_goal_is_on_whenever_the_dream_has_a_memory(ckpt):
    from worldgen_core.simulator import PredictorSimulator

    assert DreamWorldMapEnv(checkpoint=ckpt).dreamer.remember_goal
    assert not DreamWorldMapEnv(checkpoint=ckpt, memory=False).dreamer.remember_goal
    assert not DreamWorldMapEnv(
        model=PredictorSimulator(lambda v, a: v)
    ).dreamer.remember_goal  # a simulator without memory
    with pytest.raises(ValueError, match="can remember"):
        DreamWorldMapEnv(model=PredictorSimulator(lambda v, a: v), remember_goal=True)
    with pytest.raises(ValueError, match="remember_goal must be"):
        DreamWorldMapEnv(checkpoint=ckpt, remember_goal="yes")


def test_dream_of_another_map_uses_the_universal_model_by_default(tmp_path):
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (200, 240, 3), dtype=np.uint8)).save(tmp_path / "m.png")
    with pytest.warns(
        UserWarning, match=r"dreams it zero-shot.*python train_world.py --map .*m.png --out runs/m`"
    ) as caught:
        mine = gym.make("DreamWorldMap-v0", map_path=str(tmp_path / "m.png")).unwrapped
    assert sum("zero-shot" in str(w.message) for w in caught) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once per map: a second env of it, and the default map, say nothing
        gym.make("DreamWorldMap-v0", map_path=str(tmp_path / "m.png"))
        default = gym.make("DreamWorldMap-v0").unwrapped
    shipped_by_path = gym.make("DreamWorldMap-v0", map_path="data/world_map.png").unwrapped
    assert mine.dreamer.model is load_dream_model(str(UNIVERSAL_WORLD_MODEL))
    assert default.dreamer.model is shipped_by_path.dreamer.model is load_dream_model(str(DEFAULT_WORLD_MODEL))
    given = gym.make(
        "DreamWorldMap-v0", map_path=str(tmp_path / "m.png"), checkpoint=str(DEFAULT_WORLD_MODEL)
    ).unwrapped
    assert given.dreamer.model is default.dreamer.model  # a checkpoint given is the one used
