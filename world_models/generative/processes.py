"""Generative processes: a path, its training loss and its samplers, behind one interface.

A :class:`Process` is a probability path (:mod:`world_models.generative.paths`: the schedule and the target
conversions) with the solvers that fit it (:mod:`world_models.generative.solvers`)::

    process.loss(model, x_1, cond, drop)            # training: MSE to the path's target (+ the model's aux loss)
    process.sample(model, cond, sampler=, steps=, cfg_scale=, generator=)   # x_1 (B, C, H, W) in [-1, 1]

* :class:`FlowMatching`: :class:`~world_models.generative.paths.LinearPath`, samplers ``euler``, ``heun``.
* :class:`DDPM`: :class:`~world_models.generative.paths.CosinePath` (T = 400), samplers ``ddim``, ``ddpm``.

Sampling wraps the model in a :class:`~world_models.generative.denoiser.Denoiser` (clean-view prediction
converted to the path's target, classifier-free guidance in one batched forward) and hands it to
a solver function; the trainer, guidance and solvers never know which parameterisation a model has.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from world_models.generative.denoiser import Denoiser, cfg_predict, model_config, model_out
from world_models.generative.paths import CosinePath, GaussianPath, LinearPath
from world_models.generative.solvers import SOLVERS

__all__ = ["Process", "DDPM", "FlowMatching", "make_process", "cfg_predict"]


class Process:
    """A path and the names of the solvers that sample it."""

    def __init__(
        self, name: str, path: GaussianPath, samplers: tuple[str, ...], default_sampler: str, default_steps: int
    ):
        self.name, self.path, self.samplers = name, path, samplers
        self.default_sampler, self.default_steps = default_sampler, default_steps

    def sample_t(self, n: int, device, generator=None) -> torch.Tensor:
        """Training times (n,)."""
        return self.path.sample_t(n, device, generator)

    def loss(
        self,
        model,
        x_1: torch.Tensor,
        cond: dict | None = None,
        drop: torch.Tensor | None = None,
        generator=None,
        t: torch.Tensor | None = None,
        return_x1: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
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
        x_t = self.path.x_t(x_0, x_1, t)
        out, aux = model_out(model, x_t, t, cond, drop, aux_target=x_1)  # aux: the model's own auxiliary loss
        pred = Denoiser(model, self.path).native(out, x_t, t)
        loss = F.mse_loss(pred.float(), self.path.target(x_0, x_1).float()) + aux
        return (loss, self.path.x1_from_target(pred, x_t, t)) if return_x1 else loss

    @torch.no_grad()
    def sample(
        self,
        model,
        cond: dict | None = None,
        *,
        n: int | None = None,
        sampler: str | None = None,
        steps: int | None = None,
        cfg_scale: float = 1.0,
        generator: torch.Generator | None = None,
        trajectory: list | None = None,
    ) -> torch.Tensor:
        """Generate x_1 (B, C, H, W) in [-1, 1].

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
        x_0 = torch.randn(
            (n, c.channels, c.img_size, c.img_size),
            generator=generator,
            device=generator.device if generator is not None else device,
        ).to(device)
        callback = None if trajectory is None else (lambda s: trajectory.append(s["x1"]))
        x_1 = SOLVERS[sampler](
            Denoiser(model, self.path, cfg_scale), x_0, cond, steps, generator=generator, callback=callback
        )
        return x_1.clamp(-1, 1)


class FlowMatching(Process):
    """The linear path x_t = (1 - t) x_0 + t x_1 (velocity target); Euler and Heun ODE solvers.
    ``t_sampling``, ``mu``, ``sigma``: training times (see :class:`~world_models.generative.paths.LinearPath`)."""

    def __init__(self, t_sampling: str = "uniform", mu: float = -0.8, sigma: float = 0.8):
        super().__init__("flow", LinearPath(t_sampling, mu, sigma), ("euler", "heun"), "euler", 10)


class DDPM(Process):
    """The cosine schedule with T discrete steps (noise target); samplers ``ddpm`` (ancestral,
    eta = 1) and ``ddim`` (deterministic, eta = 0), both on any evenly spaced subsequence."""

    def __init__(self, T: int = 400, s: float = 0.008):
        super().__init__("ddpm", CosinePath(T, s), ("ddpm", "ddim"), "ddim", 50)


def make_process(name: str, **kw) -> Process:
    """``"flow"`` or ``"ddpm"``."""
    if name == "flow":
        return FlowMatching(**kw)
    if name == "ddpm":
        return DDPM(**kw)
    raise ValueError(f"process must be 'flow' or 'ddpm', got {name!r}")
