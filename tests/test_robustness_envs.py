"""The envs, the dream, the benchmark and the agent tools, case by case: nothing attributed to the
wrong model or map, every bad input one clear error.

``docs/ROBUSTNESS.md`` lists the cases with what happened before and after; each row
names the tests here that keep it true.
"""

import copy
import dataclasses
import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
from PIL import Image

import worldgen_env  # noqa: F401  (registers the envs)
from agents.training import Args as AArgs
from agents.training import reusable, run_identity
from agents.training import train as atrain
from worldgen_core.simulator import PredictorSimulator
from worldgen_core.world import WorldCore
from worldgen_env.dream import DreamWorldMapEnv
from worldgen_env.envs import WorldMapEnv

ROOT = Path(__file__).resolve().parent.parent


def _aargs(out, **kw):
    base = dict(
        env="WorldMap-v0",
        out=str(out),
        timesteps=64,
        n_envs=2,
        n_steps=16,
        batch_size=16,
        n_epochs=1,
        eval_every=0,
        eval_episodes=4,
        ckpt_every=32,
        progress=False,
        seed=0,
    )
    return AArgs(**{**base, **kw})


def _other_map(tmp_path) -> str:
    path = tmp_path / "other_map.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (200, 240, 3), dtype=np.uint8)).save(path)
    return str(path)


def _one_error(capsys, main, argv) -> str:
    """Run a command line in this process: it must end with exit status 2 and one ``error:`` line."""
    with pytest.raises(SystemExit) as ex:
        main(argv)
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert ex.value.code == 2 and len(lines) == 1 and "Traceback" not in err, err[-2000:]
    return lines[0]


class FloatSim:
    """A simulator that returns float views in [0, 1] (or any dtype given)."""

    def __init__(self, dtype=np.float32, scale=1 / 255):
        self.dtype, self.scale = dtype, scale

    def reset(self, idx, first_views, positions):
        self.v = (first_views * self.scale).astype(self.dtype)

    def step(self, actions, moved):
        return self.v


class WritesFirstViews:
    """A simulator that scribbles on the first views it is given (its own state, it thinks)."""

    def reset(self, idx, first_views, positions):
        first_views[:] = 0
        self.v = first_views

    def step(self, actions, moved):
        return self.v.copy()


# ---- 4. agent transfer reuses only runs of the same model, map and task ------------------------
def test_transfer_refuses_runs_of_another_model_or_map(tmp_path):
    from worldbench import transfer as tr
    from worldbench.models import parse_spec

    core = WorldCore()
    config = tr.TransferConfig(tasks=("near",), steps={"near": 64}, eval_episodes=4, n_envs=2)
    first = tr.transfer([parse_spec("m=copy", core)], tmp_path, config)
    ident = json.loads((tmp_path / "near" / "m_seed0" / "identity.json").read_text())
    assert ident["world_model"] == {"spec": "copy", "sha256": None} and ident["map_fingerprint"] == core.fingerprint
    assert json.dumps(tr.transfer([parse_spec("m=copy", core)], tmp_path, config)) == json.dumps(
        first
    )  # the same: reused
    with pytest.raises(ValueError, match=r"m_seed0 holds a run of something else: world_model .*'shift'.*'copy'"):
        tr.transfer([parse_spec("m=shift", core)], tmp_path, config)
    other = _other_map(tmp_path)
    with pytest.raises(ValueError, match="real_seed0 holds a run of something else: .*map_fingerprint"):
        tr.transfer([parse_spec("m=copy", WorldCore(other))], tmp_path, config, map_path=other)
    assert json.loads((tmp_path / "near" / "m_seed0" / "identity.json").read_text()) == ident  # nothing changed


def test_a_replaced_checkpoint_file_is_not_reused(tmp_path, ckpt):
    wm = tmp_path / "wm.pt"
    shutil.copy(ckpt, wm)
    args = _aargs(tmp_path / "run", env="DreamWorldMap-v0", world_model=str(wm))
    out = Path(args.out)
    out.mkdir()
    (out / "identity.json").write_text(json.dumps(run_identity(args)))
    (out / "report.json").write_text(
        json.dumps({"timesteps": 64, "timesteps_asked": 64, "ppo_real_eval": {"episodes": 4}})
    )
    assert reusable(args)["timesteps"] == 64
    wm.write_bytes(wm.read_bytes() + b"\0")  # other weights, the same path
    with pytest.raises(ValueError, match="holds a run of something else: world_model .*sha256"):
        reusable(args)


