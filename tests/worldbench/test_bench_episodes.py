"""``python -m worldbench --episodes DATASET``: the new-strip PSNR on the places an episode dataset showed and on
those it never showed."""

import json
from dataclasses import replace

import numpy as np
import pytest
from helpers import stripe_map

from agents.episodes import main as record
from world_models.episodes import covered_cells, load_transitions
from worldbench import runners
from worldbench.__main__ import main
from worldbench.bench import QUICK, evaluate_entry, seen_split
from worldbench.models import parse_spec
from worldgen_core.dynamics import move, revealed_masks
from worldgen_core.metrics import masked_psnr
from worldgen_core.world import WorldCore


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """A 256x256 map (a 25x25 grid: the quick config's walks fit) and 4 random episodes on it (about 40% covered)."""
    root = tmp_path_factory.mktemp("episodes")
    m = stripe_map(root / "stripes.png", (40, 120, 200), size=(256, 256))
    record(["--out", str(root / "near-random-v0"), "--map", m, "--episodes", "4", "--seed", "1"])
    return m, root / "near-random-v0"


def _brute_force(core: WorldCore, start: np.ndarray, action: int, covered: np.ndarray) -> str:
    """seen / unseen / mixed from the pixels: the map cell of every pixel of the next view's revealed strip."""
    s = core.task.stride
    top_left = move(start[None], np.array([action]), core.grid)[0] * s
    ys, xs = np.nonzero(revealed_masks(core.task.view_size, s)[action])
    shown = covered[(top_left[0] + ys) // s, (top_left[1] + xs) // s]
    return "seen" if shown.all() else "unseen" if not shown.any() else "mixed"


def test_episodes_split_the_new_strip_between_seen_and_unseen_cells(tmp_path, dataset):
    m, ds = dataset
    out = tmp_path / "bench"
    results = main(["copy", "shift", "--quick", "--map", m, "--episodes", str(ds), "--out", str(out)])
    core = WorldCore(m)
    covered = covered_cells(load_transitions(ds, core), core)
    starts, acts = runners.transitions(core, QUICK.n_transitions, QUICK.seed)
    seen, unseen = seen_split(core, starts, acts[:, 0], covered)
    # the classification, against the pixels of each transition's revealed strip
    kinds = [_brute_force(core, starts[i], int(acts[i, 0]), covered) for i in range(len(starts))]
    assert [k == "seen" for k in kinds] == seen.tolist() and [k == "unseen" for k in kinds] == unseen.tolist()
    assert seen.any() and unseen.any()  # the dataset covers some of the map, not all of it
    true, fake = runners.run_episodes(parse_spec("shift", core).make, core, starts, acts, QUICK.seed)
    for name, r in results.items():
        assert r["n_new_seen"] == seen.sum() and r["n_new_unseen"] == unseen.sum()
        assert r["n_new_seen"] + r["n_new_unseen"] <= QUICK.n_transitions
        assert "c2st_new_seen_accuracy" not in r and "c2st_new_unseen_accuracy" not in r  # < 100 bands a side
    for side, mask in (("seen", seen), ("unseen", unseen)):
        a = acts[mask, 0]
        assert results["shift"][f"psnr_new_{side}"] == masked_psnr(fake[mask, 1], true[mask, 1], a, True, 8)
    data = json.loads((out / "leaderboard.json").read_text())
    e = data["meta"]["episodes"]
    assert e["coverage"] == covered.mean() and 0 < e["coverage"] < 1 and e["path"] == str(ds)
    assert (e["n_new_seen"], e["n_new_unseen"]) == (seen.sum(), unseen.sum()) and not e["c2st_split"]
    md = (out / "leaderboard.md").read_text()
    assert "new strip dB, seen" in md and "new strip dB, unseen" in md
    assert f"Episodes `{ds}`" in md and f"cover {100 * covered.mean():.1f}% of the map's cells" in md
    assert "No C2ST seen / unseen: a side has fewer than 100 revealed bands" in md


def test_a_dataset_of_another_map_is_one_error_line(tmp_path, dataset, capsys):
    m, _ = dataset
    other = stripe_map(tmp_path / "other.png", (200, 40, 40), size=(256, 256))
    record(["--out", str(tmp_path / "other-v0"), "--map", other, "--episodes", "1"])
    capsys.readouterr()
    with pytest.raises(SystemExit) as e:
        main(["copy", "--quick", "--map", m, "--episodes", str(tmp_path / "other-v0"), "--out", str(tmp_path / "b")])
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2 and len(err) == 1 and err[0].startswith("error:") and "another map" in err[0]
    assert not (tmp_path / "b" / "leaderboard.json").exists()


def test_c2st_is_split_once_each_side_has_enough_bands(dataset):
    m, _ = dataset
    core = WorldCore(m)
    covered = np.zeros(core.place_grid, bool)
    covered[:, : core.place_grid[1] // 2] = True  # the left half of the map was shown
    config = replace(QUICK, n_transitions=400, c2st_steps=10, c2st_repeats=1)
    r, _, _ = evaluate_entry(parse_spec("shift", core), core, config, covered)
    assert r["n_new_seen"] >= 100 and r["n_new_unseen"] >= 100
    for side in ("seen", "unseen"):
        assert 0 <= r[f"c2st_new_{side}_accuracy"] <= 1 and r[f"c2st_new_{side}_critics"] == 1
