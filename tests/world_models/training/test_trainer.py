"""world_models.training: learning, exact resume, pretrained starts, the stage CLI, DDP, interruption."""

import os
import subprocess
import sys

import pytest
import torch
from helpers import ADV, random_cond, tiny_train_args

from world_models import FlowMatching, build_model, preset
from world_models.data import TransitionSampler, to_tensor, to_uint8
from world_models.inference import load_world_model
from world_models.io.checkpoint import load_checkpoint, save_checkpoint
from world_models.training.trainer import Args, GuidanceArgs, PlaceArgs, SampleArgs, init_from_pretrained, train
from worldgen_core.metrics import psnr
from worldgen_core.world import WorldCore


def test_tiny_model_overfits_a_handful_of_transitions():
    torch.manual_seed(0)

    batch = TransitionSampler(WorldCore(), seed=3).sample(4)
    m = build_model(preset("tiny", dim=96, heads=4))
    fm = FlowMatching()
    opt = torch.optim.AdamW(m.parameters(), lr=3e-3)
    x1, cond = to_tensor(batch["next"]), {"view": to_tensor(batch["view"]), "action": torch.as_tensor(batch["action"])}
    for _ in range(300):
        loss = fm.loss(m, x1, cond)
        opt.zero_grad()
        loss.backward()
        opt.step()
    m.eval()
    gen = to_uint8(fm.sample(m, cond, steps=10, generator=torch.Generator().manual_seed(0)))
    shift_baseline = psnr(to_uint8(m.copy(cond["view"], cond["action"])), batch["next"])
    assert psnr(gen, batch["next"]) > 24, psnr(gen, batch["next"])
    assert shift_baseline > 20  # the copy filter learned the motion of each action


#: adversarial fine-tuning of a tiny run (tests/test_adversarial.py uses it too)
@pytest.mark.parametrize("extra", [{}, dict(adv=ADV)], ids=["plain", "adversarial"])
def test_checkpoint_resume_is_exact(tmp_path, extra):
    straight = train(tiny_train_args(tmp_path, out=str(tmp_path / "a"), steps=4, **extra))
    train(tiny_train_args(tmp_path, out=str(tmp_path / "b"), steps=2, **extra))
    resumed = train(tiny_train_args(tmp_path, out=str(tmp_path / "b"), steps=4, resume=True, **extra))
    a, b = load_checkpoint(straight), load_checkpoint(resumed)
    assert a["step"] == b["step"] == 4
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k
    for k in a["ema"]:
        assert torch.equal(a["ema"][k], b["ema"][k]), k
    if extra:  # the discriminator resumes too, and the generator has moved
        for k, v in a["adversary"]["disc"].items():
            assert torch.equal(v, b["adversary"]["disc"][k]), k
        start = build_model(preset("tiny")).state_dict()
        assert any(not torch.equal(start[k], v) for k, v in a["model"].items())


def test_pretrained_dit_initialises_world_model(tmp_path):
    dit = train(
        tiny_train_args(tmp_path, experiment="diffusion", out=str(tmp_path / "dit"), steps=1, cfg=GuidanceArgs())
    )
    world = build_model(preset("tiny"))
    loaded, skipped = init_from_pretrained(world, str(dit))
    assert any("blocks.0" in k for k in loaded) and "patch_embed.proj.weight" in loaded
    src = load_checkpoint(dit)["ema"]["patch_embed.proj.weight"]
    assert torch.equal(world.state_dict()["patch_embed.proj.weight"][:, :3], src)


def test_pretrained_place_field_widens_and_gains_a_decoder(tmp_path):
    """A model with a wider field and a place decoder starts as the pretrained one: the old field in its
    first numbers, zeros after, a zero decoder."""
    small = build_model(preset("tiny", place_rows=12, place_cols=15, place_dim=4))
    torch.nn.init.normal_(small.place_field)
    torch.nn.init.normal_(small.final.linear.weight)
    path = tmp_path / "small.pt"
    save_checkpoint(
        path, {"config": small.config.to_dict(), "process": {}, "sampling": {}, "model": small.state_dict()}
    )
    wide = build_model(preset("tiny", place_rows=12, place_cols=15, place_dim=6, place_decoder=True))
    loaded, skipped = init_from_pretrained(wide, str(path))
    assert {"place_field", "place_proj.weight"} <= set(loaded) and not skipped
    assert torch.equal(wide.place_field[..., :4], small.place_field) and not wide.place_field[..., 4:].any()
    x, t, cond, place = torch.randn(2, 3, 64, 64), torch.rand(2), random_cond(2), torch.tensor([[0, 0], [4, 7]])
    assert torch.allclose(wide(x, t, **cond, place=place), small(x, t, **cond, place=place), atol=1e-6)


