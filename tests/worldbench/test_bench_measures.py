"""The benchmark's numbers on known answers, and the command end to end."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from worldbench import c2st, runners
from worldbench.bench import QUICK, evaluate_entry
from worldbench.models import parse_spec
from worldgen_core import dynamics as dyn
from worldgen_core.files import file_sha256
from worldgen_core.metrics import new_bands
from worldgen_core.world import WorldCore

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def core():
    return WorldCore()


def test_a_perfect_model_is_exact_everywhere(core):
    starts, acts = runners.transitions(core, 300, 0)  # more episodes than one batch: fresh simulators per batch
    true, fake = runners.run_episodes(parse_spec("oracle", core).make, core, starts, acts, batch=128)
    assert np.array_equal(true, fake)
    r, c, _ = evaluate_entry(parse_spec("oracle", core), core, QUICK)
    for k in (
        "psnr_known",
        "psnr_new",
        "rollout_psnr@1",
        "rollout_psnr@16",
        "loop_line_back_min",
        "loop_square_back_min",
        "loop_square_turn_min",
    ):
        assert r[k] == 100.0, k
    assert all(v == 100.0 for v in c["rollout_psnr"])
    assert c["streaks_chroma"] == c["streaks_luma"] == [1.0] * 16  # the map's own stripes


def test_copy_is_exact_back_at_the_start_of_a_loop_only(core):
    r, c, _ = evaluate_entry(parse_spec("copy", core), core, QUICK)
    assert c["loop_line_back"] == c["loop_square_back"] == [100.0] * len(QUICK.loop_ks)
    assert max(c["loop_line_turn"]) < 30 and r["psnr_known"] < 30 and r["rollout_psnr@16"] < 30


def test_shift_is_exact_on_the_known_region_and_forgets_loops(core):
    r, c, _ = evaluate_entry(parse_spec("shift", core), core, QUICK)
    assert r["psnr_known"] == 100.0 and r["psnr_new"] < 25 and r["sharpness_new"] < 0.7
    # its defect, calibrated: the edge stretched into every strip streaks along the motion, more with every move
    assert r["streaks_chroma@16"] > 3 and r["streaks_luma@16"] > 3
    assert c["streaks_chroma"][0] < c["streaks_chroma"][3] < c["streaks_chroma"][7]
    assert max(c["loop_line_back"]) < 40


def test_straight_walks_move_every_step_in_one_direction(core):
    starts, acts = runners.straight_walks(core, 8, 16, seed=0)
    assert sorted(set(acts[:, 0])) == [0, 1, 2, 3] and (acts == acts[:, :1]).all()
    pos = starts.copy()
    for t in range(16):
        new = dyn.move(pos, acts[:, t], core.grid)
        assert (new != pos).any(1).all()  # never blocked by the map's edge
        pos = new


def test_loops_return_to_their_start(core):
    for k in (1, 5, 16):
        for make in (runners.line_loops, runners.square_loops):
            starts, acts = make(core, 12, k, seed=k)
            pos = starts.copy()
            for t in range(acts.shape[1]):
                new = dyn.move(pos, acts[:, t], core.grid)
                assert (new != pos).any(1).all()  # no move is blocked: the loop is exact
                pos = new
            assert np.array_equal(pos, starts)


def _bands(core, n, seed):
    s, a = runners.transitions(core, n, seed)
    return new_bands(core.views(dyn.move(s, a[:, 0], core.grid)), a[:, 0])


def test_c2st_is_chance_on_real_data_and_catches_noise(core):
    a, b = _bands(core, 600, 0), _bands(core, 600, 1)
    same = c2st.c2st(a, b, seed=0)
    assert same["ci_low"] < 0.5 < same["ci_high"] and 0.4 < same["accuracy"] < 0.6
    noisy = c2st.corruptions(b)["noise (Gaussian, sigma 8 / 255)"]
    assert c2st.c2st(a, noisy, seed=0)["accuracy"] > 0.9
    assert c2st.c2st(a, a, seed=0)["accuracy"] == 0.5  # identical paired sets: nothing to learn


def test_quick_command_writes_the_leaderboard(tmp_path, tiny_world_model):
    out = tmp_path / "bench"
    r = subprocess.run(
        [sys.executable, "-m", "worldbench", "--quick", "--out", str(out), "copy", "shift", f"tiny={tiny_world_model}"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    for f in ("leaderboard.md", "leaderboard.json", "psnr_curves.png", "c2st.png", "strips.png", "loop.gif"):
        assert (out / f).stat().st_size > 0, f
    data = json.loads((out / "leaderboard.json").read_text())
    assert set(data["results"]) == {"copy", "shift", "tiny"} and data["results"]["tiny"]["mflop_per_frame"] > 0
    md = (out / "leaderboard.md").read_text()
    assert "| tiny |" in md

    # the report names the weights each row measured: its spec, its model (a card's name, else the file's) and sha256
    name = Path(tiny_world_model).name
    assert f"| tiny | `{tiny_world_model}` | {name} | `{file_sha256(tiny_world_model)[:16]}` |" in md
    assert "| shift | `shift` | - | - |" in md
    bad = subprocess.run(
        [sys.executable, "-m", "worldbench", "--quick", "--out", str(out), "banana"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert bad.returncode != 0 and bad.stderr.strip().startswith("error:") and "Traceback" not in bad.stderr


def test_agent_transfer_trains_in_each_simulator_and_reuses_runs(tmp_path, monkeypatch):
    from worldbench import transfer as tr

    core = WorldCore()
    config = tr.TransferConfig(tasks=("near",), steps={"near": 64}, eval_episodes=4, n_envs=2)
    made = []
    entry = parse_spec("copy", core)
    entry.make = lambda make=entry.make: made.append(1) or make()
    res = tr.transfer([entry], tmp_path, config)
    assert made == [1] and set(res) == {"real env", "copy"}
    r = res["copy"]
    ref = res["real env"]["transfer_near_success"]
    assert 0 <= r["transfer_near_success"] <= 1 and 0 <= ref <= 1
    assert np.isnan(r["transfer_near"]) if ref == 0 else r["transfer_near"] == r["transfer_near_success"] / ref
    assert (tmp_path / "near" / "copy_seed0" / "report.json").exists()
    import agents.training

    monkeypatch.setattr(agents.training, "train", lambda *a, **k: pytest.fail("a finished run was trained again"))
    again = tr.transfer([entry], tmp_path, config)
    assert again["copy"]["transfer_near_success"] == r["transfer_near_success"] and made == [
        1
    ]  # reused: its simulator is not even made
    monkeypatch.undo()
    from agents.training import Args, train

    with pytest.raises(ValueError, match="simulator= replaces"):
        train(Args(env="WorldMap-v0", out=str(tmp_path / "x")), simulator=entry.make)


def test_agent_transfer_in_worker_processes_matches_one_process(tmp_path):
    """--agent-jobs: the same runs, trained two at a time in spawned workers, give the same results."""
    from worldbench import transfer as tr

    config = tr.TransferConfig(tasks=("near",), steps={"near": 64}, eval_episodes=4, n_envs=2)
    entry = parse_spec("copy", WorldCore())
    one, two = tr.transfer([entry], tmp_path / "one", config), tr.transfer([entry], tmp_path / "two", config, jobs=2)
    assert json.dumps(one) == json.dumps(two)  # (nan ratios included)
    for run in ("real_seed0", "copy_seed0"):  # returns and lengths too, not only the success rates
        reps = [
            json.loads((tmp_path / w / "near" / run / "report.json").read_text())["ppo_real_eval"]
            for w in ("one", "two")
        ]
        assert reps[0] == reps[1]


def test_transfer_command_writes_its_table_and_learning_curves(tmp_path, monkeypatch):
    """``--eval-every``: each row holds, per seed, real-env success and training-episode success against steps,
    plotted."""
    import functools

    from worldbench import transfer as tr

    monkeypatch.setattr(tr, "TransferConfig", functools.partial(tr.TransferConfig, eval_episodes=4, n_envs=2))
    rows = tr.main(["m=copy", "--tasks", "near", "--steps", "64", "64", "--eval-every", "64", "--out", str(tmp_path)])
    for name in ("real env", "m"):
        (curve,), (train_success,) = rows[name]["transfer_near_curves"], rows[name]["transfer_near_train_success"]
        assert curve[0][0] == 0 and len(curve) >= 2 and curve[-1][1] == rows[name]["transfer_near_success"]
        assert train_success and all(0 <= v <= 1 for _, v in train_success)
    assert json.dumps(json.loads((tmp_path / "transfer.json").read_text())["rows"]) == json.dumps(
        rows
    )  # (nan ratios included)
    md = (tmp_path / "transfer.md").read_text()
    assert "| m |" in md and "![curves_near](curves_near.png)" in md
    assert (tmp_path / "curves_near.png").stat().st_size > 1000 and (tmp_path / "train_success_near.png").exists()


def test_drawn_task_is_the_far_task_without_the_goal_view_and_shares_its_real_runs(tmp_path, monkeypatch):
    """``drawn``: the dream is not given the goal view (remember_goal=False); ``far`` keeps the
    dream's default; both are scored against one real-env far run per seed, trained once."""
    from worldbench import transfer as tr

    trained = []

    def fake_train(args, simulator=None, simulator_id=None):
        trained.append(args)
        ok = {"WorldMap-v0": 0.5, "DreamWorldMap-v0": 0.4 if args.dream_remember_goal is None else 0.1}[args.env]
        return {
            "ppo_real_eval": {"success_rate": ok},
            "random_real_eval": {"success_rate": 0.0},
            "timesteps": args.timesteps,
        }

    import agents.training

    monkeypatch.setattr(agents.training, "train", fake_train)
    entry = parse_spec("worldbench.models:shift_with_memory", WorldCore())
    res = tr.transfer([entry], tmp_path, tr.TransferConfig(tasks=("far", "drawn"), seeds=(0, 1)))
    real = [a for a in trained if a.env == "WorldMap-v0"]
    assert sorted(a.seed for a in real) == [0, 1] and all(a.task == "far" and "/far/real_seed" in a.out for a in real)
    dreams = {(Path(a.out).parent.name, a.seed): a for a in trained if a.env == "DreamWorldMap-v0"}
    assert set(dreams) == {("far", 0), ("far", 1), ("drawn", 0), ("drawn", 1)}
    assert all(a.task == "far" and a.extractor == "place" and a.timesteps == 100_000 for a in dreams.values())
    assert dreams["far", 0].dream_remember_goal is None and dreams["drawn", 0].dream_remember_goal is False
    row = res["worldbench.models:shift_with_memory"]
    assert row["transfer_far"] == pytest.approx(0.8) and row["transfer_drawn"] == pytest.approx(0.2)
    assert res["real env"]["transfer_drawn_success"] == res["real env"]["transfer_far_success"] == 0.5
    with pytest.raises(ValueError, match="unknown agent-transfer tasks"):
        tr.transfer([entry], tmp_path, tr.TransferConfig(tasks=("farther",)))


