"""The one-command recipe (world_models.training.recipe, train_world.py)."""

import subprocess
import sys

import pytest
import torch
from helpers import ROOT, stripe_map

from world_models.inference import UNIVERSAL_MODEL
from world_models.io.checkpoint import load_checkpoint
from world_models.model.dit import preset
from world_models.training.recipe import Args, pretrained_path, run, stage_args
from world_models.training.trainer import Args as TrainArgs
from world_models.training.trainer import _model_config, flat_args
from worldgen_core.assets import data_path
from worldgen_core.dynamics import TaskConfig
from worldgen_core.world import WorldCore


def test_stage_settings_follow_the_device_and_the_start(tmp_path):
    a = Args(time_budget=100, out=str(tmp_path / "r"), device="cpu", pretrained=None)
    flow, adv = stage_args(a, "flow", tmp_path, None), stage_args(a, "adversarial", tmp_path, "x.pt")
    assert (flow.time_budget, adv.time_budget) == pytest.approx((70, 30))
    assert (
        flow.batch_size == adv.batch_size == 32
        and flow.lr == 3e-4
        and flow.cond.noise == 0.05
        and adv.adv.weight == 1.0
    )
    assert stage_args(a, "flow", tmp_path, "u.pt").lr == 1e-4 and adv.pretrained == "x.pt"
    assert flow.cfg.on and flow.t_sampling == "logit_normal" and flow.experiment == "world_flow"


def test_recipe_trains_every_stage_on_many_maps_and_exports_a_dream_model(tmp_path):
    import gymnasium as gym

    import worldgen_env  # noqa: F401

    mine = stripe_map(tmp_path / "mine.png", (40, 160, 90))
    (tmp_path / "more").mkdir()
    stripe_map(tmp_path / "more" / "m1.png", (200, 120, 30))
    a = Args(
        map=mine,
        extra_maps=(str(tmp_path / "more"),),
        time_budget=3,
        preset="tiny",
        pretrained=None,
        batch_size=4,
        out=str(tmp_path / "run"),
        eval_every=0,
        progress=False,
        device="cpu",
    )
    final = run(a)
    ck = load_checkpoint(final)
    assert ck["sampling"]["steps"] == 1 and ck["sampling"]["cfg_scale"] == 1.0 and "optimizer" not in ck
    assert ck["train_args"]["adv_weight"] == 1.0 and list(ck["train_args"]["extra_maps"]) == [str(tmp_path / "more")]
    flow = load_checkpoint(tmp_path / "run" / "flow" / "last.pt")
    assert flow["train_args"]["cond_noise"] == 0.05 and flow["step"] > 0
    stages = ck["recipe"]["stages"]  # the history of every stage travels with the model
    assert (
        list(stages) == ["flow", "adversarial"]
        and stages["flow"]["step"] == flow["step"]
        and ck["recipe"]["args"]["map"] == mine
    )
    env = gym.make("DreamWorldMap-v0", checkpoint=str(final), map_path=mine)
    obs, _ = env.reset(seed=0)
    assert env.step(3)[0]["image"].shape == (64, 64, 3)
    with pytest.raises(SystemExit, match="already holds a run"):
        run(a)  # never overwrites
    again = load_checkpoint(run(Args(**{**a.__dict__, "resume": True})))  # finished stages are kept, not trained again
    assert (
        all(torch.equal(again["model"][k], v) for k, v in ck["model"].items())
        and again["recipe"]["stages"] == ck["recipe"]["stages"]
    )
    with pytest.raises(SystemExit, match="--preset"):
        run(Args(**{**a.__dict__, "resume": True, "preset": "small"}))


