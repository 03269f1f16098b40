import os
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from helpers import ADV, tiny_train_args

from world_models import DDPM, FlowMatching, build_model, preset
from world_models.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from world_models.data import TransitionSampler, to_tensor, to_uint8
from world_models.denoiser import Denoiser, cfg_predict
from world_models.inference import load_world_model
from world_models.metrics import psnr
from world_models.models import ModelConfig
from world_models.nn import BLOCKS, DynamicFilterCopy, RMSNorm, patchify, unpatchify
from world_models.solvers import SOLVERS
from world_models.training import init_from_pretrained, train
from worldgen_core.world import WorldCore


def test_transition_sampler_draws_only_moves_that_happen():
    from worldgen_core import dynamics as dyn

    core = WorldCore(world=np.random.default_rng(0).integers(0, 256, (80, 400, 3), dtype=np.uint8))  # grid (3, 43): a third of the cells on each horizontal edge
    sampler = TransitionSampler(core, seed=0)
    b = sampler.sample(400)
    assert not (dyn.move(b["pos"], b["action"], core.grid) == b["pos"]).all(1).any()
    assert (b["view"] != b["next"]).any((1, 2, 3)).all() and set(b["action"]) == {0, 1, 2, 3}
    again = TransitionSampler(core, seed=0).sample(400)
    assert all(np.array_equal(b[k], again[k]) for k in b)  # still a pure function of the seed
    with pytest.raises(ValueError, match="single view position"):
        TransitionSampler(SimpleNamespace(grid=np.array([1, 1])))  # a 64 x 64 map: one view, no moves

def _cond(B=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {"view": torch.rand(B, 3, 64, 64, generator=g) * 2 - 1, "action": torch.randint(0, 4, (B,), generator=g)}


@pytest.mark.parametrize("overrides", [
    dict(kind="dit"), dict(), dict(conditioning="global"), dict(norm="layer", cond="additive"),
    dict(stem="linear", prediction="native"), dict(patch=4),
])
def test_model_shapes(overrides):
    m = build_model(preset("tiny", **overrides))
    x, t = torch.randn(3, 3, 64, 64), torch.rand(3)
    out = m(x, t, **_cond()) if m.config.kind == "world" else m(x, t)
    assert out.shape == (3, 3, 64, 64)


def test_seed_preset_is_the_original_model():
    c = preset("seed")
    assert (c.dim, c.depth, c.patch, c.conditioning, c.prediction) == (256, 3, 4, "global", "native")


def test_bad_shapes_and_configs_are_reported():
    m = build_model(preset("tiny"))
    with pytest.raises(AssertionError, match=r"x_t must be \(B, 3, 64, 64\), got \(2, 3, 32, 32\)"):
        m(torch.randn(2, 3, 32, 32), torch.rand(2), **_cond(2))
    with pytest.raises(ValueError, match="needs view="):
        m(torch.randn(2, 3, 64, 64), torch.rand(2))
    with pytest.raises(ValueError, match="norm must be one of"):
        ModelConfig(norm="batch")
    with pytest.raises(ValueError, match="unknown preset"):
        preset("huge")


def test_patchify_roundtrip():
    x = torch.randn(2, 3, 64, 64)
    assert torch.equal(unpatchify(patchify(x, 8), 8, 3, 64, 64), x)
    assert patchify(x, 8).shape == (2, 64, 192)


def test_zero_initialised_block_is_identity():
    for cond in ("film", "additive"):
        blk = BLOCKS[cond](32, 4, 16)
        x, c = torch.randn(2, 10, 32), torch.randn(2, 16)
        assert torch.allclose(blk(x, c), x + (blk.cond_proj(c).unsqueeze(1) if cond == "additive" else 0))


def test_rmsnorm_runs_in_fp32():
    n = RMSNorm(8)
    x = (torch.randn(4, 8) * 100).bfloat16()
    y = n(x)
    assert y.dtype == torch.bfloat16
    ref = x.float() / x.float().pow(2).mean(-1, keepdim=True).add(1e-6).sqrt()
    assert torch.allclose(y.float(), ref, atol=2e-2)


def test_dynamic_filter_can_express_a_translation():
    dc = DynamicFilterCopy(4, 17)
    with torch.no_grad():
        dc.table[1] = -1e3
        dc.table[1, 0, 8 + 8] = dc.table[1, 1, 8] = 1e3  # action 1: shift 8 rows, 0 columns
    v = torch.randn(1, 3, 64, 64)
    y = dc(v, torch.tensor([1]))
    assert torch.allclose(y[:, :, :-8], v[:, :, 8:], atol=1e-5)
    assert torch.allclose(y[:, :, -8:], v[:, :, -1:].expand(-1, -1, 8, -1), atol=1e-5)  # replicate edge fill


class _ConstVelocity(torch.nn.Module):
    def __init__(self, v):
        super().__init__()
        self.v = v
        self.config = ModelConfig(kind="dit", prediction="native", copy_kernel=0, dim=8, heads=1, depth=1)
        self.p = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x_t, t, view=None, action=None, drop=None):
        return self.v.expand_as(x_t)


@pytest.mark.parametrize("sampler", ["euler", "heun"])
def test_flow_solvers_integrate_constant_velocity_exactly(sampler):
    v = torch.randn(1, 3, 64, 64) * 0.1
    fm = FlowMatching()
    x0 = torch.randn((2, 3, 64, 64), generator=torch.Generator().manual_seed(0))
    steps = []
    x1 = SOLVERS[sampler](Denoiser(_ConstVelocity(v), fm.path), x0.clone(), None, 7, callback=steps.append)
    assert torch.allclose(x1, x0 + v, atol=1e-5)
    assert [s["i"] for s in steps] == list(range(7))  # the callback sees every step


