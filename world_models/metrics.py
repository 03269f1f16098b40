"""Image-quality metrics on uint8 images."""

from __future__ import annotations

import numpy as np

__all__ = ["psnr", "gradient_energy", "contrast", "streaks", "ratio"]


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


def streaks(x: np.ndarray, along_columns: np.ndarray, part: str = "chroma") -> float:
    """Stripes of a set of uint8 (B, H, W, 3) images, each along one axis: the RMS of the image's
    column means (``along_columns[i]``: vertical stripes) or row means (horizontal stripes), after
    the image's mean and, along the profile, a 3-tap local mean are taken away (slow gradients are
    not stripes). ``part``: ``"chroma"`` (each pixel minus its grey, the mean of its channels) or
    ``"luma"`` (the grey).

    A dream that stretches the edge of its view into each revealed strip (the ``shift`` baseline's
    defect, or a model that leans on it) streaks along its motion, and the streaks lengthen with
    every move in the same direction. As a ratio to the true frames' value (1 = the map's own
    stripes) it measures that defect (``worldbench``: straight walks).

    >>> x = np.zeros((1, 4, 4, 3), np.uint8); x[0, :, 1, 0] = 30  # a red vertical line
    >>> streaks(x, np.array([True])) > 0, streaks(x, np.array([False]))
    (True, 0.0)
    """
    assert x.ndim == 4 and x.shape[-1] == 3, f"streaks needs (B, H, W, 3) images, got {x.shape}"
    along_columns = np.asarray(along_columns, bool)
    assert along_columns.shape == (len(x),), f"along_columns must be ({len(x)},), got {along_columns.shape}"
    if part not in ("chroma", "luma"):
        raise ValueError(f"part must be 'chroma' or 'luma', got {part!r}")
    x = x.astype(np.float64)
    grey = x.mean(-1, keepdims=True)  # (B, H, W, 1)
    v = x - grey if part == "chroma" else grey
    v = v - v.mean((1, 2), keepdims=True)
    prof = np.where(along_columns[:, None, None], v.mean(1), v.mean(2))  # (B, W or H, C): the stripes' profile
    hp = prof[:, 1:-1] - 0.5 * (prof[:, :-2] + prof[:, 2:])
    return float(np.sqrt((hp**2).mean()))


def ratio(value: float, truth: float) -> float:
    """``value / truth`` for the statistics above (1 = as the truth). A flat truth (0: a single-colour
    map) gives 1 when the value is flat too, else ``inf``, instead of dividing by zero.

    >>> ratio(2.0, 4.0), ratio(0.0, 0.0), ratio(1.0, 0.0)
    (0.5, 1.0, inf)
    """
    if truth == 0:
        return 1.0 if value == 0 else float("inf")
    return float(value / truth)
