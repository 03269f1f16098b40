import json

import numpy as np
import pytest

from agents import SB3VecEnv, evaluate_real, make_sb3_vec_env, random_policy
from agents.training import Args, train
from worldgen_env.envs import WorldMapVectorEnv


def test_sb3_adapter_sets_terminal_observation_and_truncation():
    venv = WorldMapVectorEnv(num_envs=4, autoreset_mode="same_step", max_episode_steps=3)
    env = SB3VecEnv(venv)
    env.seed(0)
    obs = env.reset()
    assert obs["image"].shape == (4, 64, 64, 3)
    for _ in range(3):
        obs, rew, done, infos = env.step(np.zeros(4, np.int64))
    assert done.all() and rew.dtype == np.float32
    for i, info in enumerate(infos):
        assert "terminal_observation" in info
        assert info["TimeLimit.truncated"] == (not info["is_success"])
        assert not np.array_equal(info["terminal_observation"]["image"], obs["image"][i]) or info["is_success"]
    with pytest.raises(ValueError, match="same_step"):
        SB3VecEnv(WorldMapVectorEnv(num_envs=2))


def test_sb3_vec_env_is_seeded():
    a, b = make_sb3_vec_env("WorldMap-v0", 3, seed=7), make_sb3_vec_env("WorldMap-v0", 3, seed=7)
    assert np.array_equal(a.reset()["goal"], b.reset()["goal"])


def test_evaluate_real_counts_exactly_and_is_reproducible(monkeypatch):
    r1 = evaluate_real(random_policy(0), n_episodes=60, n_envs=20)
    r2 = evaluate_real(random_policy(0), n_episodes=60, n_envs=20)
    assert r1 == r2 and r1["episodes"] == 60 and 0 <= r1["success_rate"] < 0.4

    import agents.evaluation as ev

    made, real_cls = [], ev.WorldMapVectorEnv
    monkeypatch.setattr(ev, "WorldMapVectorEnv", lambda *a, **k: made.append(real_cls(*a, **k)) or made[-1])

    def oracle(obs):  # reads the true positions: a check of the episode bookkeeping, not a policy
        d = made[-1]._goal - made[-1]._pos
        return np.where(d[:, 0] > 0, 1, np.where(d[:, 0] < 0, 0, np.where(d[:, 1] > 0, 3, 2)))

    r = evaluate_real(oracle, n_episodes=40, n_envs=10)
    assert r["success_rate"] == 1.0 and 3 <= r["mean_length"] <= 7 and r["episodes"] == 40


@pytest.mark.parametrize("env_id", ["WorldMap-v0", "DreamWorldMap-v0"])
def test_train_agent_smoke(tmp_path, env_id, ckpt):
    report = train(
        Args(
            env=env_id,
            timesteps=256,
            n_envs=2,
            out=str(tmp_path / "run"),
            eval_every=128,
            eval_episodes=10,
            world_model=ckpt if env_id == "DreamWorldMap-v0" else None,  # the real env refuses dream settings
            progress=env_id == "WorldMap-v0",
            n_steps=64,
            batch_size=64,
        )
    )  # SB3's progress bar needs tqdm and rich
    assert all((tmp_path / "run" / f).exists() for f in ("model.zip", "eval.gif", "curve.png", "report.md"))
    saved = json.loads((tmp_path / "run" / "report.json").read_text())
    assert saved["ppo_real_eval"]["episodes"] == 10 and len(saved["curve"]) >= 1
    assert report["random_real_eval"]["episodes"] == 10


def test_train_agent_cli_rejects_bad_env(tmp_path):
    with pytest.raises(SystemExit, match="--env"):
        train(Args(env="CartPole-v1", out=str(tmp_path)))