@pytest.mark.parametrize("experiment", ["world_flow", "diffusion", "world"])
def test_cli_smoke(tmp_path, experiment):
    out = tmp_path / experiment
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "world_models.training",
            "--experiment",
            experiment,
            "--cfg.on",
            "--preset",
            "tiny",
            "--steps",
            "3",
            "--out",
            str(out),
            "--eval-every",
            "3",
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    wm = load_world_model(out / "last.pt")
    assert wm.process.name == ("flow" if experiment == "world_flow" else "ddpm")
    assert (out / "tb").is_dir()


def test_cli_rejects_bad_input(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "world_models.training", "--preset", "tiny", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert r.returncode != 0 and "--steps" in r.stderr + r.stdout
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "world_models.training",
            "--preset",
            "tiny",
            "--steps",
            "1",
            "--map",
            str(tmp_path / "nope.png"),
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2 and "nope.png" in r.stderr


def test_torchrun_ddp_smoke(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node",
            "2",
            "--master_port",
            "29533",
            "-m",
            "world_models.training",
            "--preset",
            "tiny",
            "--steps",
            "3",
            "--batch-size",
            "4",
            "--eval-every",
            "0",
            "--out",
            str(tmp_path / "ddp"),
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert "world size 2" in r.stdout
    assert load_checkpoint(tmp_path / "ddp" / "last.pt")["step"] == 3


def test_interrupted_run_keeps_its_progress(tmp_path, popen):
    import signal
    import time

    out = tmp_path / "int"
    proc = popen(
        [
            sys.executable,
            "-m",
            "world_models.training",
            "--preset",
            "tiny",
            "--steps",
            "100000",
            "--out",
            str(out),
            "--eval-every",
            "0",
            "--ckpt-every",
            "100000",
            "--no-progress",
            "--batch-size",
            "2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    t0 = time.time()
    while not (out / "args.json").exists() and time.time() - t0 < 60:
        time.sleep(0.2)
    time.sleep(2)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "--resume" in err
    assert load_checkpoint(out / "last.pt")["step"] > 0


def test_place_field_learns_what_the_view_cannot_show(tmp_path):
    """On a map of random 4-px blocks the revealed strip cannot be guessed from the view; a model
    with a place field learns it where the next view's cell says. The same weights with the field
    left out stay at chance, so the gain is the field's."""
    import numpy as np

    from world_models.training.trainer import Args, PlaceArgs
    from worldgen_core import dynamics as dyn

    rng = np.random.default_rng(0)
    world = np.kron(
        rng.integers(0, 256, (24, 24, 3), dtype=np.uint8), np.ones((4, 4, 1), np.uint8)
    )  # 96 x 96 px: 5 x 5 views
    from PIL import Image

    Image.fromarray(world).save(tmp_path / "noise.png")
    core = WorldCore(str(tmp_path / "noise.png"))
    path = train(
        Args(
            experiment="world_flow",
            preset="tiny",
            map=str(tmp_path / "noise.png"),
            place=PlaceArgs(field=True, dim=32, lr=3e-2),
            lr=2e-3,
            warmup=10,
            t_sampling="logit_normal",
            steps=200,
            batch_size=16,
            eval_every=0,
            progress=False,
            bf16=False,
            out=str(tmp_path / "run"),
        )
    )
    ck = load_checkpoint(path)
    assert ck["place_map"] == core.fingerprint and ck["config"]["place_rows"] == core.place_grid[0] == 12
    wm = load_world_model(path)
    assert wm.knows(core) and not wm.knows(WorldCore())
    b = TransitionSampler(core, seed=99).sample(64)
    strip = dyn.revealed_masks(64, 8)[b["action"]]
    cells = b["pos"] + dyn.ACTION_DELTAS[b["action"]]
    g = lambda: torch.Generator().manual_seed(0)
    with_field = psnr(
        wm.predict(b["view"], b["action"], g(), steps=1, cells=cells)[strip][None], b["next"][strip][None]
    )
    without = psnr(wm.predict(b["view"], b["action"], g(), steps=1)[strip][None], b["next"][strip][None])
    assert with_field > without + 3, (with_field, without)


def test_place_field_rejects_many_maps(tmp_path):
    from helpers import stripe_map

    with pytest.raises(SystemExit, match="learns one map by place"):
        train(
            tiny_train_args(
                tmp_path, place=PlaceArgs(field=True), extra_maps=(stripe_map(tmp_path / "m.png", (10, 200, 30)),)
            )
        )
    with pytest.raises(SystemExit, match="--place.decoder decodes the place field's vectors: it needs --place.field"):
        train(tiny_train_args(tmp_path, place=PlaceArgs(decoder=True)))


@pytest.mark.parametrize("bad", [dict(sample=SampleArgs(sampler="nope")), dict(map="no_such_map.png")])
def test_a_bad_setting_or_map_leaves_no_run_folder(tmp_path, bad):
    with pytest.raises((SystemExit, ValueError, OSError)):
        train(Args(preset="tiny", steps=1, out=str(tmp_path / "run"), progress=False, **bad))
    assert not (tmp_path / "run").exists()
