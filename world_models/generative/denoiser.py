"""A model seen by a solver: ``denoiser(x_t, t, cond) -> the path's target``, with guidance.

Like k-diffusion's ``Denoiser`` wrappers, :class:`Denoiser` is built once (at load time or when
sampling starts) and hides two things from every solver: the model's parameterisation (a model
that predicts the clean view, ``config.prediction == "x1"``, is converted to the path's target)
and classifier-free guidance (conditional and unconditional halves in ONE batched forward).
"""

from __future__ import annotations

from typing import Callable

import torch

from world_models.generative.paths import GaussianPath

__all__ = ["Denoiser", "cfg_predict", "model_config", "model_out"]


def model_config(model):
    return getattr(model, "module", model).config  # DDP / AveragedModel wrappers


def model_out(model, x_t: torch.Tensor, t: torch.Tensor, cond: dict | None, drop: torch.Tensor | None = None, **kw):
    """``model(x_t, t, view=, action=, drop=[, place=])`` with ``cond`` = ``{"view": (B, C, H, W), "action": (B,)}``
    (and ``"place"`` (B, 2) for a model with a place field) or None."""
    cond = cond or {}
    if cond.get("place") is not None:
        kw["place"] = cond["place"]
    return model(x_t, t, view=cond.get("view"), action=cond.get("action"), drop=drop, **kw)


def cfg_predict(native_fn: Callable, model, x_t: torch.Tensor, t: torch.Tensor, cond: dict, w: float) -> torch.Tensor:
    """``pred_uncond + w * (pred_cond - pred_uncond)`` from ONE forward of a doubled batch.

    ``native_fn(out, x_t, t)`` maps raw model outputs to the quantity being guided. The first half
    of the batch is conditional, the second half has its condition dropped (null action, null view).
    """
    B = x_t.shape[0]
    x2, t2 = torch.cat([x_t, x_t]), torch.cat([t, t])  # (2B, C, H, W), (2B,)
    cond2 = {k: torch.cat([v, v]) for k, v in cond.items()}
    drop = torch.cat(
        [torch.zeros(B, dtype=torch.bool, device=x_t.device), torch.ones(B, dtype=torch.bool, device=x_t.device)]
    )
    pred = native_fn(model_out(model, x2, t2, cond2, drop), x2, t2)
    p_cond, p_uncond = pred.chunk(2)
    return p_uncond + w * (p_cond - p_uncond)


class Denoiser:
    """``model`` on ``path``, guided with weight ``cfg_scale`` (1: off).

    ``denoiser(x_t, t, cond)`` -> the path's target (B, C, H, W); :meth:`x1` -> the clean view.
    """

    def __init__(self, model, path: GaussianPath, cfg_scale: float = 1.0):
        self.model, self.path, self.cfg_scale = model, path, float(cfg_scale)
        self.x1_prediction = model_config(model).prediction == "x1"

    def native(self, out: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Raw model output -> the path's target."""
        return self.path.target_from_x1(out, x_t, t) if self.x1_prediction else out

    def __call__(self, x_t: torch.Tensor, t: torch.Tensor, cond: dict | None) -> torch.Tensor:
        if cond is None or self.cfg_scale == 1.0:
            return self.native(model_out(self.model, x_t, t, cond), x_t, t)
        return cfg_predict(self.native, self.model, x_t, t, cond, self.cfg_scale)

    def x1(self, x_t: torch.Tensor, t: torch.Tensor, cond: dict | None) -> torch.Tensor:
        return self.path.x1_from_target(self(x_t, t, cond), x_t, t)
