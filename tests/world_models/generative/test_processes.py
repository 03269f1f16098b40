"""world_models.generative.paths, solvers, denoiser and processes: schedules, samplers, guidance."""

import pytest
import torch
from helpers import random_cond

from world_models import DDPM, FlowMatching, build_model, preset
from world_models.generative.denoiser import Denoiser, cfg_predict
from world_models.generative.solvers import SOLVERS
from world_models.model.dit import ModelConfig


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
    x, t, cond = torch.randn(3, 3, 64, 64), torch.rand(3), random_cond()
    native = Denoiser(m, fm.path).native
    cond_pred = Denoiser(m, fm.path, cfg_scale=1.0)(x, t, cond)
    assert torch.allclose(Denoiser(m, fm.path, cfg_scale=3.0)(x, t, cond), cfg_predict(native, m, x, t, cond, 3.0))
    assert torch.allclose(cfg_predict(native, m, x, t, cond, 1.0), cond_pred, atol=1e-5)
    unc = native(m(x, t, drop=torch.ones(3, dtype=torch.bool), **cond), x, t)
    assert torch.allclose(cfg_predict(native, m, x, t, cond, 3.0), unc + 3.0 * (cond_pred - unc), atol=1e-4)


@pytest.mark.parametrize(
    "proc,sampler", [(FlowMatching(), "euler"), (FlowMatching(), "heun"), (DDPM(), "ddim"), (DDPM(), "ddpm")]
)
def test_samplers_share_one_signature_and_are_seeded(proc, sampler):
    m = build_model(preset("tiny")).eval()
    a = proc.sample(
        m, random_cond(), sampler=sampler, steps=4, cfg_scale=2.0, generator=torch.Generator().manual_seed(1)
    )
    b = proc.sample(
        m, random_cond(), sampler=sampler, steps=4, cfg_scale=2.0, generator=torch.Generator().manual_seed(1)
    )
    traj = []
    proc.sample(m, random_cond(), sampler=sampler, steps=4, generator=torch.Generator().manual_seed(1), trajectory=traj)
    assert a.shape == (3, 3, 64, 64) and torch.equal(a, b) and len(traj) == 4
    with pytest.raises(ValueError, match="samplers"):
        proc.sample(m, random_cond(), sampler="rk45")
