"""Probability paths between noise and data: the schedule and the target conversions.

Both paths are Gaussian, between noise ``x_0 ~ N(0, I)`` and data ``x_1``::

    x_t = alpha(t) * x_1 + sigma(t) * x_0          t in [0, 1], t = 1 is data

* :class:`LinearPath` (flow matching): ``alpha = t, sigma = 1 - t``; the network's target is the
  velocity ``v = x_1 - x_0``.
* :class:`CosinePath` (DDPM): the cosine schedule of Nichol & Dhariwal (2021) with ``T``
  discrete noising steps ``i`` at time ``t = 1 - i / T`` (``t = 1`` is clean data, as for flow
  matching); the target is the noise ``epsilon = x_0``.

A path also converts between its target and a clean-view prediction ``x1_hat`` (a model with
``prediction="x1"`` is read through :meth:`GaussianPath.target_from_x1`), so trainer, guidance and
solvers never know which parameterisation a model has. Shapes: ``t`` (B,), images (B, C, H, W).
"""

from __future__ import annotations

import math

import torch

__all__ = ["GaussianPath", "LinearPath", "CosinePath", "SIGMA_MIN", "bcast"]

#: Lower bound on sigma when a clean-view prediction is converted to noise or velocity.
SIGMA_MIN = 0.05


def bcast(v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """(B,) -> (B, 1, 1, 1) in ``x``'s dtype."""
    return v.view(-1, *([1] * (x.dim() - 1))).to(x.dtype)


class GaussianPath:
    """``x_t = alpha(t) x_1 + sigma(t) x_0``: the schedule, training times and target conversions."""

    def alpha_sigma(self, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def sample_t(self, n: int, device, generator=None) -> torch.Tensor:
        """Training times (n,)."""
        raise NotImplementedError

    def target(self, x_0: torch.Tensor, x_1: torch.Tensor) -> torch.Tensor:
        """What the network regresses at ``x_t`` (velocity or noise)."""
        raise NotImplementedError

    def target_from_x1(self, x1_hat: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def x1_from_target(self, pred: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def x_t(self, x_0: torch.Tensor, x_1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """A point on the path at times ``t`` (B,)."""
        a, s = self.alpha_sigma(t)
        return bcast(a, x_1) * x_1 + bcast(s, x_1) * x_0


class LinearPath(GaussianPath):
    """``x_t = (1 - t) x_0 + t x_1``, velocity target ``x_1 - x_0``.

    ``t_sampling``: training times ``"uniform"`` on [0, 1], or ``"logit_normal"`` (t = sigmoid(n),
    n ~ N(mu, sigma), as in SD3 and JiT), which spends fewer samples near t = 1 where a clean-view
    predictor's velocity loss is weighted by 1 / (1 - t)^2 and the task is nearly trivial.

    >>> p = LinearPath()
    >>> x_0, x_1, t = torch.zeros(1, 1, 2, 2), torch.ones(1, 1, 2, 2), torch.tensor([0.25])
    >>> x_t = p.x_t(x_0, x_1, t)
    >>> float(x_t[0, 0, 0, 0]), float(p.x1_from_target(p.target(x_0, x_1), x_t, t)[0, 0, 0, 0])
    (0.25, 1.0)
    """

    def __init__(self, t_sampling: str = "uniform", mu: float = -0.8, sigma: float = 0.8):
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
        return (x1_hat - x_t) / bcast((1 - t).clamp_min(SIGMA_MIN), x_t)

    def x1_from_target(self, v, x_t, t):
        return x_t + bcast(1 - t, x_t) * v


class CosinePath(GaussianPath):
    """The cosine schedule with ``T`` discrete steps: ``alpha(t) = sqrt(abar_i)``,
    ``sigma(t) = sqrt(1 - abar_i)`` for ``i = round((1 - t) T)``; noise target.

    >>> p = CosinePath()
    >>> p.T, float(p.abar[0]), p.timesteps(4)
    (400, 1.0, [400, 267, 134, 1])
    """

    def __init__(self, T: int = 400, s: float = 0.008):
        self.T = T
        i = torch.arange(T + 1, dtype=torch.float64)
        f = torch.cos((i / T + s) / (1 + s) * math.pi / 2) ** 2
        abar = f / f[0]
        self.betas = (1 - abar[1:] / abar[:-1]).clamp(max=0.999)  # (T,)
        self.abar = torch.cat(
            [torch.ones(1, dtype=torch.float64), torch.cumprod(1 - self.betas, 0)]
        )  # (T+1,), abar[0] = 1

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
        return (x_t - bcast(a, x_t) * x1_hat) / bcast(s.clamp_min(SIGMA_MIN), x_t)

    def x1_from_target(self, eps, x_t, t):
        a, s = self.alpha_sigma(t)
        return (x_t - bcast(s, x_t) * eps) / bcast(a, x_t)

    def timesteps(self, steps: int) -> list[int]:
        """Evenly spaced noising-step indices from T down to 1 (at most T of them)."""
        steps = min(steps, self.T)
        return sorted({int(round(v)) for v in torch.linspace(self.T, 1, steps).tolist()}, reverse=True)