# ---- 9. simulator outputs are checked, never cast; a simulator gets copies ----------------------
@pytest.mark.parametrize(
    "dtype, scale", [(np.float32, 1 / 255), (np.float64, np.nan), (np.int64, 1)], ids=["float", "nan", "int64"]
)
def test_dream_refuses_views_that_are_not_uint8(dtype, scale):
    env = DreamWorldMapEnv(model=FloatSim(dtype, scale))
    env.reset(seed=0)
    with pytest.raises(
        ValueError,
        match=rf"simulator 'FloatSim': step\(\) returned {np.dtype(dtype).name} views .*uint8 views of shape \(1, 64, "
        r"64, 3\)",
    ):
        env.step(3)


def test_worldbench_gives_copies_and_checks_views():
    from worldbench import runners

    core = WorldCore()
    starts, acts = runners.line_loops(core, 4, 2, 0)
    true, fake = runners.run_episodes(WritesFirstViews, core, starts, acts)
    assert np.array_equal(true[:, 0], core.views(starts)) and np.array_equal(
        true[:, -1], true[:, 0]
    )  # the loop still closes
    with pytest.raises(ValueError, match="simulator 'FloatSim': step.. returned float32"):
        runners.run_episodes(FloatSim, core, starts, acts)


# ---- 10. the vector env takes the single env's reset options --------------------------------------
def test_vector_env_honours_and_checks_reset_options():
    envs = gym.make_vec("WorldMap-v0", num_envs=2)
    obs, info = envs.reset(seed=0, options={"start": (0, 0), "goal": (0, 24)})
    assert info["agent_pos"].tolist() == [[0, 0], [0, 0]] and info["goal_pos"].tolist() == [[0, 24], [0, 24]]
    assert info["distance"].tolist() == [3, 3] and np.array_equal(
        obs["image"][0], WorldMapEnv().core.views(np.zeros((1, 2), int))[0]
    )
    with pytest.raises(ValueError, match=r"unknown reset options \['bogus'\]"):
        envs.reset(options={"bogus": 1})
    with pytest.raises(ValueError, match="reset option 'start' must be"):
        envs.reset(options={"start": (3, 0)})


# ---- 11. the real env refuses every dream setting ------------------------------------------------
DREAM_VALUES = {
    "world_model": "x.pt",
    "dream_steps": 7,
    "dream_cfg_scale": 1.5,
    "dream_remember_goal": True,
    "dream_dtype": "float32",
}


@pytest.mark.parametrize(
    "name", sorted({f.name for f in dataclasses.fields(AArgs) if f.name.startswith("dream_")} | {"world_model"})
)
def test_real_env_refuses_every_dream_flag(tmp_path, name):
    """Every dream setting of the dataclass, a new one too (DREAM_VALUES must then give it a value)."""
    flag = "--" + name.replace("_", "-")
    with pytest.raises(
        SystemExit, match=f"error: {flag} is a setting of the dream; use it with --env DreamWorldMap-v0"
    ):
        atrain(_aargs(tmp_path / "r", **{name: DREAM_VALUES[name]}))
    assert not (tmp_path / "r").exists()


# ---- 12. a simulator's own memory, and one simulator per env -------------------------------------
@pytest.mark.parametrize("kw", [dict(memory=False), dict(memory=True), dict(memory_cells=16)], ids=str)
def test_dream_with_a_simulator_refuses_memory_settings(kw):
    with pytest.raises(
        ValueError, match=rf"got model= and \['{next(iter(kw))}'\]; a simulator given as model= has its own memory"
    ):
        DreamWorldMapEnv(model=PredictorSimulator(lambda v, a: v), **kw)


def test_one_simulator_is_not_shared_by_sub_envs():
    sim = PredictorSimulator(lambda v, a: v)
    with pytest.raises(ValueError, match="already dreams for another env.*vectorization_mode='vector_entry_point'"):
        gym.make_vec("DreamWorldMap-v0", num_envs=2, vectorization_mode="sync", model=sim)
    envs = gym.make_vec(
        "DreamWorldMap-v0", num_envs=2, model=PredictorSimulator(lambda v, a: v)
    )  # one simulator, N sub-envs
    assert envs.reset(seed=0)[0]["image"].shape == (2, 64, 64, 3)
    env = DreamWorldMapEnv(model=sim)
    env.close()  # frees it
    DreamWorldMapEnv(model=sim)