def test_ddpm_schedule_endpoints():
    d = DDPM().path
    assert d.T == 400 and d.abar[0] == 1 and d.abar[-1] < 1e-4
    assert torch.all(d.abar[1:] < d.abar[:-1]) and d.betas.max() <= 0.999
    a1, s1 = d.alpha_sigma(torch.tensor([1.0]))
    a0, s0 = d.alpha_sigma(torch.tensor([0.0]))
    assert a1.item() == 1 and s1.item() == 0 and a0.item() < 1e-2
    assert d.timesteps(400) == list(range(400, 0, -1)) and len(d.timesteps(10)) == 10


def test_cfg_with_w1_equals_conditional_and_w_combines_halves():
    torch.manual_seed(0)
    m = build_model(preset("tiny")).eval()
    for p in m.parameters():  # non-trivial outputs
        p.data.add_(torch.randn_like(p) * 0.05)
    fm = FlowMatching()
    x, t, cond = torch.randn(3, 3, 64, 64), torch.rand(3), _cond()
    native = Denoiser(m, fm.path).native
    cond_pred = Denoiser(m, fm.path, cfg_scale=1.0)(x, t, cond)
    assert torch.allclose(Denoiser(m, fm.path, cfg_scale=3.0)(x, t, cond), cfg_predict(native, m, x, t, cond, 3.0))
    assert torch.allclose(cfg_predict(native, m, x, t, cond, 1.0), cond_pred, atol=1e-5)
    unc = native(m(x, t, drop=torch.ones(3, dtype=torch.bool), **cond), x, t)
    assert torch.allclose(cfg_predict(native, m, x, t, cond, 3.0), unc + 3.0 * (cond_pred - unc), atol=1e-4)


@pytest.mark.parametrize("proc,sampler", [(FlowMatching(), "euler"), (FlowMatching(), "heun"), (DDPM(), "ddim"), (DDPM(), "ddpm")])
def test_samplers_share_one_signature_and_are_seeded(proc, sampler):
    m = build_model(preset("tiny")).eval()
    a = proc.sample(m, _cond(), sampler=sampler, steps=4, cfg_scale=2.0, generator=torch.Generator().manual_seed(1))
    b = proc.sample(m, _cond(), sampler=sampler, steps=4, cfg_scale=2.0, generator=torch.Generator().manual_seed(1))
    traj = []
    proc.sample(m, _cond(), sampler=sampler, steps=4, generator=torch.Generator().manual_seed(1), trajectory=traj)
    assert a.shape == (3, 3, 64, 64) and torch.equal(a, b) and len(traj) == 4
    with pytest.raises(ValueError, match="samplers"):
        proc.sample(m, _cond(), sampler="rk45")


def test_tiny_model_overfits_a_handful_of_transitions():
    torch.manual_seed(0)
    from worldgen_core.world import WorldCore

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


def test_checkpoints_load_safely_and_fail_clearly(tmp_path):
    path = train(tiny_train_args(tmp_path, steps=1))
    torch.load(path, weights_only=True)  # no pickled code
    wm = load_world_model(path, device="cpu")
    out = wm.predict(np.zeros((2, 64, 64, 3), np.uint8), np.array([0, 3]), torch.Generator().manual_seed(0))
    assert out.shape == (2, 64, 64, 3) and out.dtype == np.uint8
    with pytest.raises(CheckpointError, match="does not exist"):
        load_world_model(tmp_path / "missing.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="corrupted"):
        load_world_model(bad)
    ck = load_checkpoint(path)
    ck["config"]["dim"] = 32
    save_checkpoint(tmp_path / "mismatch.pt", {k: v for k, v in ck.items() if k != "format"})
    with pytest.raises(CheckpointError, match="do not fit"):
        load_world_model(tmp_path / "mismatch.pt")
    with pytest.raises(SystemExit, match="another model"):
        train(tiny_train_args(tmp_path, steps=2, resume=True, preset="small"))


def test_atomic_save_leaves_no_partial_file(tmp_path, monkeypatch):
    target = tmp_path / "ck.pt"
    save_checkpoint(target, {"config": {}, "process": "flow", "sampling": {}, "model": {}})
    before = target.read_bytes()

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", boom)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(target, {"config": {}, "process": "flow", "sampling": {}, "model": {"x": torch.zeros(1)}})
    assert target.read_bytes() == before and list(tmp_path.iterdir()) == [target]


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


def test_export_slim_checkpoint(tmp_path):
    from world_models.export import export

    src = train(tiny_train_args(tmp_path, steps=1))
    dst = export(src, tmp_path / "slim.pt", steps=3, cfg_scale=1.0)
    assert dst.stat().st_size < src.stat().st_size
    wm = load_world_model(dst)
    assert (wm.steps, wm.cfg_scale) == (3, 1.0)
    with pytest.raises(ValueError, match="sampler must be one of"):
        export(src, tmp_path / "x.pt", sampler="ddim")


def test_model_benchmark_smoke():
    from world_models.benchmark import measure

    r = measure("tiny", bf16=True, steps=1, cfg=True, batch=4, seconds=0.05, repeats=1)
    assert r["train_samples_s"] > 0 and r["forwards_s"] > 0 and r["frames_s"] > 0


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
