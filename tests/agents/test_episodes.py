"""Recording episodes to Minari datasets (agents.episodes): round trip, seeds, refusals, PPO policies."""

import gymnasium as gym
import numpy as np
import pytest
from helpers import stripe_map

from agents.episodes import episode_seeds, main
from agents.evaluation import random_policy
from world_models.episodes import load_transitions, read_episodes, read_metadata
from worldgen_core.world import WorldCore


@pytest.fixture(scope="module")
def small_map(tmp_path_factory):
    return stripe_map(tmp_path_factory.mktemp("map") / "stripes.png", (40, 120, 200))


def _record(out, small_map, *extra, episodes=3, seed=5):
    return main(["--out", str(out), "--map", small_map, "--episodes", str(episodes), "--seed", str(seed), *extra])


def _same_episodes(a, b) -> None:
    """Every array of every episode of two ``read_episodes`` lists is equal."""
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x["seed"] == y["seed"] and x["id"] == y["id"]
        for k in ("actions", "rewards", "terminations", "truncations"):
            np.testing.assert_array_equal(x[k], y[k])
        for group in ("observations", "infos"):
            assert x[group].keys() == y[group].keys()
            for k in x[group]:
                np.testing.assert_array_equal(x[group][k], y[group][k])


def test_a_recorded_dataset_is_what_the_env_produced_step_by_step(tmp_path, small_map, capsys, monkeypatch):
    out = tmp_path / "near-random-v0"
    meta = _record(out, small_map)
    assert f"3 episodes ({meta['steps']} steps) of random in WorldMap-v0" in capsys.readouterr().out
    episodes = list(read_episodes(out))
    # the same seeds and the same seeded random policy, replayed in the env
    env, policy = gym.make("WorldMap-v0", map_path=small_map), random_policy(5)
    replay = []
    for i, s in enumerate(episode_seeds(5, 3)):
        obs, info = env.reset(seed=s)
        steps = [(obs, info)]
        acts, rews, terms, truncs = [], [], [], []
        done = False
        while not done:
            a = int(policy({k: v[None] for k, v in obs.items()})[0])
            obs, r, te, tr, info = env.step(a)
            steps.append((obs, info))
            acts.append(a), rews.append(r), terms.append(te), truncs.append(tr)
            done = te or tr
        replay.append(
            {
                "id": i,
                "seed": s,
                "actions": acts,
                "rewards": rews,
                "terminations": terms,
                "truncations": truncs,
                "observations": {k: np.stack([o[k] for o, _ in steps]) for k in ("image", "goal")},
                "infos": {k: np.stack([np.asarray(f[k]) for _, f in steps]) for k in steps[0][1]},
            }
        )
    assert sorted(episodes[0]["infos"]) == ["agent_pos", "distance", "goal_pos", "is_success"]
    _same_episodes(episodes, replay)
    # the transitions are the consecutive pairs of those steps
    t = load_transitions(out, WorldCore(small_map))
    imgs, pos = [r["observations"]["image"] for r in replay], [r["infos"]["agent_pos"] for r in replay]
    for got, want in (
        (t.views, [x[:-1] for x in imgs]),
        (t.next_views, [x[1:] for x in imgs]),
        (t.positions, [p[:-1] for p in pos]),
        (t.next_positions, [p[1:] for p in pos]),
    ):
        np.testing.assert_array_equal(got, np.concatenate(want))
    np.testing.assert_array_equal(t.actions, np.concatenate([r["actions"] for r in replay]))
    np.testing.assert_array_equal(t.episodes, np.concatenate([np.full(len(r["actions"]), r["id"]) for r in replay]))
    assert t.views.dtype == np.uint8 and t.views.shape[1:] == (64, 64, 3) and len(t) == meta["steps"]
    # the metadata names the map, the task, the policy and the seed
    w = read_metadata(out)["worldgen"]
    assert (w["map_fingerprint"], w["map_path"], w["task"], w["policy"], w["seed"], w["episodes"]) == (
        WorldCore(small_map).fingerprint,
        small_map,
        "near",
        "random",
        5,
        3,
    )
    # and it is a Minari dataset that Minari itself reads, and recovers the env of
    import minari

    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path))
    ds = minari.load_dataset("near-random-v0")
    assert ds.total_episodes == 3 and ds.recover_environment().spec.kwargs["map_path"] == small_map
    first = next(iter(ds.iterate_episodes()))
    np.testing.assert_array_equal(first.observations["image"], replay[0]["observations"]["image"])


def test_the_same_seed_gives_the_same_dataset(tmp_path, small_map):
    for name in ("a", "b", "c"):
        _record(tmp_path / name / "far-random-v0", small_map, "--task", "far", episodes=2, seed=3 if name != "c" else 4)
    a, b, c = (list(read_episodes(tmp_path / n / "far-random-v0")) for n in "abc")
    _same_episodes(a, b)
    assert read_metadata(tmp_path / "a" / "far-random-v0") == read_metadata(tmp_path / "b" / "far-random-v0")
    assert not np.array_equal(a[0]["infos"]["agent_pos"], c[0]["infos"]["agent_pos"])
    assert len(a[0]["actions"]) == 64 or a[0]["terminations"][-1]  # the far task's 64-step episodes


def test_an_existing_or_misnamed_out_is_refused(tmp_path, small_map, capsys):
    out = tmp_path / "near-random-v0"
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    with pytest.raises(SystemExit) as e:
        _record(out, small_map)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --out") and "exists; nothing was written" in err and err.count("\n") == 1
    assert [p.name for p in out.iterdir()] == ["mine.txt"]
    with pytest.raises(SystemExit):
        _record(tmp_path / "no_version", small_map)
    assert "NAME-vVERSION" in capsys.readouterr().err and not (tmp_path / "no_version").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["near-random-v0"]  # nothing left behind


def test_a_ppo_model_zip_is_recorded_with_its_sha256(tmp_path, small_map, capsys):
    from stable_baselines3 import PPO

    from worldgen_core.files import file_sha256

    model = PPO("MultiInputPolicy", gym.make("WorldMap-v0", map_path=small_map), n_steps=8, batch_size=8, seed=0)
    model.save(tmp_path / "model.zip")
    for name in ("a-v0", "b-v0"):
        _record(tmp_path / name, small_map, "--policy", str(tmp_path / "model.zip"), episodes=2)
    a, b = (list(read_episodes(tmp_path / n)) for n in ("a-v0", "b-v0"))
    _same_episodes(a, b)  # deterministic moves
    w = read_metadata(tmp_path / "a-v0")["worldgen"]
    assert w["policy"] == str(tmp_path / "model.zip") and w["policy_sha256"] == file_sha256(tmp_path / "model.zip")
    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    with pytest.raises(SystemExit):
        _record(tmp_path / "c-v0", small_map, "--policy", str(tmp_path / "junk.zip"))
    assert "is not an SB3 PPO model.zip" in capsys.readouterr().err and not (tmp_path / "c-v0").exists()
