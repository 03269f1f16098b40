"""The episode loader (world_models.episodes): Minari's own datasets, the map check, covered cells, no Gymnasium."""

import json
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
from helpers import ROOT, stripe_map

from agents.episodes import record, run_episode
from agents.evaluation import random_policy
from world_models.episodes import ARRAYS, covered_cells, load_transitions, read_episodes, recorded_map
from worldgen_core.world import WorldCore


@pytest.fixture(scope="module")
def maps(tmp_path_factory):
    d = tmp_path_factory.mktemp("maps")
    return stripe_map(d / "a.png", (40, 120, 200)), stripe_map(d / "b.png", (200, 60, 10))


@pytest.fixture(scope="module")
def recorded(tmp_path_factory, maps):
    out = tmp_path_factory.mktemp("data") / "near-random-v0"
    record(random_policy(1), out, 4, maps[0], "near", seed=1, about={"policy": "random"})
    return out


def _minari_dataset(root, name, small_map, jpeg: bool):
    """A dataset written by Minari's own ``create_dataset_from_buffers``, with none of the worldgen metadata."""
    import minari

    env = gym.make("WorldMap-v0", map_path=small_map)
    buffers = [run_episode(env, random_policy(s), s) for s in (11, 12)]
    mp = pytest.MonkeyPatch()
    mp.setenv("MINARI_DATASETS_PATH", str(root))
    try:
        with pytest.warns(UserWarning):  # Minari's advice to name an author etc.
            minari.create_dataset_from_buffers(name, buffers, env, jpeg_encoding=jpeg)
        return minari.load_dataset(name)
    finally:
        mp.undo()


