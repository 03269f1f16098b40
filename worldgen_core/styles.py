"""Maps in many styles, for training and judging world models on maps (and styles) they never saw.

Each style draws a map of any size from a seed, deterministically::

    atlas    the default map's hand-drawn atlas (mapgen), palette and densities drawn from the seed
    city     a dense city plan: streets, blocks, parks, a river (citygen)
    terrain  aerial imagery from noise: a heightfield coloured by height and moisture, hill-shaded,
             with fine ground texture
    painted  the atlas repainted: colours pooled in soft brush strokes, a canvas grain over all
    ink      hand-drawn ink on paper: coastlines, contour lines and hatched slopes, no colour fills
    pixel    pixel art: a terrain map on a coarse grid of 4-8 px cells in a 12-16 colour palette

:data:`TRAIN_STYLES` and :data:`HELD_OUT_STYLES` split them: a universal model is trained on the
first and judged on the second, which no training run sees.

>>> img = generate("terrain", seed=0, width=96, height=64)
>>> img.shape, img.dtype.name
((64, 96, 3), 'uint8')
>>> bool((generate("ink", 1, 96, 64) == generate("ink", 1, 96, 64)).all())
True
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter
from scipy import ndimage

from .citygen import generate_city
from .mapgen import MapStyle, _fbm, generate_map

__all__ = ["STYLES", "TRAIN_STYLES", "HELD_OUT_STYLES", "generate"]


def _atlas(rng: np.random.Generator, seed: int, w: int, h: int) -> np.ndarray:
    return generate_map(seed, w, h, MapStyle.random(seed))


def _city(rng: np.random.Generator, seed: int, w: int, h: int) -> np.ndarray:
    return generate_city(seed, w, h)


def _heights(rng: np.random.Generator, w: int, h: int) -> tuple[np.ndarray, np.ndarray]:
    """(elevation, moisture) in [0, 1], (h, w) each; elevation with broad continents."""
    elevation = 0.7 * _fbm(rng, h, w, base=3, octaves=7, gain=0.55) + 0.3 * _fbm(rng, h, w, base=2, octaves=2)
    elevation = (elevation - elevation.min()) / max(float(np.ptp(elevation)), 1e-6)
    return elevation, _fbm(rng, h, w, base=5, octaves=5)


def _terrain(rng: np.random.Generator, seed: int, w: int, h: int) -> np.ndarray:
    elevation, moisture = _heights(rng, w, h)
    sea = rng.uniform(0.35, 0.5)
    # colour ramps by height band: deep water, shallows, sand, grass/dry, forest, rock, snow
    hue = rng.uniform(-0.08, 0.08, 3)
    dry, wet = np.array([0.62, 0.58, 0.36]) + hue, np.array([0.22, 0.42, 0.18]) + hue
    land = (elevation - sea) / (1 - sea)
    base = dry[None, None] * (1 - moisture[..., None]) + wet[None, None] * moisture[..., None]
    img = np.where((land > 0.55)[..., None], np.array([0.45, 0.42, 0.38]), base)
    img = np.where((land > 0.8)[..., None], np.array([0.93, 0.94, 0.96]), img)
    img = np.where((land < 0.04)[..., None], np.array([0.80, 0.74, 0.55]), img)
    depth = np.clip(-land * 3, 0, 1)[..., None]
    water = np.array([0.25, 0.50, 0.58]) * (1 - depth) + np.array([0.06, 0.17, 0.32]) * depth
    img = np.where((land < 0)[..., None], water, img)
    gy, gx = np.gradient(elevation * 60)  # hill shading, light from the north-west
    shade = np.clip(1 + 0.9 * (-(gx + gy) / np.sqrt(2)) * (land > 0), 0.55, 1.45)
    grain = 1 + 0.10 * (rng.random((h, w)) - 0.5) + 0.10 * (_fbm(rng, h, w, base=64, octaves=2) - 0.5)
    return np.clip(img * (shade * grain)[..., None] * 255, 0, 255).astype(np.uint8)


def _painted(rng: np.random.Generator, seed: int, w: int, h: int) -> np.ndarray:
    atlas = Image.fromarray(generate_map(seed, w, h, MapStyle.random(seed)))
    brush = atlas.filter(ImageFilter.ModeFilter(int(rng.integers(5, 9)))).filter(ImageFilter.GaussianBlur(1.2))
    img = np.asarray(brush).astype(np.float32)
    strokes = ndimage.gaussian_filter1d(
        rng.standard_normal((h, w)).astype(np.float32), sigma=6, axis=int(rng.integers(0, 2))
    )
    grain = rng.standard_normal((h, w)).astype(np.float32)
    img *= (1 + 0.06 * strokes / max(float(strokes.std()), 1e-6) + 0.05 * grain)[..., None]
    return np.clip(img, 0, 255).astype(np.uint8)


def _ink(rng: np.random.Generator, seed: int, w: int, h: int) -> np.ndarray:
    elevation, _ = _heights(rng, w, h)
    sea = rng.uniform(0.35, 0.5)
    paper = np.array([0.95, 0.92, 0.84]) + rng.uniform(-0.03, 0.03, 3)
    ink = np.array([0.12, 0.10, 0.10]) + rng.uniform(0, 0.1, 3)
    levels = sea + np.arange(1, 9) * (1 - sea) / 9
    band = np.digitize(elevation, levels)
    lines = (ndimage.maximum_filter(band, 2) != ndimage.minimum_filter(band, 2)) & (elevation > sea)
    coast = elevation > sea
    coast = ndimage.binary_dilation(coast) ^ ndimage.binary_erosion(coast)
    yy, xx = np.mgrid[0:h, 0:w]
    slope = np.hypot(*np.gradient(elevation * 80))
    hatch = ((xx + yy) % int(rng.integers(5, 8)) == 0) & (slope > np.quantile(slope, 0.7)) & (elevation > sea)
    ripples = (
        ((yy + (3 * np.sin(xx / 17.0)).astype(int)) % 9 == 0) & (elevation < sea - 0.03) & (elevation > sea - 0.09)
    )
    strength = np.maximum.reduce([coast * 1.0, lines * 0.75, hatch * 0.5, ripples * 0.4])
    strength = ndimage.gaussian_filter(strength, 0.5)
    tone = 1 - 0.04 * _fbm(rng, h, w, base=8, octaves=3)
    img = paper[None, None] * tone[..., None] * (1 - strength[..., None]) + ink[None, None] * strength[..., None]
    return np.clip(img * 255, 0, 255).astype(np.uint8)


def _pixel(rng: np.random.Generator, seed: int, w: int, h: int) -> np.ndarray:
    cell = int(rng.integers(4, 9))
    small = _terrain(rng, seed, -(-w // cell), -(-h // cell))
    pal = Image.fromarray(small).quantize(colors=int(rng.integers(12, 17)), dither=Image.Dither.NONE).convert("RGB")
    return np.asarray(pal.resize((pal.width * cell, pal.height * cell), Image.NEAREST))[:h, :w].copy()


#: style name -> generator(rng, seed, width, height) -> (height, width, 3) uint8
STYLES = {"atlas": _atlas, "city": _city, "terrain": _terrain, "painted": _painted, "ink": _ink, "pixel": _pixel}
#: styles a universal model trains on
TRAIN_STYLES = ("atlas", "terrain", "painted")
#: styles no training run sees: the judge of zero-shot dreams
HELD_OUT_STYLES = ("city", "ink", "pixel")


def generate(style: str, seed: int = 0, width: int = 768, height: int = 512) -> np.ndarray:
    """A (height, width, 3) uint8 map in ``style`` (one of :data:`STYLES`), the same for the same seed."""
    if style not in STYLES:
        raise ValueError(f"style {style!r} is not one of {sorted(STYLES)}")
    if width < 64 or height < 64:
        raise ValueError(f"a map must be at least 64x64 pixels (one view); got {width}x{height}")
    rng = np.random.default_rng([seed, sorted(STYLES).index(style)])
    return np.ascontiguousarray(STYLES[style](rng, seed, width, height))