def test_correlation_extractor_peaks_at_the_displacement_to_the_goal():
    """With any (random) encoder weights, the cost volume's peak is the goal's offset in moves."""
    import gymnasium as gym
    import torch

    from agents.policy import CorrelationCNN

    envs = WorldMapVectorEnv(num_envs=16)
    obs, info = envs.reset(seed=3)
    space = gym.spaces.Dict({k: gym.spaces.Box(0, 255, (3, 64, 64), np.uint8) for k in ("image", "goal")})
    torch.manual_seed(0)
    ext = CorrelationCNN(space)
    t = {k: torch.from_numpy(v).permute(0, 3, 1, 2).float() / 255 for k, v in obs.items()}
    with torch.no_grad():
        corr = ext.correlation(t["image"], t["goal"])
    assert corr.shape == (16, 15, 15), corr.shape
    peak = np.stack(np.unravel_index(corr.flatten(1).argmax(1).numpy(), (15, 15)), 1) - 7  # (B, 2) in moves
    np.testing.assert_array_equal(peak, (info["goal_pos"] - info["agent_pos"]) // 8)
    np.testing.assert_allclose(corr.flatten(1).max(1).values.numpy(), 1.0, atol=1e-5)
    assert ext(t).shape == (16, 256)


def test_scalar_curve_reads_a_runs_tensorboard_logs(tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    from agents.evaluation import scalar_curve

    w = SummaryWriter(str(tmp_path / "tb" / "ppo_1"))
    for step in (3, 1, 2):
        w.add_scalar("rollout/success_rate", step / 10, step)
        w.add_scalar("train/loss", 5.0, step)
    w.close()
    curve = scalar_curve(tmp_path / "tb")
    assert [s for s, _ in curve] == [1, 2, 3] and [v for _, v in curve] == pytest.approx([0.1, 0.2, 0.3])
    assert scalar_curve(tmp_path / "tb", "rollout/missing") == [] and scalar_curve(tmp_path / "nothing") == []


def test_map_and_task_options_reach_training_evaluation_and_gif(tmp_path, monkeypatch):
    from PIL import Image

    import agents.training as tr

    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (200, 260, 3), dtype=np.uint8)).save(tmp_path / "mine.png")
    seen = {"train": [], "eval": [], "gif": []}

    def spy(key, fn):
        def wrapped(*a, **k):
            seen[key].append(k)
            return fn(*a, **k)

        return wrapped

    monkeypatch.setattr(tr, "make_sb3_vec_env", spy("train", tr.make_sb3_vec_env))
    monkeypatch.setattr(tr, "evaluate_real", spy("eval", tr.evaluate_real))
    monkeypatch.setattr(tr, "record_gif", spy("gif", tr.record_gif))
    rep = train(
        Args(
            env="WorldMap-v0",
            task="far",
            map=str(tmp_path / "mine.png"),
            goal_distance=(8, 9),
            max_episode_steps=20,
            out=str(tmp_path / "run"),
            timesteps=64,
            n_envs=2,
            n_steps=16,
            batch_size=16,
            n_epochs=1,
            eval_every=32,
            eval_episodes=4,
            progress=False,
        )
    )
    want = {
        "map_path": str(tmp_path / "mine.png"),
        "goal_distance": (8, 9),
        "goal_out_of_view": True,
        "max_episode_steps": 20,
    }
    for key in ("train", "eval", "gif"):
        assert seen[key] and all({k: kw.get(k) for k in want} == want for kw in seen[key]), (key, seen[key])
    assert len(seen["eval"]) >= 3  # the periodic evaluation, the final one and the random baseline
    assert rep["map"].endswith("mine.png") and rep["task"] == "far" and rep["ppo_real_eval"]["mean_length"] <= 20
    assert (
        "mine.png" in (tmp_path / "run" / "report.md").read_text()
        and "out of view" in (tmp_path / "run" / "report.md").read_text()
    )
    with pytest.raises(SystemExit, match="--task must be one of"):
        train(Args(env="WorldMap-v0", task="medium", out=str(tmp_path / "x")))
    with pytest.raises(SystemExit, match="goal_out_of_view needs goals at least 8 moves"):
        train(Args(env="WorldMap-v0", task="far", goal_distance=(3, 5), out=str(tmp_path / "y")))
    assert not (tmp_path / "y").exists()


def test_far_task_goal_never_overlaps_the_start_view():
    envs = WorldMapVectorEnv(num_envs=500, goal_distance=(8, 12), goal_out_of_view=True)
    _, info = envs.reset(seed=0)
    off = np.abs(info["goal_pos"] - info["agent_pos"]).max(1)
    assert (off >= 64).all() and set(np.unique(info["distance"])) == set(range(8, 13))


@pytest.mark.parametrize("remember_goal", [None, False, True])
def test_dream_remember_goal_reaches_the_dream_with_a_given_simulator(tmp_path, monkeypatch, remember_goal):
    """train(args, simulator=...) (the benchmark's path) dreams with the run's --dream-remember-goal."""
    import agents.training as tr
    from worldbench.models import noise_with_memory
    from worldgen_core.world import WorldCore

    seen = {}

    class Stop(Exception):
        pass

    def fake_vec_env(env_id, n, seed=None, **kw):
        seen.update(kw)
        raise Stop

    monkeypatch.setattr(tr, "make_sb3_vec_env", fake_vec_env)
    with pytest.raises(Stop):
        tr.train(
            tr.Args(
                env="DreamWorldMap-v0",
                task="far",
                dream_remember_goal=remember_goal,
                out=str(tmp_path / "run"),
                progress=False,
            ),
            simulator=lambda: noise_with_memory(WorldCore()),
        )
    assert seen["remember_goal"] is remember_goal and seen["model"] is not None