def test_recipe_resumes_the_running_stage(tmp_path, popen):
    """Stopped in stage 1 (SIGINT), --resume finishes stage 1 from its checkpoint and runs the rest."""
    out = tmp_path / "run"
    cmd = [
        sys.executable,
        str(ROOT / "train_world.py"),
        "--preset",
        "tiny",
        "--pretrained",
        "None",
        "--batch-size",
        "4",
        "--eval-every",
        "0",
        "--no-progress",
        "--device",
        "cpu",
        "--out",
        str(out),
        "--threads",
        "1",
    ]
    p = popen([*cmd, "--time-budget", "600"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    import time

    deadline = time.time() + 60
    while not (out / "flow" / "last.pt").exists() and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)
    p.send_signal(2)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130 and "--resume" in err, err[-1500:]
    step = load_checkpoint(out / "flow" / "last.pt")["step"]
    r = subprocess.run([*cmd, "--time-budget", "4", "--resume"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "(resumed)" in r.stdout and load_checkpoint(out / "flow" / "last.pt")["step"] >= step
    assert (out / "world_model.pt").exists() and load_checkpoint(out / "adversarial" / "last.pt")["step"] > 0


def test_recipe_errors_name_the_bad_input(tmp_path):
    for kw, msg in [
        (dict(map=str(tmp_path / "nope.png")), "--map"),
        (dict(extra_maps=(str(tmp_path / "no"),)), "--extra-maps"),
        (dict(pretrained=str(tmp_path / "x.pt")), "x.pt"),
        (dict(time_budget=0), "--time-budget"),
        (dict(adv_share=1.0), "--adv-share"),
    ]:
        with pytest.raises(SystemExit, match=msg):
            run(Args(out=str(tmp_path / "r"), **kw))


def test_recipe_fine_tunes_the_universal_model_by_default(tmp_path):
    assert pretrained_path(Args()) == str(UNIVERSAL_MODEL) and UNIVERSAL_MODEL.is_file()
    final = run(
        Args(
            time_budget=2,
            batch_size=2,
            out=str(tmp_path / "r"),
            eval_every=0,
            progress=False,
            device="cpu",
            adv_share=0.0,
        )
    )
    flow = load_checkpoint(tmp_path / "r" / "flow" / "last.pt")
    assert flow["train_args"]["pretrained"] == str(UNIVERSAL_MODEL) and flow["train_args"]["lr"] == 1e-4
    assert list(load_checkpoint(final)["recipe"]["stages"]) == ["flow"]  # --adv-share 0: no adversarial stage


def test_recipe_with_a_place_field_exports_a_model_that_knows_the_map(tmp_path):
    import gymnasium as gym

    import worldgen_env  # noqa: F401
    from world_models.inference import load_world_model
    from worldgen_core.world import WorldCore

    mine = stripe_map(tmp_path / "mine.png", (40, 160, 90))
    a = Args(
        map=mine,
        place_field=True,
        place_dim=8,
        place_decoder=True,
        time_budget=2,
        preset="tiny",
        pretrained=None,
        batch_size=4,
        out=str(tmp_path / "run"),
        eval_every=0,
        progress=False,
        device="cpu",
    )
    final = run(a)
    wm = load_world_model(final)
    assert wm.knows(WorldCore(mine)) and not wm.knows(WorldCore())
    assert wm.config.place_decoder and wm.config.place_dim == 8
    assert load_checkpoint(tmp_path / "run" / "adversarial" / "last.pt")["train_args"][
        "place_field"
    ]  # both stages keep the field
    env = gym.make("DreamWorldMap-v0", checkpoint=str(final), map_path=mine)
    assert env.unwrapped.dreamer.place  # the dream of that map reads the field ...
    assert not gym.make(
        "DreamWorldMap-v0", checkpoint=str(final)
    ).unwrapped.dreamer.place  # ... the dream of another map does not
    many = run(Args(**{**a.__dict__, "out": str(tmp_path / "r2"), "extra_maps": (mine,)}))  # a field is of one map: off
    assert load_world_model(many).config.place_rows == 0
    assert (
        load_checkpoint(tmp_path / "r2" / "adversarial" / "last.pt")["train_args"]["rollout_batch"] == 0
    )  # so are the dreams


#: how a stage is run, not what it trains: may differ from the shipped model's record
HOW_TO_RUN = {
    "out",
    "pretrained",
    "time_budget",
    "steps",
    "seed",
    "device",
    "threads",
    "progress",
    "eval_every",
    "log_every",
    "ckpt_every",
    "ckpt_seconds",
    "resume",
    "map",
}


def test_recorded_settings_keep_the_names_runs_had_before_the_groups():
    """Runs record the grouped settings flat (flat_args): the names data/world_model.pt's run recorded, so that a
    run started before the groups resumes and compares (all but adv_r1, a setting since removed)."""
    recorded = load_checkpoint(data_path("world_model.pt"))["train_args"]
    assert set(flat_args(TrainArgs())) == set(recorded) - {"adv_r1"}


def test_recipe_makes_the_shipped_models_settings(tmp_path):
    """The recipe's last stage on the default map trains with the settings data/world_model.pt records,
    and builds the same model configuration: the one command makes the shipped kind of model."""
    shipped = load_checkpoint(data_path("world_model.pt"))
    a = Args(device="cpu")
    sa = flat_args(stage_args(a, "adversarial", tmp_path, "start.pt"))
    recorded = shipped["train_args"]
    # an architecture override left at None is the preset's value: the model configurations are compared below
    differ = {
        k: (sa.get(k), v)
        for k, v in recorded.items()
        if k not in HOW_TO_RUN and sa.get(k) != v and sa.get(k) is not None
    }
    assert not differ, f"recipe stage 'adversarial' vs the shipped model's record (recipe, shipped): {differ}"
    config = _model_config(stage_args(a, "flow", tmp_path, None), "world", WorldCore(None, TaskConfig()))
    assert config.to_dict() == shipped["config"]
    assert preset("small").copy_pad == shipped["config"]["copy_pad"]  # the code's defaults are the shipped ones
