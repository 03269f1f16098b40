"""Training a world model from recorded episodes alone (--episodes): the map image is never opened, the place field
learns where the episodes went, and the exported model knows the recorded map."""

import json
import shutil

import numpy as np
import pytest
from helpers import ADV, stripe_map, tiny_train_args

from agents.episodes import record
from agents.evaluation import random_policy
from world_models.episodes import covered_cells, load_transitions
from world_models.io.checkpoint import load_checkpoint
from world_models.io.export import export
from world_models.training import recipe
from world_models.training.trainer import PlaceArgs, main, train
from worldgen_core.world import WorldCore


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A dataset of 4 random episodes on a 400x320 map (more cells than they visit), recorded on a copy of the map
    that is deleted afterwards: (dataset, the map's original, its fingerprint)."""
    d = tmp_path_factory.mktemp("episodes")
    original = stripe_map(d / "map.png", (40, 120, 200), size=(400, 320))
    copy = shutil.copy(original, d / "copy.png")
    out = d / "near-random-v0"
    record(random_policy(3), out, 4, str(copy), "near", seed=3, about={"policy": "random"})
    (d / "copy.png").unlink()
    return out, original, WorldCore(original).fingerprint


def _no_map(mp: pytest.MonkeyPatch) -> None:
    """Opening any map (an image, the default map) fails."""

    def refuse(*a, **k):
        raise AssertionError("the map was opened")

    mp.setattr("PIL.Image.open", refuse)
    mp.setattr("worldgen_core.world.WorldCore.__init__", refuse)


@pytest.fixture(scope="module")
def trained(recorded, tmp_path_factory):
    """A tiny place-field run from the dataset (with the adversary, and the evaluation on held-out episodes) while
    no map can be opened."""
    tmp = tmp_path_factory.mktemp("run")
    a = tiny_train_args(tmp, episodes=str(recorded[0]), place=PlaceArgs(field=True, dim=8), adv=ADV, eval_every=2)
    with pytest.MonkeyPatch.context() as mp:
        _no_map(mp)
        return train(a), a


def test_training_from_episodes_never_opens_the_map(trained, recorded):
    path, a = trained
    ck = load_checkpoint(path)
    assert ck["step"] == 4 and ck["train_args"]["episodes"] == str(recorded[0])
    assert ck["place_map"] == recorded[2] and ck["maps"] == [recorded[2]]  # the map the episodes were recorded on
    assert (ck["config"]["place_rows"], ck["config"]["place_cols"]) == WorldCore(recorded[1]).place_grid
    assert ck["episodes"]["dataset_id"] == "near-random-v0"
    assert (path.parent / "tb").is_dir() and ck.get("adversary")  # the evaluation and the adversary ran


def test_the_place_field_learns_only_the_cells_the_episodes_showed(trained, recorded):
    field = load_checkpoint(trained[0])["model"]["place_field"].numpy()
    covered = covered_cells(load_transitions(recorded[0]), WorldCore(recorded[1]))
    learnt = np.abs(field).sum(-1) > 0
    assert (~covered).any() and learnt.any()
    assert not (learnt & ~covered).any(), "cells no episode showed were learnt"


def test_the_exported_model_knows_the_recorded_map(trained, recorded, tmp_path):
    import gymnasium as gym

    import worldgen_env  # noqa: F401

    final = export(trained[0], tmp_path / "world_model.pt", steps=1, cfg_scale=1.0)
    env = gym.make("DreamWorldMap-v0", checkpoint=str(final), map_path=recorded[1])
    assert env.unwrapped.dreamer.place  # it dreams the recorded map with its field
    env.reset(seed=0)
    env.step(0)
    with pytest.warns(UserWarning, match="another map"):
        assert not gym.make("DreamWorldMap-v0", checkpoint=str(final)).unwrapped.dreamer.place


@pytest.mark.parametrize(
    "flags, says",
    [
        (["--rollout.batch", "4", "--adv.weight", "1"], "--rollout.batch 4 dreams on the map"),
        (["--map", "data/world_map.png"], "drop --map"),
    ],
)
def test_episodes_refuse_the_map_and_the_dreams(recorded, tmp_path, capsys, flags, says):
    with pytest.raises(SystemExit) as e:
        main(["--episodes", str(recorded[0]), "--preset", "tiny", "--steps", "2", "--out", str(tmp_path / "r"), *flags])
    msg = str(e.value)
    assert msg.startswith("error: ") and says in msg and "\n" not in msg
    assert not (tmp_path / "r").exists()


def test_a_dataset_without_the_maps_size_is_refused(recorded, tmp_path):
    ds = tmp_path / "old-v0"
    shutil.copytree(recorded[0], ds)
    meta = ds / "data" / "metadata.json"
    m = json.loads(meta.read_text())
    del m["worldgen"]["map_size"]
    meta.write_text(json.dumps(m))
    with pytest.raises(ValueError, match="does not record its map's map_size"):
        train(tiny_train_args(tmp_path, episodes=str(ds)))


def test_a_resumed_episodes_run_continues_and_refuses_another_dataset(recorded, tmp_path):
    ds = tmp_path / "near-random-v0"
    shutil.copytree(recorded[0], ds)
    a = tiny_train_args(tmp_path, episodes=str(ds), steps=2)
    train(a)
    train(tiny_train_args(tmp_path, episodes=str(ds), steps=4, resume=True))
    assert load_checkpoint(tmp_path / "run" / "last.pt")["step"] == 4
    other = tmp_path / "other-v0"
    record(random_policy(5), other, 3, recorded[1], "near", seed=5, about={"policy": "random"})
    shutil.copy(other / "data" / "main_data.hdf5", ds / "data" / "main_data.hdf5")  # same path, other episodes
    with pytest.raises(SystemExit, match="is not the one the run in .* was trained on"):
        train(tiny_train_args(tmp_path, episodes=str(ds), steps=6, resume=True))
    with pytest.raises(SystemExit, match="--episodes"):  # another dataset's path: the settings differ
        train(tiny_train_args(tmp_path, episodes=str(other), steps=6, resume=True))
    with pytest.raises(SystemExit, match="from --episodes 'near-random-v0'"):  # on a map instead
        train(tiny_train_args(tmp_path, steps=6, resume=True))


def test_the_recipe_trains_from_episodes_and_exports_a_model_that_knows_the_map(recorded, tmp_path):
    a = recipe.Args(
        episodes=str(recorded[0]),
        place_dim=8,
        time_budget=3,
        preset="tiny",
        pretrained=None,
        batch_size=4,
        out=str(tmp_path / "run"),
        eval_every=0,
        progress=False,
        device="cpu",
    )
    with pytest.MonkeyPatch.context() as mp:
        _no_map(mp)
        final = recipe.run(a)
        assert recipe.run(recipe.Args(**{**a.__dict__, "resume": True})) == final  # finished: checked, kept
    adv = load_checkpoint(tmp_path / "run" / "adversarial" / "last.pt")["train_args"]
    assert adv["episodes"] == str(recorded[0]) and adv["rollout_batch"] == 0 and adv["adv_weight"] > 0
    from world_models.inference import load_world_model

    assert load_world_model(final).knows(WorldCore(recorded[1]))
    with pytest.raises(SystemExit, match="drop --map"):
        recipe.run(recipe.Args(**{**a.__dict__, "map": recorded[1], "out": str(tmp_path / "r2")}))


def test_the_episode_sampler_draws_the_map_samplers_batches(recorded):
    from world_models.data import EpisodeSampler, TransitionSampler

    data = load_transitions(recorded[0])
    core = WorldCore(recorded[1])
    mine, theirs = EpisodeSampler(data, 8, seed=1).sample(16), TransitionSampler(core, seed=1).sample(16)
    assert {k: (v.dtype, v.shape) for k, v in mine.items()} == {k: (v.dtype, v.shape) for k, v in theirs.items()}
    assert (mine["view"] == core.views(mine["pos"])).all() and (mine["next"] == core.views(mine["next_pos"])).all()
    assert (mine["pos"] != mine["next_pos"]).any(1).all()  # only moves that happened


@pytest.fixture(scope="module")
def second(recorded, tmp_path_factory):
    """A second dataset of the recorded map (other episodes)."""
    out = tmp_path_factory.mktemp("episodes2") / "near-random-v1"
    record(random_policy(5), out, 3, recorded[1], "near", seed=5, about={"policy": "random"})
    return out


def test_training_from_two_datasets_of_one_map_draws_from_both(recorded, second, tmp_path, monkeypatch):
    from world_models.data import EpisodeSampler

    samplers = []

    class Spy(EpisodeSampler):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            samplers.append(self)

    monkeypatch.setattr("world_models.training.trainer.EpisodeSampler", Spy)
    paths = [str(recorded[0]), str(second)]
    with pytest.MonkeyPatch.context() as mp:
        _no_map(mp)
        flags = "--preset tiny --steps 2 --batch-size 4 --eval-every 0 --no-progress --no-bf16".split()
        ck = load_checkpoint(main(["--episodes", *paths, *flags, "--out", str(tmp_path / "r")]))
    assert ck["step"] == 2 and ck["train_args"]["episodes"] == paths and ck["maps"] == [recorded[2]]
    assert [e["dataset_id"] for e in ck["episodes"]] == ["near-random-v0", "near-random-v1"]
    n = len(load_transitions(recorded[0]))
    training = samplers[0]  # the first is the training sampler (then the held-out evaluation's)
    assert len(training.data) == n + len(load_transitions(second))
    assert (training.index < n).any() and (training.index >= n).any()  # it draws from both datasets
    assert json.loads((tmp_path / "r" / "args.json").read_text())["episodes"] == paths


def test_datasets_of_two_maps_are_refused(recorded, tmp_path, capsys):
    other = tmp_path / "other-v0"
    record(random_policy(6), other, 2, stripe_map(tmp_path / "b.png", (200, 60, 10)), "near", seed=6)
    with pytest.raises(SystemExit) as e:
        main(
            ["--episodes", str(recorded[0]), str(other), *"--preset tiny --steps 2 --out".split(), str(tmp_path / "r")]
        )
    err = capsys.readouterr().err.strip()
    assert e.value.code == 2 and "\n" not in err
    assert err.startswith(f"error: datasets {str(recorded[0])!r} and {str(other)!r} are of different maps")
    assert not (tmp_path / "r").exists()


def test_a_resumed_run_from_two_datasets_refuses_one_that_changed(recorded, second, tmp_path):
    a, b = tmp_path / "near-random-v0", tmp_path / "near-random-v1"
    shutil.copytree(recorded[0], a)
    shutil.copytree(second, b)
    train(tiny_train_args(tmp_path, episodes=(str(a), str(b)), steps=2))
    train(tiny_train_args(tmp_path, episodes=(str(a), str(b)), steps=4, resume=True))
    assert load_checkpoint(tmp_path / "run" / "last.pt")["step"] == 4
    shutil.copy(recorded[0] / "data" / "main_data.hdf5", b / "data" / "main_data.hdf5")  # same path, other episodes
    with pytest.raises(SystemExit, match=f"the dataset {str(b)!r} is not the one the run in .* was trained on"):
        train(tiny_train_args(tmp_path, episodes=(str(a), str(b)), steps=6, resume=True))
    with pytest.raises(SystemExit, match="--episodes"):  # one of the two only: the settings differ
        train(tiny_train_args(tmp_path, episodes=str(a), steps=6, resume=True))
    with pytest.raises(SystemExit, match="from --episodes 'near-random-v0' 'near-random-v1'"):  # on a map instead
        train(tiny_train_args(tmp_path, steps=6, resume=True))
