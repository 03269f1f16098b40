"""Image-quality metrics on uint8 or [-1, 1] images."""

from __future__ import annotations

import numpy as np

__all__ = ["psnr"]


def psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean PSNR (dB) over a batch of uint8 (B, H, W, C) images, optionally over ``mask`` (H, W) only.

    >>> x = np.zeros((2, 4, 4, 3), np.uint8)
    >>> round(psnr(x, x + 1), 2)
    48.13
    """
    a, b = a.astype(np.float64), b.astype(np.float64)
    se = (a - b) ** 2
    if mask is not None:
        se = se[:, mask]  # (B, n_pixels, C)
    mse = se.reshape(len(a), -1).mean(1)
    return float(np.mean(10 * np.log10(255.0**2 / np.maximum(mse, 1e-10))))