@pytest.mark.parametrize("jpeg", [False, True])
def test_reads_a_dataset_written_by_minari_without_importing_gymnasium(tmp_path, maps, jpeg):
    ds = _minari_dataset(tmp_path, "plain-v0", maps[0], jpeg)
    code = (
        "import sys, numpy as np; from world_models.episodes import load_transitions; "
        f"t = load_transitions({str(tmp_path / 'plain-v0')!r}); "
        f"np.savez({str(tmp_path / 't.npz')!r}, views=t.views, next_views=t.next_views, positions=t.positions, "
        "actions=t.actions, episodes=t.episodes); "
        "print(','.join(m for m in ('gymnasium', 'minari', 'worldgen_env', 'agents') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "", f"the loader imported {out.stdout.strip()}"
    t = np.load(tmp_path / "t.npz")
    eps = list(ds.iterate_episodes())  # Minari's reader (JPEG decoded by Minari) is the reference
    for key, want in (
        ("views", [e.observations["image"][:-1] for e in eps]),
        ("next_views", [e.observations["image"][1:] for e in eps]),
        ("positions", [e.infos["agent_pos"][:-1] for e in eps]),
        ("actions", [e.actions for e in eps]),
        ("episodes", [np.full(len(e.actions), e.id) for e in eps]),
    ):
        np.testing.assert_array_equal(t[key], np.concatenate(want), err_msg=key)
    assert [e["seed"] for e in read_episodes(tmp_path / "plain-v0")] == [11, 12]


def test_a_dataset_of_another_map_is_refused(tmp_path, maps, recorded):
    a, b = WorldCore(maps[0]), WorldCore(maps[1])
    assert load_transitions(recorded, a).map_fingerprint == a.fingerprint
    with pytest.raises(ValueError, match=f"recorded on another map .fingerprint {a.fingerprint}.*{b.fingerprint}"):
        load_transitions(recorded, b)
    with pytest.raises(ValueError, match="another map"):
        covered_cells(load_transitions(recorded), b)
    _minari_dataset(tmp_path, "plain-v0", maps[0], False)
    assert load_transitions(tmp_path / "plain-v0").map_fingerprint is None  # read, but it names no map
    with pytest.raises(ValueError, match="does not say which map it shows"):
        load_transitions(tmp_path / "plain-v0", a)


def test_covered_cells_are_the_cells_under_every_view_seen(recorded, maps):
    core = WorldCore(maps[0])
    t = load_transitions(recorded, core)
    grid = covered_cells(t, core)
    assert grid.shape == core.place_grid and grid.dtype == bool
    # by brute force: a cell is covered iff some position's 8x8-cell view holds it
    cells = np.concatenate([t.positions, t.next_positions]) // 8
    r, c = np.indices(core.place_grid)
    inside = (
        (cells[:, 0, None, None] <= r)
        & (r < cells[:, 0, None, None] + 8)
        & (cells[:, 1, None, None] <= c)
        & (c < cells[:, 1, None, None] + 8)
    )
    np.testing.assert_array_equal(grid, inside.any(0))
    assert 0 < grid.sum() < grid.size
    # one transition: exactly its two views
    one = t.rows(slice(0, 1))
    moved = 1 if (t.positions[0] != t.next_positions[0]).any() else 0
    assert covered_cells(one, core).sum() == 8 * (8 + moved)


def test_a_folder_that_is_no_dataset_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_transitions(tmp_path / "missing")
    (tmp_path / "x" / "data").mkdir(parents=True)
    with pytest.raises(ValueError, match="is not a Minari dataset"):
        load_transitions(tmp_path / "x")
    (tmp_path / "x" / "data" / "metadata.json").write_text(json.dumps({"data_format": "arrow"}))
    (tmp_path / "x" / "data" / "main_data.hdf5").write_bytes(b"")
    with pytest.raises(ValueError, match="'arrow' format"):
        load_transitions(tmp_path / "x")


@pytest.fixture(scope="module")
def second(tmp_path_factory, maps):
    """A second dataset of the first map (other episodes)."""
    out = tmp_path_factory.mktemp("data2") / "near-random-v1"
    record(random_policy(2), out, 3, maps[0], "near", seed=2, about={"policy": "random"})
    return out


def test_several_datasets_of_one_map_are_joined_in_order(recorded, second, maps):
    one, two = load_transitions(recorded), load_transitions(second)
    both = load_transitions([recorded, second], WorldCore(maps[0]))
    assert len(both) == len(one) + len(two)
    for k in ARRAYS:
        if k != "episodes":
            np.testing.assert_array_equal(getattr(both, k), np.concatenate([getattr(one, k), getattr(two, k)]), k)
    ids = both.episodes
    np.testing.assert_array_equal(ids[: len(one)], one.episodes)  # the first dataset's ids are kept
    assert ids[len(one)] == one.episodes.max() + 1 and np.all(np.diff(ids) >= 0)  # the next follow, in order
    assert len(np.unique(ids)) == len(np.unique(one.episodes)) + len(np.unique(two.episodes))
    assert both.metadata == {**one.metadata, "datasets": ["near-random-v0", "near-random-v1"]}
    joined, first = recorded_map([recorded, second]), recorded_map(recorded)
    assert (joined.fingerprint, joined.task, tuple(joined.grid)) == (first.fingerprint, first.task, tuple(first.grid))
    alone = load_transitions([recorded])  # one dataset in a list: as given alone
    assert alone.metadata == one.metadata and all((getattr(alone, k) == getattr(one, k)).all() for k in ARRAYS)


def test_datasets_of_different_maps_are_refused_naming_both(tmp_path, maps, recorded):
    other = tmp_path / "b-random-v0"
    record(random_policy(3), other, 2, maps[1], "near", seed=3, about={"policy": "random"})
    says = f"datasets {str(recorded)!r} and {str(other)!r} are of different maps .map_fingerprint"
    for load in (load_transitions, recorded_map):
        with pytest.raises(ValueError, match=says):
            load([recorded, other])
    _minari_dataset(tmp_path, "plain-v0", maps[0], False)
    with pytest.raises(ValueError, match="plain-v0' does not say which map it shows"):
        load_transitions([recorded, tmp_path / "plain-v0"])
