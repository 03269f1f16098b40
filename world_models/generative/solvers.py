"""Samplers: functions of ONE signature, as in k-diffusion (``sample_euler``, ``sample_heun``)::

    x_1 = solver(denoiser, x_0, cond, steps, generator=None, callback=None)

``denoiser`` is a :class:`~world_models.generative.denoiser.Denoiser` (its ``path`` gives the schedule),
``x_0`` the starting noise (B, C, H, W), ``cond`` ``{"view", "action"}`` or None, ``steps`` the
number of solver steps; ``generator`` seeds the noise a stochastic solver adds; ``callback``, if
given, receives ``{"i", "t", "x", "x1"}`` after each step (``x1``: the clean view predicted at that
step, for figures of the sampling process). :data:`SOLVERS` maps a sampler name to its function.
"""

from __future__ import annotations

from typing import Callable

import torch

from world_models.generative.denoiser import Denoiser
from world_models.generative.paths import CosinePath

__all__ = ["sample_euler", "sample_heun", "sample_ddim", "sample_ddpm", "SOLVERS"]

Callback = Callable[[dict], None] | None


def _ode(denoiser: Denoiser, x: torch.Tensor, cond, steps: int, heun: bool, callback: Callback) -> torch.Tensor:
    """Integrate the flow ODE dx/dt = v(x, t) from t = 0 to 1 in ``steps`` equal steps."""
    ts = torch.linspace(0, 1, steps + 1, device=x.device)
    B = x.shape[0]
    for i in range(steps):
        t0, t1 = ts[i], ts[i + 1]
        v = denoiser(x, t0.expand(B), cond)  # (B, C, H, W)
        if heun and i < steps - 1:  # Heun's 2nd order; the last step is Euler
            x_e = x + (t1 - t0) * v
            v = 0.5 * (v + denoiser(x_e, t1.expand(B), cond))
        if callback is not None:
            callback({"i": i, "t": t0, "x": x, "x1": denoiser.path.x1_from_target(v, x, t0.expand(B)).clamp(-1, 1)})
        x = x + (t1 - t0) * v
    return x


def sample_euler(
    denoiser: Denoiser, x: torch.Tensor, cond, steps: int, generator=None, callback: Callback = None
) -> torch.Tensor:
    """Euler steps of the flow ODE (deterministic: ``generator`` is unused)."""
    return _ode(denoiser, x, cond, steps, False, callback)


def sample_heun(
    denoiser: Denoiser, x: torch.Tensor, cond, steps: int, generator=None, callback: Callback = None
) -> torch.Tensor:
    """Heun (2nd order) steps of the flow ODE; the last step is Euler."""
    return _ode(denoiser, x, cond, steps, True, callback)


def _diffusion(
    denoiser: Denoiser, x: torch.Tensor, cond, steps: int, eta: float, generator, callback: Callback
) -> torch.Tensor:
    """DDIM (``eta = 0``) or ancestral DDPM (``eta = 1``) on an evenly spaced subsequence of the schedule."""
    path = denoiser.path
    if not isinstance(path, CosinePath):
        raise ValueError(
            f"ddim/ddpm sampling needs a discrete diffusion schedule (CosinePath), got {type(path).__name__}"
        )
    seq = path.timesteps(steps)
    B = x.shape[0]
    abar = path.abar.to(x.device)
    for k, i in enumerate(seq):
        i_prev = seq[k + 1] if k + 1 < len(seq) else 0
        t = torch.full((B,), 1 - i / path.T, device=x.device)
        ab, ab_prev = abar[i].float(), abar[i_prev].float()
        eps = denoiser(x, t, cond)
        x1 = ((x - (1 - ab).sqrt() * eps) / ab.sqrt()).clamp(-1, 1)
        eps = (x - ab.sqrt() * x1) / (1 - ab).sqrt()  # consistent with the clipped x1
        if callback is not None:
            callback({"i": k, "t": t, "x": x, "x1": x1})
        sig = eta * ((1 - ab_prev) / (1 - ab) * (1 - ab / ab_prev)).clamp_min(0).sqrt()
        x = ab_prev.sqrt() * x1 + (1 - ab_prev - sig**2).clamp_min(0).sqrt() * eps
        if eta > 0 and i_prev > 0:
            z = torch.randn(
                x.shape, generator=generator, device=generator.device if generator is not None else x.device
            )
            x = x + sig * z.to(x.device, x.dtype)
    return x


def sample_ddim(
    denoiser: Denoiser, x: torch.Tensor, cond, steps: int, generator=None, callback: Callback = None
) -> torch.Tensor:
    """Deterministic DDIM (eta = 0)."""
    return _diffusion(denoiser, x, cond, steps, 0.0, generator, callback)


def sample_ddpm(
    denoiser: Denoiser, x: torch.Tensor, cond, steps: int, generator=None, callback: Callback = None
) -> torch.Tensor:
    """Ancestral DDPM (eta = 1): fresh noise from ``generator`` at every step but the last."""
    return _diffusion(denoiser, x, cond, steps, 1.0, generator, callback)


#: sampler name -> solver function
SOLVERS: dict[str, Callable[..., torch.Tensor]] = {
    "euler": sample_euler,
    "heun": sample_heun,
    "ddim": sample_ddim,
    "ddpm": sample_ddpm,
}