# ---- 13. pickling and deep copies of the envs are cheap --------------------------------------------
def test_envs_pickle_and_deep_copy_cheaply():
    env = gym.make("WorldMap-v0")
    env.reset(seed=0)
    blob = pickle.dumps(env)
    assert len(blob) < 20e6  # the map (4.7 MB) and the episode, not 17 GB of windows
    for twin in (pickle.loads(blob), copy.deepcopy(env)):
        a, b = env.unwrapped, twin.unwrapped
        assert np.array_equal(a.core.views(np.array([[5, 7]])), b.core.views(np.array([[5, 7]])))
        o_a, r_a, *_ = copy.deepcopy(env).step(3)
        o_b, r_b, *_ = twin.step(3)
        assert np.array_equal(o_a["image"], o_b["image"]) and r_a == r_b
    vec = gym.make_vec("WorldMap-v0", num_envs=2)
    vec.reset(seed=0)
    assert len(pickle.dumps(vec)) < 20e6 and copy.deepcopy(vec).step(np.array([3, 1]))[0]["image"].shape == (
        2,
        64,
        64,
        3,
    )


# ---- 14. start == goal, a fractional resync, the report names its world model ---------------------
@pytest.mark.parametrize(
    "make", [lambda: gym.make("WorldMap-v0"), lambda: gym.make_vec("WorldMap-v0", num_envs=2)], ids=["single", "vector"]
)
def test_reset_refuses_start_equal_to_goal(make):
    with pytest.raises(
        ValueError, match=r"reset options put the start \(8, 16\) and the goal \(8, 16\) at the same place"
    ):
        make().reset(seed=0, options={"start": (8, 16), "goal": (8, 16)})


def test_resync_every_must_be_whole():
    with pytest.raises(ValueError, match="resync_every .* must be a whole number, got 1.5"):
        DreamWorldMapEnv(model=PredictorSimulator(lambda v, a: v), resync_every=1.5)
    assert DreamWorldMapEnv(model=PredictorSimulator(lambda v, a: v), resync_every=2.0).dreamer.resync_every == 2


def test_agent_report_names_its_world_model(tmp_path, ckpt):
    rep = atrain(_aargs(tmp_path / "d", env="DreamWorldMap-v0", world_model=ckpt, timesteps=32, n_envs=2, n_steps=16))
    import hashlib

    digest = hashlib.sha256(Path(ckpt).read_bytes()).hexdigest()
    assert rep["world_model"] == {"checkpoint": ckpt, "sha256": digest}
    assert f"Dreamed by world model `{ckpt}` (sha256 {digest[:16]}" in (tmp_path / "d" / "report.md").read_text()
    assert json.loads((tmp_path / "d" / "report.json").read_text())["map_fingerprint"] == WorldCore().fingerprint


# ---- 15. every tool's command line: one error line, exit status 2 ---------------------------------
def _cli_cases(tmp_path):
    folder = tmp_path / "a_folder"
    folder.mkdir(exist_ok=True)
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    return [
        ("worldgen_env.rollout_gif", ["--checkpoint", str(tmp_path / "missing.pt")], "--checkpoint .* does not exist"),
        ("worldgen_env.rollout_gif", ["--steps", "0"], "--steps must be >= 1, got 0"),
        ("worldgen_env.rollout_gif", ["--seed", "-1"], "--seed must be >= 0, got -1"),
        ("worldgen_env.rollout_gif", ["-o", str(folder)], "--output .* is a folder"),
        ("worldgen_env.rollout_gif", ["--map", str(tmp_path / "missing.png")], "--map .* does not exist"),
        ("worldgen_env.play", ["--seed", "-1"], "--seed must be >= 0"),
        ("worldgen_env.play", ["--fps", "0"], "--fps must be >= 1"),
        (
            "worldgen_env.play",
            ["--checkpoint", str(a_file)],
            "--checkpoint is the world model of the dream; add --dream",
        ),
        ("worldgen_env.speed", ["--repeats", "0"], "--repeats must be >= 1"),
        ("worldgen_env.speed", ["--seconds", "-1"], "--seconds must be > 0"),
        ("worldgen_env.speed", ["--sizes", "0"], "--sizes must be >= 1"),
        ("worldbench.__main__", ["copy", "--threads", "-1", "--out", str(tmp_path / "b")], "--threads must be >= 1"),
        ("worldbench.__main__", ["copy", "--seed", "-1", "--out", str(tmp_path / "b")], "--seed must be >= 0"),
        ("worldbench.__main__", ["copy", "--out", str(a_file)], "--out .* is a file"),
        ("worldbench.__main__", ["copy", "--map", str(folder)], "--map .* is a folder"),
        ("worldbench.__main__", ["copy", "--agent-jobs", "0"], "--agent-jobs must be >= 1"),
        ("worldbench.transfer", ["copy", "--jobs", "0"], "--jobs must be >= 1"),
        ("worldbench.transfer", ["copy", "--steps", "0", "5"], "--steps must be >= 1"),
        ("worldbench.transfer", ["copy", "--out", str(a_file)], "--out .* is a file"),
        ("worldbench.transfer", ["copy", "--out", str(tmp_path / "t"), "--json", str(folder)], "--json .* is a folder"),
        ("worldbench.transfer", ["copy", "--eval-every", "-1"], "--eval-every must be >= 0"),
    ]


