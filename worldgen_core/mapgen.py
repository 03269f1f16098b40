"""Deterministic procedural fantasy world maps (numpy + pillow + scipy).

The default world of ``WorldMap-v0`` is generated here, so the project ships no third-party
artwork. The result imitates a hand-drawn atlas page: parchment paper, hatched sea with ripple
lines along the coasts, lakes and rivers, forests drawn as tree glyphs, mountain ranges drawn as
shaded peaks, dune-stippled deserts, towns and castles joined by dashed roads, and a drawn frame
so that the map edge is visible inside a 64x64 crop.

Usage::

    python -m worldgen_core.mapgen --seed 3 -o my_map.png   # default: mapgen_SEED.png here
    python -m worldgen_core.mapgen --seed 0 --width 1536 --height 1024 -o data/world_map.png --force   # the shipped map

>>> img = generate_map(seed=3, width=256, height=192)
>>> img.shape, img.dtype
((192, 256, 3), dtype('uint8'))
>>> bool((generate_map(seed=3, width=256, height=192) == img).all())  # deterministic
True
"""

from __future__ import annotations

import colorsys
import dataclasses
import math
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import numpy as np
import tyro
from PIL import Image, ImageDraw
from scipy import ndimage

from .cli import check, refuse_overwrite, run_cli

__all__ = ["MapStyle", "generate_map", "parse_seeds", "Args", "run", "main"]


