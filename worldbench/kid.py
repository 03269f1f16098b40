"""KID with random-network features (``KID-rand``): the kernel inception distance of two image sets, with
features from a fixed-seed randomly initialised CNN instead of Inception-v3 (random-network embeddings,
Naeem et al. 2020). Not comparable with Inception KID. It sees blur and lost contrast, not
low-amplitude noise or streaks (``python -m worldbench --calibrate`` shows what C2ST sees instead).
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from torch import nn

__all__ = ["RandomFeatures", "kid"]


class RandomFeatures(nn.Module):
    """A fixed-seed randomly initialised CNN as a feature extractor. uint8 (B, 3, H, W) -> (B, 2048): the
    last 512-channel map average-pooled to 2x2, so that where an artefact sits (e.g. a smeared strip at
    one edge) stays visible in the features."""

    def __init__(self, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        chans = [3, 64, 128, 256, 512]
        self.convs = nn.ModuleList(nn.Conv2d(a, b, 3, stride=2, padding=1) for a, b in zip(chans, chans[1:]))
        for c in self.convs:
            nn.init.kaiming_normal_(c.weight, generator=g)
            nn.init.zeros_(c.bias)
        self.requires_grad_(False).eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.float() / 127.5 - 1
        for c in self.convs:
            h = torch.relu(c(h))
        return torch.nn.functional.adaptive_avg_pool2d(h, 2).flatten(1)


def kid(
    features: nn.Module, real: np.ndarray, fake: np.ndarray, subsets: int = 20, subset_size: int = 100, seed: int = 0
) -> tuple[float, float]:
    """KID mean and std over subsets (torchmetrics) of uint8 (B, H, W, 3) image sets.

    torchmetrics draws the subsets from torch's global generator: they are drawn here under
    ``seed`` (the global state is restored afterwards), so the same sets give the same numbers.
    """
    from torchmetrics.image.kid import KernelInceptionDistance

    with warnings.catch_warnings(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        warnings.simplefilter("ignore")
        m = KernelInceptionDistance(feature=features, subsets=subsets, subset_size=min(subset_size, len(real)))
        to_t = lambda x: torch.from_numpy(np.ascontiguousarray(x)).permute(0, 3, 1, 2)
        m.update(to_t(real), real=True)
        m.update(to_t(fake), real=False)
        mean, std = m.compute()
    return float(mean), float(std)
