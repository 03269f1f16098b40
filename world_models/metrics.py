"""Image-quality metrics on uint8 images."""

from __future__ import annotations

import numpy as np

__all__ = ["psnr", "gradient_energy", "contrast", "ratio"]


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


def gradient_energy(x: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean absolute difference between neighbouring pixels (horizontal and vertical pairs) of a
    set of uint8 (B, H, W, C) images, over pairs inside ``mask`` (H, W) only: a sharpness statistic.

    Blur lowers it, high-frequency noise raises it. Reported as a ratio to the true images' value
    (1 = as sharp as the truth), it shows what random-network KID cannot see (noise).

    >>> x = np.zeros((1, 2, 2, 1), np.uint8); x[0, 0, 0] = 8
    >>> gradient_energy(x)
    4.0
    """
    assert x.ndim == 4, f"gradient_energy needs (B, H, W, C) images, got {x.shape}"
    x = x.astype(np.float32)
    dx, dy = np.abs(np.diff(x, axis=2)), np.abs(np.diff(x, axis=1))  # (B, H, W-1, C), (B, H-1, W, C)
    if mask is not None:
        dx, dy = dx[:, mask[:, 1:] & mask[:, :-1]], dy[:, mask[1:] & mask[:-1]]
    return float((dx.mean() + dy.mean()) / 2)


def contrast(x: np.ndarray) -> float:
    """Mean over a set of uint8 (B, H, W, C) images of each image's pixel standard deviation.

    As a ratio to the true images' value it measures fading (below 1) over a dreamed rollout.
    """
    assert x.ndim == 4, f"contrast needs (B, H, W, C) images, got {x.shape}"
    return float(x.reshape(len(x), -1).astype(np.float32).std(1).mean())


def ratio(value: float, truth: float) -> float:
    """``value / truth`` for the statistics above (1 = as the truth). A flat truth (0: a single-colour
    map) gives 1 when the value is flat too, else ``inf``, instead of dividing by zero.

    >>> ratio(2.0, 4.0), ratio(0.0, 0.0), ratio(1.0, 0.0)
    (0.5, 1.0, inf)
    """
    if truth == 0:
        return 1.0 if value == 0 else float("inf")
    return float(value / truth)
