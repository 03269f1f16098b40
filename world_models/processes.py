"""Generative processes behind one interface: DDPM and flow matching.

Both are Gaussian paths between noise ``x_0 ~ N(0, I)`` and data ``x_1``::

    x_t = alpha(t) * x_1 + sigma(t) * x_0          t in [0, 1], t = 1 is data

* :class:`FlowMatching`: the linear path ``alpha = t, sigma = 1 - t``; target: the velocity
  ``v = x_1 - x_0``; samplers ``euler`` and ``heun`` integrate the ODE from t = 0 to 1.
* :class:`DDPM`: the cosine schedule with ``T = 400`` discrete noising steps ``i``, at time
  ``t = 1 - i / T`` (so ``t = 1`` is clean data, as for flow matching); target: the noise
  ``epsilon = x_0``; samplers ``ddpm`` (ancestral) and ``ddim``, with any number of steps.

One training loss (``process.loss``), one prediction function with classifier-free guidance in
ONE batched forward (``process.predict``) and one sampler signature (``process.sample``) serve
both. A model that predicts the clean view (``config.prediction == "x1"``) is converted to the
process's target through the path, so trainer, CFG and samplers never know which they hold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

__all__ = ["Process", "DDPM", "FlowMatching", "make_process", "cfg_predict"]

#: Lower bound on sigma when a clean-view prediction is converted to noise or velocity.
SIGMA_MIN = 0.05


def _bcast(v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return v.view(-1, *([1] * (x.dim() - 1))).to(x.dtype)


def _model_out(model, x_t, t, cond, drop=None, **kw):
    cond = cond or {}
    return model(x_t, t, view=cond.get("view"), action=cond.get("action"), drop=drop, **kw)


def cfg_predict(native_fn, model, x_t: torch.Tensor, t: torch.Tensor, cond: dict, w: float) -> torch.Tensor:
    """``pred_uncond + w * (pred_cond - pred_uncond)`` from ONE forward of a doubled batch.

    ``native_fn(out, x_t, t)`` maps raw model outputs to the quantity being guided. The first half
    of the batch is conditional, the second half has its condition dropped (null action, null view).
    """
    B = x_t.shape[0]
    x2, t2 = torch.cat([x_t, x_t]), torch.cat([t, t])
    cond2 = {k: torch.cat([v, v]) for k, v in cond.items()}
    drop = torch.cat([torch.zeros(B, dtype=torch.bool, device=x_t.device), torch.ones(B, dtype=torch.bool, device=x_t.device)])
    pred = native_fn(_model_out(model, x2, t2, cond2, drop), x2, t2)
    p_cond, p_uncond = pred.chunk(2)
    return p_uncond + w * (p_cond - p_uncond)


@dataclass
class Process:
    """Shared machinery; subclasses define the path, the target and the samplers."""

    name: str = "process"
    samplers: tuple[str, ...] = ()
    default_sampler: str = ""
    default_steps: int = 10

    # -- the path ---------------------------------------------------------------------------------
    def alpha_sigma(self, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def sample_t(self, n: int, device, generator=None) -> torch.Tensor:
        raise NotImplementedError

    def target(self, x_0: torch.Tensor, x_1: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def target_from_x1(self, x1_hat: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    # -- shared -------------------------------------------------------------------------------
    def native(self, model, out: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Model output -> this process's target (noise or velocity)."""
        if model_prediction(model) == "x1":
            return self.target_from_x1(out, x_t, t)
        return out

    def loss(self, model, x_1: torch.Tensor, cond: dict | None = None, drop: torch.Tensor | None = None, generator=None,
             t: torch.Tensor | None = None, return_x1: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """MSE between the (converted) prediction and the target at random t and noise, plus the
        model's auxiliary loss (WorldDiT's copy filter; zero for others).

        ``x_1`` (B, C, H, W) in [-1, 1]; ``cond`` holds ``view`` (B, C, H, W) and ``action`` (B,);
        ``drop`` (B,) bool drops the condition of those samples (classifier-free guidance).
        ``t`` (B,): training times (default: ``sample_t``). ``return_x1``: also return the
        prediction as a clean view (B, C, H, W), differentiable (adversarial fine-tuning).
        """
        B = x_1.shape[0]
        t = self.sample_t(B, x_1.device, generator) if t is None else t  # (B,)
        assert t.shape == (B,), f"t must be ({B},), got {tuple(t.shape)}"
        x_0 = torch.randn(x_1.shape, device=x_1.device, generator=generator, dtype=x_1.dtype)
        a, s = self.alpha_sigma(t)
        x_t = _bcast(a, x_1) * x_1 + _bcast(s, x_1) * x_0
        out, aux = _model_out(model, x_t, t, cond, drop, aux_target=x_1)  # aux: the model's own auxiliary loss
        pred = self.native(model, out, x_t, t)
        loss = F.mse_loss(pred.float(), self.target(x_0, x_1).float()) + aux
        return (loss, self.x1_from_target(pred, x_t, t)) if return_x1 else loss

    def predict(self, model, x_t: torch.Tensor, t: torch.Tensor, cond: dict | None, cfg_scale: float = 1.0) -> torch.Tensor:
        """The (guided) target prediction at (x_t, t): (B, C, H, W)."""
        if cond is None or cfg_scale == 1.0:
            return self.native(model, _model_out(model, x_t, t, cond), x_t, t)
        return cfg_predict(lambda o, x, tt: self.native(model, o, x, tt), model, x_t, t, cond, cfg_scale)

    def x1_from_target(self, pred: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    @torch.no_grad()
    def sample(self, model, cond: dict | None = None, *, n: int | None = None, sampler: str | None = None, steps: int | None = None,
               cfg_scale: float = 1.0, generator: torch.Generator | None = None, trajectory: list | None = None) -> torch.Tensor:
        """Generate x_1 (B, C, H, W) in [-1, 1]. The one sampler signature of every process.

        ``cond``: ``{"view": (B, C, H, W), "action": (B,)}`` or None (unconditional; give ``n``).
        ``sampler``/``steps``: a name from ``self.samplers`` and the number of steps (defaults:
        ``self.default_sampler``/``self.default_steps``). ``cfg_scale``: guidance weight w (1: off).
        ``generator`` seeds the noise. ``trajectory``: if a list, the predicted clean view after
        each step is appended to it (for figures of the sampling process).
        """
        sampler = sampler or self.default_sampler
        steps = int(steps or self.default_steps)
        if sampler not in self.samplers:
            raise ValueError(f"{self.name} has samplers {self.samplers}, got {sampler!r}")
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        c = model_config(model)
        if cond is not None:
            n = cond["action"].shape[0]
        if n is None:
            raise ValueError("give cond= (conditional model) or n= (unconditional)")
        device = next(model.parameters()).device
        x = torch.randn((n, c.channels, c.img_size, c.img_size), generator=generator,
                        device=generator.device if generator is not None else device).to(device)
        return self._solve(model, x, cond, sampler, steps, cfg_scale, trajectory, generator).clamp(-1, 1)

    def _solve(self, model, x, cond, sampler, steps, cfg_scale, trajectory, generator):
        raise NotImplementedError


def model_config(model):
    m = getattr(model, "module", model)  # DDP / AveragedModel wrappers
    return m.config


def model_prediction(model) -> str:
    return model_config(model).prediction


class FlowMatching(Process):
    """Linear path x_t = (1 - t) x_0 + t x_1, velocity target x_1 - x_0; Euler and Heun ODE solvers.

    ``t_sampling``: training times ``"uniform"`` on [0, 1], or ``"logit_normal"`` (t = sigmoid(n),
    n ~ N(mu, sigma), as in SD3 and JiT), which spends fewer samples near t = 1 where a clean-view
    predictor's velocity loss is weighted by 1 / (1 - t)^2 and the task is nearly trivial.
    """

    def __init__(self, t_sampling: str = "uniform", mu: float = -0.8, sigma: float = 0.8):
        super().__init__(name="flow", samplers=("euler", "heun"), default_sampler="euler", default_steps=10)
        if t_sampling not in ("uniform", "logit_normal"):
            raise ValueError(f"t_sampling must be 'uniform' or 'logit_normal', got {t_sampling!r}")
        self.t_sampling, self.mu, self.sigma = t_sampling, mu, sigma

    def alpha_sigma(self, t):
        return t, 1 - t

    def sample_t(self, n, device, generator=None):
        if self.t_sampling == "logit_normal":
            return torch.sigmoid(self.mu + self.sigma * torch.randn(n, device=device, generator=generator))
        return torch.rand(n, device=device, generator=generator)

    def target(self, x_0, x_1):
        return x_1 - x_0

    def target_from_x1(self, x1_hat, x_t, t):
        return (x1_hat - x_t) / _bcast((1 - t).clamp_min(SIGMA_MIN), x_t)

    def x1_from_target(self, v, x_t, t):
        return x_t + _bcast(1 - t, x_t) * v

    def _solve(self, model, x, cond, sampler, steps, cfg_scale, trajectory, generator):
        ts = torch.linspace(0, 1, steps + 1, device=x.device)
        B = x.shape[0]
        for i in range(steps):
            t0, t1 = ts[i], ts[i + 1]
            v = self.predict(model, x, t0.expand(B), cond, cfg_scale)
            if sampler == "heun" and i < steps - 1:  # Heun's 2nd order; the last step is Euler
                x_e = x + (t1 - t0) * v
                v = 0.5 * (v + self.predict(model, x_e, t1.expand(B), cond, cfg_scale))
            if trajectory is not None:
                trajectory.append(self.x1_from_target(v, x, t0.expand(B)).clamp(-1, 1))
            x = x + (t1 - t0) * v
        return x


class DDPM(Process):
    """Cosine schedule (Nichol & Dhariwal 2021) with T discrete steps, epsilon target.

    Time convention shared with flow matching: ``t = 1 - i / T`` where ``i`` in 1..T is the
    number of noising steps, so ``alpha(t) = sqrt(abar_i)``, ``sigma(t) = sqrt(1 - abar_i)``.
    Samplers: ``ddpm`` (ancestral, eta = 1) and ``ddim`` (deterministic, eta = 0), both on any
    evenly spaced subsequence of ``steps`` timesteps.
    """

    def __init__(self, T: int = 400, s: float = 0.008):
        super().__init__(name="ddpm", samplers=("ddpm", "ddim"), default_sampler="ddim", default_steps=50)
        self.T = T
        i = torch.arange(T + 1, dtype=torch.float64)
        f = torch.cos((i / T + s) / (1 + s) * math.pi / 2) ** 2
        abar = f / f[0]
        betas = (1 - abar[1:] / abar[:-1]).clamp(max=0.999)
        self.betas = betas  # (T,)
        self.abar = torch.cat([torch.ones(1, dtype=torch.float64), torch.cumprod(1 - betas, 0)])  # (T+1,), abar[0] = 1

    def _abar_at(self, t: torch.Tensor) -> torch.Tensor:
        i = ((1 - t.double()) * self.T).round().long().clamp(0, self.T)
        return self.abar.to(t.device)[i].float()

    def alpha_sigma(self, t):
        ab = self._abar_at(t)
        return ab.sqrt(), (1 - ab).sqrt()

    def sample_t(self, n, device, generator=None):
        i = torch.randint(1, self.T + 1, (n,), device=device, generator=generator)
        return 1 - i.float() / self.T

    def target(self, x_0, x_1):
        return x_0

    def target_from_x1(self, x1_hat, x_t, t):
        a, s = self.alpha_sigma(t)
        return (x_t - _bcast(a, x_t) * x1_hat) / _bcast(s.clamp_min(SIGMA_MIN), x_t)

    def x1_from_target(self, eps, x_t, t):
        a, s = self.alpha_sigma(t)
        return (x_t - _bcast(s, x_t) * eps) / _bcast(a, x_t)

    def timesteps(self, steps: int) -> list[int]:
        """Evenly spaced noising-step indices from T down to 1 (at most T of them)."""
        steps = min(steps, self.T)
        return sorted({int(round(v)) for v in torch.linspace(self.T, 1, steps).tolist()}, reverse=True)

    def _solve(self, model, x, cond, sampler, steps, cfg_scale, trajectory, generator):
        eta = 1.0 if sampler == "ddpm" else 0.0
        seq = self.timesteps(steps)
        B = x.shape[0]
        abar = self.abar.to(x.device)
        for k, i in enumerate(seq):
            i_prev = seq[k + 1] if k + 1 < len(seq) else 0
            t = torch.full((B,), 1 - i / self.T, device=x.device)
            ab, ab_prev = abar[i].float(), abar[i_prev].float()
            eps = self.predict(model, x, t, cond, cfg_scale)
            x1 = ((x - (1 - ab).sqrt() * eps) / ab.sqrt()).clamp(-1, 1)
            eps = (x - ab.sqrt() * x1) / (1 - ab).sqrt()  # consistent with the clipped x1
            if trajectory is not None:
                trajectory.append(x1)
            sig = eta * ((1 - ab_prev) / (1 - ab) * (1 - ab / ab_prev)).clamp_min(0).sqrt()
            x = ab_prev.sqrt() * x1 + (1 - ab_prev - sig**2).clamp_min(0).sqrt() * eps
            if eta > 0 and i_prev > 0:
                z = torch.randn(x.shape, generator=generator, device=generator.device if generator is not None else x.device)
                x = x + sig * z.to(x.device, x.dtype)
        return x


def make_process(name: str, **kw) -> Process:
    """``"flow"`` or ``"ddpm"``."""
    if name == "flow":
        return FlowMatching(**kw)
    if name == "ddpm":
        return DDPM(**kw)
    raise ValueError(f"process must be 'flow' or 'ddpm', got {name!r}")