@pytest.mark.parametrize("i", range(21))
def test_tool_command_lines_answer_a_mistake_with_one_error_line(tmp_path, capsys, i):
    import importlib

    module, argv, want = _cli_cases(tmp_path)[i]
    line = _one_error(capsys, importlib.import_module(module).main, argv)
    assert __import__("re").search(want, line), line


def test_unwritable_output_folder_is_one_error_line(tmp_path, capsys):
    from worldbench.__main__ import main

    blocked = tmp_path / "blocked"
    blocked.write_text("a file where a folder must go")
    line = _one_error(capsys, main, ["copy", "--out", str(blocked / "sub")])
    assert "--out: cannot write into the folder" in line


def test_tool_command_line_in_a_fresh_process(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "worldgen_env.rollout_gif", "--steps", "0"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert r.returncode == 2 and r.stderr.strip() == "error: --steps must be >= 1, got 0", r.stderr[-2000:]


# ---- 16. worldbench checks everything up front; a failing model loses only its row ---------------
def broken_factory(core):
    raise OSError("the weights server is down")


def flaky_factory(core):
    calls = {"n": 0}

    def predict(views, actions):
        calls["n"] += 1
        if calls["n"] > 1:
            raise RuntimeError("the GPU fell over")
        return views

    return PredictorSimulator(predict)


def test_worldbench_checks_models_before_any_work(tmp_path, capsys):
    from worldbench.__main__ import main

    line = _one_error(
        capsys, main, ["--quick", "copy", "test_robustness_envs:broken_factory", "--out", str(tmp_path / "b")]
    )
    assert "the weights server is down" in line
    assert not (tmp_path / "b" / "leaderboard.json").exists()


def test_worldbench_failing_model_loses_only_its_row(tmp_path, capsys, monkeypatch):
    from worldbench import __main__ as wb
    from worldbench.bench import QUICK

    monkeypatch.setattr(
        wb, "QUICK", dataclasses.replace(QUICK, c2st_steps=5, c2st_repeats=1, speed_seconds=0.05, n_walks=8)
    )
    line = _one_error(
        capsys, wb.main, ["--quick", "copy", "bad=test_robustness_envs:flaky_factory", "--out", str(tmp_path / "b")]
    )
    assert "1 of 2 models failed ('bad': RuntimeError: the GPU fell over)" in line
    data = json.loads((tmp_path / "b" / "leaderboard.json").read_text())
    assert set(data["results"]) == {"copy"} and data["meta"]["failed"] == {"bad": "RuntimeError: the GPU fell over"}
    assert "Failed, so not in the table: 'bad'" in (tmp_path / "b" / "leaderboard.md").read_text()


# ---- 17. --resume with the wrong file, --batch-size 1, a NaN policy --------------------------------
@pytest.fixture(scope="module")
def agent_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("agent") / "run"
    atrain(_aargs(out))
    return out


def _world_checkpoint(ckpt):
    return torch.load(ckpt, weights_only=True)


@pytest.mark.parametrize(
    "kind, want",
    [
        ("list", r"is not a train_agent.py checkpoint \(a list\)"),
        (
            "no-args",
            r"is not a train_agent.py checkpoint \(a dict without \['optimizer', 'num_timesteps', 'curve', "
            r"'train_wall_s', 'args'\]\)",
        ),
        ("world-model", "is a world-model checkpoint .train_world.py., not an agent's"),
        ("shapes", "does not fit this run's policy .*size mismatch"),
    ],
)
def test_resume_with_the_wrong_file_is_one_error(tmp_path, agent_run, ckpt, kind, want):
    run = tmp_path / "run"
    shutil.copytree(agent_run, run)
    ck = torch.load(run / "checkpoint.pt", weights_only=True)
    obj = {
        "list": [1, 2, 3],
        "no-args": {"policy": ck["policy"]},
        "world-model": _world_checkpoint(ckpt),
        "shapes": {**ck, "policy": {k: (v[:1] if v.ndim else v) for k, v in ck["policy"].items()}},
    }[kind]
    torch.save(obj, run / "checkpoint.pt")
    with pytest.raises(SystemExit, match="error: .*" + want) as ex:
        atrain(_aargs(run, timesteps=128, resume=True))
    assert "\n" not in str(ex.value)


def test_batch_size_one_is_refused(tmp_path):
    with pytest.raises(
        SystemExit, match=r"error: --batch-size must be >= 2 \(PPO normalises advantages over each minibatch\), got 1"
    ):
        atrain(_aargs(tmp_path / "b1", batch_size=1))


def test_nan_policy_is_one_line_and_keeps_a_finite_checkpoint(tmp_path, monkeypatch):
    from stable_baselines3 import PPO

    real_train = PPO.train

    def poisoned(self):
        real_train(self)
        with torch.no_grad():
            for p in self.policy.parameters():
                p.fill_(float("nan"))

    monkeypatch.setattr(PPO, "train", poisoned)
    with pytest.raises(FloatingPointError, match=r"the policy became non-finite \(NaN\) at about \d+ env steps") as ex:
        atrain(_aargs(tmp_path / "nan", timesteps=256, ckpt_every=1))
    assert "\n" not in str(ex.value) and "tensor" not in str(ex.value)
    ck = torch.load(tmp_path / "nan" / "checkpoint.pt", weights_only=True)
    assert all(torch.isfinite(v).all() for v in ck["policy"].values())


# ---- --map for play and rollout_gif, with the dream's default model for the map -------------------
def test_play_and_rollout_gif_take_a_map_and_the_dreams_default(tmp_path, ckpt, monkeypatch):
    import worldgen_env.dream as dream_mod
    from worldgen_env import play, rollout_gif

    other = _other_map(tmp_path)
    asked = []
    monkeypatch.setattr(dream_mod, "default_checkpoint", lambda map_path: asked.append(map_path) or Path(ckpt))
    out = rollout_gif.main(["--map", other, "--steps", "2", "-o", str(tmp_path / "r.gif")])
    assert out.exists() and asked == [other]
    env = play.make_env(dream=True, map_path=other)
    assert asked == [other, other] and env.unwrapped.core.world.shape == (200, 240, 3)
    assert play.make_env(map_path=other).unwrapped.core.fingerprint == WorldCore(other).fingerprint


# ---- what a review of the fixes above found --------------------------------------------------------
def test_transfer_refuses_names_that_share_a_run_folder(tmp_path, monkeypatch):
    import agents.training
    from worldbench import transfer as tr
    from worldbench.models import parse_spec

    monkeypatch.setattr(agents.training, "train", lambda *a, **k: pytest.fail("nothing may be trained"))
    core = WorldCore()
    with pytest.raises(
        ValueError, match=r"two models would share a run folder \(\['a b', 'a_b'\] -> \['a_b', 'a_b'\]\)"
    ):
        tr.transfer(
            [parse_spec("a b=copy", core), parse_spec("a_b=shift", core)],
            tmp_path,
            tr.TransferConfig(tasks=("near",), steps={"near": 64}, eval_episodes=4, n_envs=2),
        )


@pytest.mark.parametrize("kw", [dict(device="cpu"), dict(dtype="float32"), dict(compile=True)], ids=str)
def test_dream_with_a_simulator_refuses_device_settings(kw):
    with pytest.raises(ValueError, match=rf"got model= and \['{next(iter(kw))}'\]"):
        DreamWorldMapEnv(model=PredictorSimulator(lambda v, a: v), **kw)


def test_resume_refuses_a_replaced_map_file(tmp_path):
    world = tmp_path / "map.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (200, 240, 3), dtype=np.uint8)).save(world)
    atrain(_aargs(tmp_path / "run", map=str(world)))
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (200, 240, 3), dtype=np.uint8)).save(
        world
    )  # same name, other map
    with pytest.raises(
        SystemExit, match="error: --resume of a run in .* whose map or world model changed: map_fingerprint"
    ):
        atrain(_aargs(tmp_path / "run", map=str(world), timesteps=128, resume=True))


def test_reset_options_must_be_a_dict():
    with pytest.raises(ValueError, match="reset options must be a dict"):
        gym.make_vec("WorldMap-v0", num_envs=2).reset(options=[("start", (0, 0))])
    with pytest.raises(ValueError, match="reset options must be a dict"):
        WorldMapEnv().reset(options=[("start", (0, 0))])
