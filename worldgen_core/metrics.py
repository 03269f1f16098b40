"""worldbench's pixel measures, on uint8 images: the one definition of each, kept in the core (numpy only)
so that training (``world_models.training``'s tensorboard evaluation) logs the same numbers as the benchmark.

* :func:`psnr`: dB from the mean squared error pooled over a set (optionally over a mask);
* :func:`revealed_masks` (:func:`worldgen_core.dynamics.revealed_masks`) and :func:`new_bands`: the strip a
  move reveals, and the band at that edge turned so the revealed edge is on top;
* :func:`masked_psnr`: PSNR over the revealed strips or the rest, pooled over the set (``psnr_new``, ``psnr_known``);
* :func:`gradient_energy` (sharpness), :func:`contrast`, :func:`streaks`, each reported as a :func:`ratio` to the
  truth's;
* :func:`one_step` and :func:`drift`: the benchmark's one-step and late-rollout measures by name;
* :func:`image_grid`: sets of images side by side, to look at what the measures say.

The measures that need torch and only the benchmark uses (KID with random features, C2ST, the calibration
corruptions) are in :mod:`worldbench`.
"""

from __future__ import annotations

import numpy as np

from .dynamics import DOWN, LEFT, RIGHT, UP, revealed_masks

__all__ = [
    "psnr",
    "revealed_masks",
    "new_bands",
    "masked_psnr",
    "gradient_energy",
    "contrast",
    "streaks",
    "ratio",
    "one_step",
    "drift",
    "image_grid",
]


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
    return _db(float(se.mean()))


def _db(mse: float) -> float:
    """PSNR in dB of a mean squared error of uint8 images; 100 dB for exact equality."""
    return 100.0 if mse == 0 else float(10 * np.log10(255.0**2 / mse))


def new_bands(images: np.ndarray, actions: np.ndarray, width: int = 16) -> np.ndarray:
    """The ``width``-px band at the edge each action reveals, turned so that edge is on top:
    (B, H, W, C) -> (B, width, W, C) (square views). Up reveals the top rows, down the bottom rows
    (flipped), left the first columns (transposed), right the last columns (transposed and flipped);
    the band holds the new strip and the context it must continue (the numpy twin of
    ``world_models.training.adversarial.revealed_band``, which turns torch batches the same way).

    >>> x = np.arange(16, dtype=np.uint8).reshape(1, 4, 4, 1)
    >>> new_bands(x, np.array([RIGHT]), 1)[0, 0, :, 0]  # the last column, top to bottom
    array([ 3,  7, 11, 15], dtype=uint8)
    """
    images, actions = np.asarray(images), np.asarray(actions)
    assert images.ndim == 4 and images.shape[1] == images.shape[2], (
        f"new_bands needs square (B, H, W, C) views, got {images.shape}"
    )
    assert actions.shape == (len(images),), f"actions must be ({len(images)},), got {actions.shape}"
    out = np.empty((len(images), width, *images.shape[2:]), images.dtype)
    xt = images.transpose(0, 2, 1, 3)
    for a, turned in ((UP, images), (DOWN, images[:, ::-1]), (LEFT, xt), (RIGHT, xt[:, ::-1])):
        idx = actions == a
        out[idx] = turned[idx, :width]
    return out


def masked_psnr(fake: np.ndarray, true: np.ndarray, actions: np.ndarray, new: bool, stride: int) -> float:
    """PSNR over the revealed strips (``new``: ``psnr_new``) or the rest (the known region: ``psnr_known``), from the
    squared error pooled over a set of one-step predictions (B, H, W, 3) whose actions are ``actions`` (B,).

    >>> t = np.zeros((2, 16, 16, 3), np.uint8); f = t.copy(); f[:, :2] = 1  # wrong by 1 in the strip UP reveals
    >>> a = np.array([UP, UP])
    >>> round(masked_psnr(f, t, a, True, 2), 2), masked_psnr(f, t, a, False, 2)
    (48.13, 100.0)
    """
    masks = revealed_masks(true.shape[1], stride)
    m = masks[actions] if new else ~masks[actions]  # (B, H, W)
    se = (fake.astype(np.float64) - true.astype(np.float64)) ** 2
    return _db(float(se[m].mean()))


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


def one_step(fake: np.ndarray, true: np.ndarray, actions: np.ndarray, stride: int) -> dict[str, float]:
    """The one-step measures of a set of predicted next views ``fake`` against the true ``true`` (B, H, W, 3) after
    ``actions`` (B,): ``psnr_known`` (the region both views show: to be copied), ``psnr_new`` (the revealed strips:
    to be invented, or known), ``sharpness_new`` (the gradient energy of the revealed strips over the truth's:
    1 = as sharp, below blurred, above noisier).

    >>> t = np.random.default_rng(0).integers(0, 256, (4, 16, 16, 3), dtype=np.uint8)
    >>> one_step(t, t, np.arange(4), 2)
    {'psnr_known': 100.0, 'psnr_new': 100.0, 'sharpness_new': 1.0}
    """
    real_b, fake_b = new_bands(true, actions, stride), new_bands(fake, actions, stride)
    return {
        "psnr_known": masked_psnr(fake, true, actions, False, stride),
        "psnr_new": masked_psnr(fake, true, actions, True, stride),
        "sharpness_new": ratio(gradient_energy(fake_b), gradient_energy(real_b)),
    }


def drift(fake: np.ndarray, true: np.ndarray) -> dict[str, float]:
    """What a dream loses late in a rollout that PSNR does not name, for a set of dreamed frames ``fake`` and the true
    ones ``true`` (B, H, W, 3) at the same step: ``contrast`` (below 1: fading) and ``sharpness`` (below 1: blur,
    above 1: speckle), as ratios to the truth's.

    >>> t = np.random.default_rng(0).integers(0, 256, (4, 16, 16, 3), dtype=np.uint8)
    >>> drift((t // 2).astype(np.uint8), t)["contrast"] < 0.55
    True
    """
    return {
        "contrast": ratio(contrast(fake), contrast(true)),
        "sharpness": ratio(gradient_energy(fake), gradient_energy(true)),
    }


def image_grid(rows: list[np.ndarray], pad: int = 2) -> np.ndarray:
    """Rows of uint8 images, each (B, H, W, 3) (any B per row), as one (H', W', 3) uint8 grid with white gutters;
    shorter rows are padded white on the right."""
    rows = [
        np.concatenate([np.pad(im, ((pad, pad), (pad, pad), (0, 0)), constant_values=255) for im in r], 1) for r in rows
    ]
    w = max(r.shape[1] for r in rows)
    return np.concatenate([np.pad(r, ((0, 0), (0, w - r.shape[1]), (0, 0)), constant_values=255) for r in rows], 0)
