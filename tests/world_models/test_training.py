"""world_models.training: learning, exact resume, pretrained starts, the stage CLI, DDP, interruption."""

import os
import subprocess
import sys

import pytest
import torch
from helpers import ADV, tiny_train_args

from world_models import FlowMatching, build_model, preset
from world_models.checkpoint import load_checkpoint
from world_models.data import TransitionSampler, to_tensor, to_uint8
from world_models.inference import load_world_model
from world_models.metrics import psnr
from world_models.training import init_from_pretrained, train
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
@pytest.mark.parametrize("extra", [{}, ADV], ids=["plain", "adversarial"])
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
    dit = train(tiny_train_args(tmp_path, experiment="diffusion", out=str(tmp_path / "dit"), steps=1, cfg=False))
    world = build_model(preset("tiny"))
    loaded, skipped = init_from_pretrained(world, str(dit))
    assert any("blocks.0" in k for k in loaded) and "patch_embed.proj.weight" in loaded
    src = load_checkpoint(dit)["ema"]["patch_embed.proj.weight"]
    assert torch.equal(world.state_dict()["patch_embed.proj.weight"][:, :3], src)



@pytest.mark.parametrize("experiment", ["world_flow", "diffusion", "world"])
def test_cli_smoke(tmp_path, experiment):
    out = tmp_path / experiment
    r = subprocess.run([sys.executable, "-m", "world_models.training", "--experiment", experiment, "--cfg", "--preset", "tiny",
                        "--steps", "3", "--out", str(out), "--eval-every", "3", "--no-progress"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    wm = load_world_model(out / "last.pt")
    assert wm.process.name == ("flow" if experiment == "world_flow" else "ddpm")
    assert (out / "tb").is_dir()



def test_cli_rejects_bad_input(tmp_path):
    r = subprocess.run([sys.executable, "-m", "world_models.training", "--preset", "tiny", "--out", str(tmp_path)], capture_output=True, text=True)
    assert r.returncode != 0 and "--steps" in r.stderr + r.stdout
    r = subprocess.run([sys.executable, "-m", "world_models.training", "--preset", "tiny", "--steps", "1", "--map", str(tmp_path / "nope.png"),
                        "--out", str(tmp_path)], capture_output=True, text=True)
    assert r.returncode == 2 and "nope.png" in r.stderr



def test_torchrun_ddp_smoke(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29533",
                        "-m", "world_models.training", "--preset", "tiny", "--steps", "3", "--batch-size", "4", "--eval-every", "0",
                        "--out", str(tmp_path / "ddp"), "--no-progress"], capture_output=True, text=True, timeout=180, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "world size 2" in r.stdout
    assert load_checkpoint(tmp_path / "ddp" / "last.pt")["step"] == 3



def test_interrupted_run_keeps_its_progress(tmp_path):
    import signal
    import time

    out = tmp_path / "int"
    proc = subprocess.Popen([sys.executable, "-m", "world_models.training", "--preset", "tiny", "--steps", "100000", "--out", str(out),
                             "--eval-every", "0", "--ckpt-every", "100000", "--no-progress", "--batch-size", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t0 = time.time()
    while not (out / "args.json").exists() and time.time() - t0 < 60:
        time.sleep(0.2)
    time.sleep(2)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "--resume" in err
    assert load_checkpoint(out / "last.pt")["step"] > 0
