"""Image-quality metrics on uint8 images."""

from __future__ import annotations

import numpy as np

__all__ = ["psnr"]


def psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    """PSNR (dB) of a set of uint8 (B, H, W, C) images, optionally over ``mask`` (H, W) only.

    Computed from the mean squared error over the whole set (pixels of all images pooled), so a
    few exact matches (infinite per-image PSNR) cannot dominate the figure. Exact equality of the
    whole set gives 100 dB.

    >>> x = np.zeros((2, 4, 4, 3), np.uint8)
    >>> round(psnr(x, x + 1), 2)
    48.13
    """
    assert a.shape == b.shape, f"psnr needs equal shapes, got {a.shape} and {b.shape}"
    se = (a.astype(np.float64) - b.astype(np.float64)) ** 2
    if mask is not None:
        se = se[:, mask]  # (B, n_pixels, C)
    mse = float(se.mean())
    return 100.0 if mse == 0 else float(10 * np.log10(255.0**2 / mse))
