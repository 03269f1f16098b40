"""Cues of realism: the fixed residuals a discriminator or a critic is shown, the colour error a loss weighs.

A map's fine texture (paper grain, fibres, film grain, sensor noise after demosaicing) changes the
brightness of a pixel and leaves its colour alone; a generator's errors are made per channel. On
the default map half of the one-step samples' squared error in the revealed strip is colour (the
channels' deviations from their mean), and in flat regions the chromaticity's high-pass residual
is 3-4x the real one: a critic shown that residual alone tells the samples apart 95% of the time
(``worldbench.c2st.explain``; docs/findings.md).

* :func:`high_pass`: the image minus its 3x3 blur, amplified (speckle, streaks, grain).
* :func:`chroma_residual`: the high-pass residual of ``rgb / mean(rgb)``, amplified (a discriminator input).
* :func:`colour_mse`: the MSE of the colour part of an error, ``e - mean_channels(e)`` (a loss term).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["high_pass", "chroma_residual", "colour_mse"]


def high_pass(x: torch.Tensor, gain: float = 8.0) -> torch.Tensor:
    """``gain * (x - box3(x))``, the image minus its 3x3 box blur (replicate padding), amplified:
    the fixed first layer of image forensics' noise detectors (and of ``worldbench.c2st``'s critic).
    Fed to a spectrally normalised discriminator beside the image, it makes the 1-Lipschitz net
    ``gain`` times as sensitive to speckle, streaks and grain as to layout. (B, C, H, W) -> same."""
    return gain * (x - F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), 3, stride=1))


def chroma_residual(x: torch.Tensor, gain: float = 32.0) -> torch.Tensor:
    """``gain *`` the chromaticity ``x / mean_channels(x)`` minus its 3x3 box blur (``x`` in [-1, 1],
    taken to [0, 1]; the mean clamped at 1/64 so ink-black pixels stay finite). (B, C, H, W) -> same.

    Brightness grain leaves it at zero; the one-step samples' per-channel errors, about 1.5/255, are
    too faint for a 1-Lipschitz discriminator on RGB and its high-pass and large here."""
    p = (x.float() + 1) / 2
    return high_pass(p / p.mean(1, keepdim=True).clamp_min(1 / 64), gain)


def colour_mse(x1_hat: torch.Tensor, x_1: torch.Tensor) -> torch.Tensor:
    """Mean squared colour error: ``e = x1_hat - x_1`` (B, C, H, W) without its per-pixel channel
    mean (the brightness error), i.e. the error projected off the grey axis. () float32."""
    e = x1_hat.float() - x_1.float()
    return F.mse_loss(e - e.mean(1, keepdim=True), torch.zeros_like(e))