def test_c2st_median_is_the_median_critic_with_its_spread():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (64, 16, 32, 3), dtype=np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-24, 25, a.shape), 0, 255).astype(np.uint8)
    runs = [c2st.c2st(a, b, seed=s, steps=40)["accuracy"] for s in range(3)]
    m = c2st.c2st_median(a, b, seed=0, steps=40, repeats=3)
    assert m["accuracies"] == sorted(runs) and m["accuracy"] == float(np.median(runs))
    assert m["min"] == min(runs) and m["max"] == max(runs) and m["critics"] == 3
    assert m["ci_low"] <= m["accuracy"] <= m["ci_high"]
    with pytest.raises(ValueError, match="repeats"):
        c2st.c2st_median(a, b, repeats=0)


def test_explain_puts_each_known_defect_in_its_own_view(core):
    """Brightness grain shows as brightness and not as colour noise; colour noise that keeps the
    brightness shows as colour noise and not as brightness; neither moves the layout."""
    a, b = _bands(core, 600, 0), _bands(core, 600, 1)
    rng = np.random.default_rng(0)
    x = b.astype(np.float64)
    grain = x * (1 + rng.normal(0, 0.1, x.shape[:3] + (1,)))  # every channel scaled alike
    n = rng.normal(0, 4, x.shape)
    colour = x + n - n.mean(-1, keepdims=True)  # per-channel noise, the brightness kept
    acc = {
        name: {
            v: r["accuracy"]
            for v, r in c2st.explain(
                a, np.clip(f, 0, 255).round().astype(np.uint8), seed=0, steps=200, repeats=1
            ).items()
        }
        for name, f in (("grain", grain), ("colour", colour))
    }
    assert acc["grain"]["luma"] > 0.8 and acc["grain"]["chroma"] < 0.62, acc
    assert acc["colour"]["chroma"] > 0.8 and acc["colour"]["luma"] < 0.62, acc
    assert acc["grain"]["layout"] < 0.62 and acc["colour"]["layout"] < 0.62, acc


def test_a_checkpoint_row_is_named_by_its_card():
    entry = parse_spec("v5=data/world_model.pt", WorldCore())
    assert entry.model == "worlddit-worldmap v5" and entry.digest == file_sha256(ROOT / "data" / "world_model.pt")