@dataclass(frozen=True)
class MapStyle:
    """Colours (RGB) and densities of the drawn map."""

    paper: tuple[int, int, int] = (236, 222, 189)
    ink: tuple[int, int, int] = (62, 46, 34)
    sea: tuple[int, int, int] = (120, 160, 170)
    deep_sea: tuple[int, int, int] = (86, 124, 142)
    grass: tuple[int, int, int] = (200, 204, 150)
    meadow: tuple[int, int, int] = (178, 194, 128)
    forest_floor: tuple[int, int, int] = (150, 172, 110)
    tree: tuple[int, int, int] = (58, 98, 58)
    tree_light: tuple[int, int, int] = (96, 140, 82)
    desert: tuple[int, int, int] = (226, 196, 134)
    dune: tuple[int, int, int] = (184, 146, 86)
    hills: tuple[int, int, int] = (186, 170, 122)
    mountain: tuple[int, int, int] = (150, 132, 110)
    snow: tuple[int, int, int] = (246, 244, 236)
    road: tuple[int, int, int] = (128, 82, 44)
    roof: tuple[int, int, int] = (168, 58, 44)
    wall: tuple[int, int, int] = (214, 200, 170)
    frame: tuple[int, int, int] = (92, 40, 30)
    sea_level: float = 0.40
    frame_width: int = 14
    tree_spacing: int = 7
    mountain_spacing: int = 15
    towns_per_megapixel: float = 34.0

    @classmethod
    def random(cls, seed: int) -> "MapStyle":
        """A varied style for many-map training: the palette turned round the colour wheel, its
        saturation and brightness scaled, and the densities (sea level, trees, mountains, towns,
        frame) redrawn. Deterministic in ``seed``; ``seed`` 0 and the default style differ.

        >>> MapStyle.random(3) == MapStyle.random(3), MapStyle.random(3) == MapStyle.random(4)
        (True, False)
        """
        rng = np.random.default_rng([seed, 0x57_1E])
        hue, sat, val = rng.uniform(-0.12, 0.12), rng.uniform(0.6, 1.35), rng.uniform(0.85, 1.08)

        def turn(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
            h, s, v = colorsys.rgb_to_hsv(*(c / 255 for c in rgb))
            r, g, b = colorsys.hsv_to_rgb((h + hue) % 1.0, min(1.0, s * sat), min(1.0, v * val))
            return int(round(255 * r)), int(round(255 * g)), int(round(255 * b))

        colours = {
            f.name: turn(getattr(cls, f.name))
            for f in dataclasses.fields(cls)
            if f.type in ("tuple[int, int, int]", tuple[int, int, int])
        }
        return cls(
            **colours,
            sea_level=float(rng.uniform(0.3, 0.5)),
            frame_width=int(rng.integers(8, 20)),
            tree_spacing=int(rng.integers(5, 11)),
            mountain_spacing=int(rng.integers(11, 20)),
            towns_per_megapixel=float(rng.uniform(15, 55)),
        )


# --------------------------------------------------------------------------- noise fields
def _fbm(rng: np.random.Generator, h: int, w: int, base: int, octaves: int, gain: float = 0.5) -> np.ndarray:
    """Fractal value noise in [0, 1]: random grids of growing resolution, cubic-upsampled, summed.

    Returns an (h, w) float32 array.
    """
    out = np.zeros((h, w), np.float32)
    amp, total = 1.0, 0.0
    for o in range(octaves):
        cells = base * 2**o
        gh, gw = max(2, int(round(cells * h / max(h, w))) + 2), max(2, int(round(cells * w / max(h, w))) + 2)
        grid = rng.random((gh, gw), dtype=np.float32)
        layer = ndimage.zoom(grid, (h / (gh - 1), w / (gw - 1)), order=3, mode="nearest")[:h, :w]
        out += amp * layer
        total += amp
        amp *= gain
    out /= total
    lo, hi = out.min(), out.max()
    return (out - lo) / max(hi - lo, 1e-6)


def _poisson_points(rng: np.random.Generator, mask: np.ndarray, spacing: int, jitter: float = 0.45) -> np.ndarray:
    """Jittered-grid points (N, 2) as (y, x) that fall inside ``mask``."""
    h, w = mask.shape
    ys, xs = np.mgrid[spacing // 2 : h : spacing, spacing // 2 : w : spacing]
    pts = np.stack([ys.ravel(), xs.ravel()], 1).astype(np.float32)
    pts += rng.uniform(-jitter, jitter, pts.shape).astype(np.float32) * spacing
    pts = np.clip(np.round(pts), 0, [h - 1, w - 1]).astype(np.int64)
    keep = mask[pts[:, 0], pts[:, 1]]
    return pts[keep]


# --------------------------------------------------------------------------- terrain
def _terrain(rng: np.random.Generator, h: int, w: int, style: MapStyle):
    elevation = _fbm(rng, h, w, base=4, octaves=6, gain=0.52)
    # Continents: favour land away from the frame, with a few broad blobs.
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    dy, dx = (yy - h / 2) / (h / 2), (xx - w / 2) / (w / 2)
    falloff = np.clip(1.0 - 0.55 * (dx**2 + dy**2) ** 1.3, 0, 1)
    elevation = 0.62 * elevation + 0.38 * falloff * _fbm(rng, h, w, base=2, octaves=2)
    elevation = (elevation - elevation.min()) / (elevation.max() - elevation.min())
    moisture = _fbm(rng, h, w, base=6, octaves=5)
    land = elevation > style.sea_level
    # Remove specks: tiny islands and one-pixel inlets look like noise, not geography.
    land = ndimage.binary_opening(land, iterations=2)
    land = ndimage.binary_closing(land, iterations=2)
    labels, n = ndimage.label(land)
    if n:
        sizes = ndimage.sum(land, labels, range(1, n + 1))
        land = np.isin(labels, 1 + np.flatnonzero(sizes >= 150))
    return elevation, moisture, land


def _lakes(
    rng: np.random.Generator, land: np.ndarray, elevation: np.ndarray, moisture: np.ndarray, n: int
) -> np.ndarray:
    """Irregular lakes in wet lowlands, well inside the land."""
    h, w = land.shape
    inland = ndimage.distance_transform_edt(land) > 28
    lakes = np.zeros_like(land)
    cand = np.argwhere(inland & (moisture > 0.55) & (elevation < 0.75))
    if len(cand) == 0:
        return lakes
    shape_noise = _fbm(rng, h, w, base=24, octaves=3)
    for idx in rng.choice(len(cand), size=min(n, len(cand)), replace=False):
        cy, cx = cand[idx]
        r = rng.uniform(9, 22)
        y0, y1, x0, x1 = (
            max(0, int(cy - 2 * r)),
            min(h, int(cy + 2 * r)),
            max(0, int(cx - 2 * r)),
            min(w, int(cx + 2 * r)),
        )
        yy, xx = np.mgrid[y0:y1, x0:x1]
        d = np.sqrt(((yy - cy) / 1.0) ** 2 + ((xx - cx) / rng.uniform(0.7, 1.6)) ** 2) / r
        lakes[y0:y1, x0:x1] |= (d + 0.9 * (shape_noise[y0:y1, x0:x1] - 0.5)) < 1.0
    return lakes & land


def _rivers(
    rng: np.random.Generator, elevation: np.ndarray, land: np.ndarray, water: np.ndarray, n: int
) -> list[np.ndarray]:
    """Rivers as polylines (K, 2) in (y, x): steepest descent on smoothed elevation down to water."""
    h, w = land.shape
    smooth = ndimage.gaussian_filter(elevation, 6)
    # Bias the descent towards the sea so rivers do not stall in local pits.
    to_sea = ndimage.distance_transform_edt(~water).astype(np.float32)
    potential = smooth + 0.004 * to_sea
    sources = np.argwhere(land & (elevation > 0.66))
    rivers = []
    if len(sources) == 0:
        return rivers
    step = 3
    for idx in rng.choice(len(sources), size=min(n * 3, len(sources)), replace=False):
        if len(rivers) >= n:
            break
        y, x = sources[idx].astype(np.float64)
        path = [(y, x)]
        for _ in range(900):
            iy, ix = int(y), int(x)
            if water[iy, ix]:
                break
            y0, y1, x0, x1 = max(iy - step, 0), min(iy + step + 1, h), max(ix - step, 0), min(ix + step + 1, w)
            win = potential[y0:y1, x0:x1]
            my, mx = np.unravel_index(np.argmin(win), win.shape)
            ny, nx = y0 + my, x0 + mx
            if (ny, nx) == (iy, ix):  # pit: nudge towards the sea
                gy, gx = np.gradient(to_sea[y0:y1, x0:x1])
                ny, nx = iy - np.sign(gy.mean()) * step, ix - np.sign(gx.mean()) * step
            # Meander a little.
            y = float(np.clip(ny + rng.normal(0, 0.8), 0, h - 1))
            x = float(np.clip(nx + rng.normal(0, 0.8), 0, w - 1))
            path.append((y, x))
        p = np.array(path)
        if len(p) > 25 and water[int(p[-1, 0]), int(p[-1, 1])]:
            rivers.append(p)
    return rivers


# --------------------------------------------------------------------------- glyphs
def _draw_tree(d: ImageDraw.ImageDraw, y: int, x: int, s: float, style: MapStyle, conifer: bool) -> None:
    if conifer:
        pts = [(x, y - 2.4 * s), (x - 1.3 * s, y + 0.6 * s), (x + 1.3 * s, y + 0.6 * s)]
        d.polygon(pts, fill=style.tree, outline=style.ink)
        d.line([(x, y + 0.6 * s), (x, y + 1.4 * s)], fill=style.ink, width=1)
    else:
        d.line([(x, y), (x, y + 1.6 * s)], fill=style.ink, width=1)
        d.ellipse([x - 1.3 * s, y - 2.0 * s, x + 1.3 * s, y + 0.5 * s], fill=style.tree_light, outline=style.ink)


def _draw_mountain(d: ImageDraw.ImageDraw, y: int, x: int, s: float, style: MapStyle, snowy: bool) -> None:
    top, left, right, mid = (
        (x, y - 1.6 * s),
        (x - 1.5 * s, y + 0.7 * s),
        (x + 1.5 * s, y + 0.7 * s),
        (x + 0.25 * s, y + 0.7 * s),
    )
    d.polygon([top, left, right], fill=style.hills)
    d.polygon([top, mid, right], fill=style.mountain)  # shaded east face
    if snowy:
        d.polygon([top, (x - 0.5 * s, y - 0.85 * s), (x + 0.55 * s, y - 0.8 * s)], fill=style.snow)
    d.line([left, top, right], fill=style.ink, width=2 if s > 5 else 1)
    d.line([top, (x + 0.1 * s, y - 0.2 * s), mid], fill=style.ink, width=1)


def _draw_town(d: ImageDraw.ImageDraw, y: int, x: int, style: MapStyle, castle: bool) -> None:
    if castle:
        d.rectangle([x - 6, y - 4, x + 6, y + 5], fill=style.wall, outline=style.ink)
        for tx in (x - 7, x + 4):
            d.rectangle([tx, y - 9, tx + 3, y + 5], fill=style.wall, outline=style.ink)
            d.polygon([(tx - 1, y - 9), (tx + 1.5, y - 13), (tx + 4, y - 9)], fill=style.roof, outline=style.ink)
        d.rectangle([x - 2, y + 1, x + 1, y + 5], fill=style.ink)
        d.line([(x, y - 4), (x, y - 11)], fill=style.ink)
        d.polygon([(x, y - 11), (x + 5, y - 9.5), (x, y - 8)], fill=style.roof)
    else:
        for ox, oy in ((-4, 1), (3, -1), (0, 4)):
            d.rectangle([x + ox - 2, y + oy - 1, x + ox + 2, y + oy + 3], fill=style.wall, outline=style.ink)
            d.polygon(
                [(x + ox - 3, y + oy - 1), (x + ox, y + oy - 4), (x + ox + 3, y + oy - 1)],
                fill=style.roof,
                outline=style.ink,
            )


def _dashed(d: ImageDraw.ImageDraw, pts: np.ndarray, fill, width: int, dash: int = 5, gap: int = 3) -> None:
    seg = np.diff(pts, axis=0)
    lens = np.hypot(seg[:, 0], seg[:, 1])
    cum = np.concatenate([[0], np.cumsum(lens)])
    total = cum[-1]
    t = 0.0
    while t < total:
        a, b = t, min(t + dash, total)
        pa, pb = np.interp(a, cum, pts[:, 1]), np.interp(a, cum, pts[:, 0])
        qa, qb = np.interp(b, cum, pts[:, 1]), np.interp(b, cum, pts[:, 0])
        d.line([(pa, pb), (qa, qb)], fill=fill, width=width)
        t += dash + gap


def _road(rng: np.random.Generator, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """A wandering road between two points: a midpoint-displaced polyline (K, 2) in (y, x)."""
    pts = np.array([a, b], np.float64)
    amp = 0.18 * np.hypot(*(b - a))
    for _ in range(4):
        mids = (pts[:-1] + pts[1:]) / 2
        normal = np.stack([-(pts[1:, 1] - pts[:-1, 1]), pts[1:, 0] - pts[:-1, 0]], 1)
        normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-6)
        mids += normal * rng.normal(0, amp, (len(mids), 1))
        out = np.empty((len(pts) + len(mids), 2))
        out[0::2], out[1::2] = pts, mids
        pts, amp = out, amp * 0.5
    return pts


# --------------------------------------------------------------------------- composition
def generate_map(seed: int = 0, width: int = 1536, height: int = 1024, style: MapStyle | None = None) -> np.ndarray:
    """Generate a fantasy world map.

    Args:
        seed: every random choice derives from this; the same seed gives the same image.
        width, height: image size in pixels (at least 128 x 128).
        style: colours and densities; ``MapStyle()`` by default.

    Returns:
        (height, width, 3) uint8 RGB array.
    """
    if width < 128 or height < 128:
        raise ValueError(f"map size must be at least 128x128, got {width}x{height}")
    style = style or MapStyle()
    rng = np.random.default_rng(seed)
    h, w = height, width
    area_mp = h * w / 1e6

    elevation, moisture, land = _terrain(rng, h, w, style)
    lakes = _lakes(rng, land, elevation, moisture, n=max(1, int(6 * area_mp)))
    land_dry = land & ~lakes
    water = ~land_dry
    rivers = _rivers(rng, elevation, land_dry, water, n=max(1, int(9 * area_mp)))

    # Biomes on land.
    mountains = land_dry & (elevation > 0.74)
    hills = land_dry & (elevation > 0.66) & ~mountains
    desert = land_dry & (moisture < 0.32) & ~mountains
    forest = land_dry & (moisture > 0.55) & ~mountains & ~desert
    meadow = land_dry & (moisture > 0.46) & ~forest & ~mountains & ~desert

    # --- base colours
    img = np.empty((h, w, 3), np.float32)
    img[:] = style.grass
    for mask, col in (
        (meadow, style.meadow),
        (forest, style.forest_floor),
        (desert, style.desert),
        (hills, style.hills),
        (mountains, style.hills),
    ):
        img[mask] = col
    dist_coast = ndimage.distance_transform_edt(water)  # distance from land, inside water
    depth = np.clip(dist_coast / 90.0, 0, 1)[..., None]
    sea_col = (1 - depth) * np.array(style.sea) + depth * np.array(style.deep_sea)
    img[water] = sea_col[water]
    # Soft blending of biome borders.
    for c in range(3):
        img[..., c] = np.where(land_dry, ndimage.gaussian_filter(img[..., c], 1.5), img[..., c])
    # Sea hatching: faint diagonal strokes.
    yy, xx = np.mgrid[0:h, 0:w]
    hatch = ((xx + yy) % 9 == 0) & water & (dist_coast > 14)
    img[hatch] = img[hatch] * 0.9

    pil = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    d = ImageDraw.Draw(pil)

    # --- coast ripples and coastline ink
    ink = np.array(style.ink, np.float32)
    arr = np.asarray(pil).astype(np.float32)
    for k, r in enumerate((4, 8, 13)):
        ring = water & (np.abs(dist_coast - r) < 0.75)
        alpha = 0.45 - 0.12 * k
        arr[ring] = (1 - alpha) * arr[ring] + alpha * ink
    coast = land_dry & ndimage.binary_dilation(water, iterations=1)
    arr[coast] = 0.25 * arr[coast] + 0.75 * ink
    # Desert stipple and dunes.
    stip = desert & (rng.random((h, w)) < 0.035)
    arr[stip] = 0.5 * arr[stip] + 0.5 * np.array(style.dune)
    pil = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    d = ImageDraw.Draw(pil)
    for y, x in _poisson_points(rng, desert & (ndimage.distance_transform_edt(desert) > 6), 22):
        d.arc([x - 7, y - 3, x + 7, y + 5], 200, 340, fill=style.dune, width=1)

    # --- rivers (width grows downstream)
    for p in rivers:
        k = len(p)
        for i in range(k - 1):
            wdt = 1 + int(2.5 * i / k)
            d.line([(p[i, 1], p[i, 0]), (p[i + 1, 1], p[i + 1, 0])], fill=style.deep_sea, width=wdt + 1)
        for i in range(k - 1):
            wdt = max(1, int(2.5 * i / k))
            d.line([(p[i, 1], p[i, 0]), (p[i + 1, 1], p[i + 1, 0])], fill=style.sea, width=wdt)
    river_mask = np.zeros((h, w), bool)
    for p in rivers:
        river_mask[p[:, 0].astype(int), p[:, 1].astype(int)] = True
    river_mask = ndimage.binary_dilation(river_mask, iterations=4)

    # --- towns and roads
    free = land_dry & ~mountains & ~river_mask & (ndimage.distance_transform_edt(land_dry) > 10)
    free[: style.frame_width + 16] = free[-style.frame_width - 16 :] = False
    free[:, : style.frame_width + 16] = free[:, -style.frame_width - 16 :] = False
    cand = np.argwhere(free)
    towns: list[np.ndarray] = []
    n_towns = max(2, int(style.towns_per_megapixel * area_mp))
    for idx in rng.permutation(len(cand)):
        if len(towns) >= n_towns:
            break
        c = cand[idx]
        if all(np.hypot(*(c - t)) > 60 for t in towns):
            towns.append(c)
    towns_arr = np.array(towns, np.float64).reshape(-1, 2)
    # Roads: a minimum spanning tree over towns on the same landmass, short edges only.
    labels, _ = ndimage.label(land_dry)
    if len(towns_arr) > 1:
        dmat = np.hypot(*(towns_arr[:, None] - towns_arr[None]).transpose(2, 0, 1))
        in_tree = {0}
        edges = []
        while len(in_tree) < len(towns_arr):
            best = None
            for i in in_tree:
                for j in range(len(towns_arr)):
                    if j not in in_tree and (best is None or dmat[i, j] < dmat[best]):
                        best = (i, j)
            i, j = best
            in_tree.add(j)
            li = labels[tuple(towns_arr[i].astype(int))]
            if dmat[i, j] < 320 and li == labels[tuple(towns_arr[j].astype(int))]:
                edges.append((i, j))
        road_mask = np.zeros((h, w), bool)
        for i, j in edges:
            pts = _road(rng, towns_arr[i], towns_arr[j])
            pts[:, 0] = np.clip(pts[:, 0], 0, h - 1)
            pts[:, 1] = np.clip(pts[:, 1], 0, w - 1)
            _dashed(d, pts, style.road, width=2)
            road_mask[pts[:, 0].astype(int), pts[:, 1].astype(int)] = True
        road_mask = ndimage.binary_dilation(road_mask, iterations=5)
    else:
        road_mask = np.zeros((h, w), bool)

    town_mask = np.zeros((h, w), bool)
    for t in towns_arr.astype(int):
        town_mask[max(t[0] - 16, 0) : t[0] + 14, max(t[1] - 14, 0) : t[1] + 14] = True

    # --- glyphs, painted back-to-front (sorted by y) so lower glyphs overlap upper ones
    glyphs = []
    blocked = river_mask | road_mask | town_mask
    for y, x in _poisson_points(rng, forest & ~blocked, style.tree_spacing):
        glyphs.append((y, 0, x, rng.uniform(2.2, 3.2), bool(elevation[y, x] > 0.58 or rng.random() < 0.25)))
    for y, x in _poisson_points(rng, mountains & ~river_mask & ~town_mask, style.mountain_spacing):
        glyphs.append((y, 1, x, rng.uniform(5.0, 8.0), bool(elevation[y, x] > 0.8)))
    for y, x in _poisson_points(rng, hills & ~blocked, 2 * style.mountain_spacing):
        glyphs.append((y, 2, x, 0, False))
    glyphs.sort(key=lambda g: (g[0], g[2]))
    for y, kind, x, s, flag in glyphs:
        if kind == 0:
            _draw_tree(d, y, x, s, style, conifer=flag)
        elif kind == 1:
            _draw_mountain(d, y, x, s, style, snowy=flag)
        else:
            d.arc([x - 8, y - 4, x + 8, y + 6], 200, 340, fill=style.ink, width=1)
    for i, t in enumerate(towns_arr.astype(int)):
        _draw_town(d, int(t[0]), int(t[1]), style, castle=(i % 4 == 0))

    # --- compass rose, placed in open sea where possible
    sea_open = np.argwhere((dist_coast > 40) & water)
    if len(sea_open):
        cy, cx = sea_open[rng.integers(len(sea_open))]
        r = 26
        d.ellipse([cx - r, cy - r, cx + r, cy + r], outline=style.ink, width=2)
        for ang in range(0, 360, 45):
            a = math.radians(ang)
            ln = r + 8 if ang % 90 == 0 else r - 6
            d.polygon(
                [
                    (cx + ln * math.sin(a), cy - ln * math.cos(a)),
                    (cx + 5 * math.cos(a), cy + 5 * math.sin(a)),
                    (cx - 5 * math.cos(a), cy - 5 * math.sin(a)),
                ],
                fill=style.frame if ang == 0 else style.ink,
            )

    # --- frame: an outer band with alternating blocks, then a thin inner line
    fw = style.frame_width
    d.rectangle([0, 0, w - 1, h - 1], outline=style.frame, width=fw)
    block = 24
    for x0 in range(0, w, 2 * block):
        d.rectangle([x0, 3, x0 + block - 1, fw - 4], fill=style.paper)
        d.rectangle([x0, h - fw + 3, x0 + block - 1, h - 4], fill=style.paper)
    for y0 in range(0, h, 2 * block):
        d.rectangle([3, y0, fw - 4, y0 + block - 1], fill=style.paper)
        d.rectangle([w - fw + 3, y0, w - 4, y0 + block - 1], fill=style.paper)
    d.rectangle([fw + 2, fw + 2, w - fw - 3, h - fw - 3], outline=style.ink, width=2)

    # --- paper texture: low-frequency stains, fibre grain and a vignette, multiplied in
    out = np.asarray(pil).astype(np.float32)
    stains = 0.92 + 0.08 * _fbm(rng, h, w, base=6, octaves=4)
    grain = 1.0 + 0.05 * (rng.random((h, w), dtype=np.float32) - 0.5)
    fibres = 1.0 + 0.04 * (ndimage.gaussian_filter(rng.standard_normal((h, w)).astype(np.float32), (0.6, 4.0)) * 4)
    vignette = 1.0 - 0.16 * np.clip(((xx - w / 2) / (w / 2)) ** 4 + ((yy - h / 2) / (h / 2)) ** 4, 0, 1)
    tint = np.array(style.paper, np.float32) / 255.0
    out = out * (stains * grain * fibres * vignette)[..., None] * (0.82 + 0.18 * tint)
    return np.clip(out, 0, 255).astype(np.uint8)


def parse_seeds(spec: str) -> list[int]:
    """``"100-163"`` or ``"3,5,9"`` or ``"0-3,10"`` -> a list of seeds.

    >>> parse_seeds("0-3,10")
    [0, 1, 2, 3, 10]
    """
    out: list[int] = []
    try:
        for part in spec.split(","):
            lo, _, hi = part.strip().partition("-")
            out.extend(range(int(lo), int(hi) + 1) if hi else [int(lo)])
    except ValueError:
        raise ValueError(f"seeds {spec!r}: write ranges and numbers such as '100-163' or '3,5,9'") from None
    if not out:
        raise ValueError(f"seeds {spec!r} names no seed")
    return out


def _write(job: tuple[int, int, int, bool, Path]) -> Path:
    seed, width, height, random_style, path = job
    img = generate_map(seed, width, height, MapStyle.random(seed) if random_style else None)
    Image.fromarray(img).save(path, optimize=True)
    return path


@dataclass
class Args:
    """Generate procedural fantasy world maps (PNG)."""

    seed: int = 0
    """the map's seed (>= 0): the same seed, size and style give the same map"""
    seeds: str | None = None
    """many maps: seeds such as '100-163' (with --out-dir; files mapgen_SEED.png)"""
    random_style: bool = False
    """draw each map's palette and densities from its seed (MapStyle.random)"""
    width: int = 1536
    """pixels (>= 128)"""
    height: int = 1024
    """pixels (>= 128)"""
    output: Annotated[Path | None, tyro.conf.arg(aliases=("-o",))] = None
    """the image to write (default: mapgen_SEED.png in the current folder); an existing file is replaced only with
    --force"""
    out_dir: Path | None = None
    """folder for --seeds (its existing mapgen_SEED.png files are kept)"""
    jobs: Annotated[int, tyro.conf.arg(aliases=("-j",))] = 1
    """maps generated in parallel (processes, >= 1)"""
    force: bool = False
    """replace --output if it exists"""


def check_size_and_seed(seed: int, width: int, height: int) -> None:
    """A generator's settings: ``ValueError`` naming the flag for a negative seed or a map under 128 px."""
    check(seed >= 0, f"--seed must be >= 0, got {seed}")
    check(width >= 128 and height >= 128, f"--width and --height must be >= 128 px, got {width}x{height}")


def run(a: Args) -> list[Path]:
    """Generate as ``a`` says (:class:`Args`); returns the paths written."""
    check_size_and_seed(a.seed, a.width, a.height)
    check(a.jobs >= 1, f"--jobs must be >= 1, got {a.jobs}")
    if a.seeds is not None:
        check(a.out_dir is not None, "--seeds writes many files: give --out-dir DIR")
        seeds = parse_seeds(a.seeds)
        a.out_dir.mkdir(parents=True, exist_ok=True)
        jobs = [(s, a.width, a.height, a.random_style, a.out_dir / f"mapgen_{s}.png") for s in seeds]
        jobs = [j for j in jobs if not j[-1].exists()]  # existing files are kept (deterministic: the same image)
        with ProcessPoolExecutor(a.jobs) as pool:
            paths = list(pool.map(_write, jobs))
        print(f"wrote {len(paths)} maps to {a.out_dir} ({len(seeds) - len(paths)} already there)")
        return paths
    out = refuse_overwrite(a.output or f"mapgen_{a.seed}.png", a.force)
    style = MapStyle.random(a.seed) if a.random_style else None
    img = generate_map(a.seed, a.width, a.height, style)
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(out, optimize=True)
    print(f"wrote {out} ({a.width}x{a.height}, seed {a.seed})")
    return [out]


def main(argv: list[str] | None = None) -> list[Path]:
    return run_cli(Args, run, argv, __doc__.split("\n\n")[0])


def cli() -> None:
    """The console script (setup.cfg): ``main`` without its return value, which would become the exit status."""
    main()


if __name__ == "__main__":
    main()
