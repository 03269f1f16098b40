"""Deterministic procedural city street maps: a style unlike :mod:`worldgen_core.mapgen`'s atlas.

A flat, modern street-map look (numpy + pillow): a pale ground, a winding river with quays and
bridges, a street grid of uneven blocks with wide yellow avenues, blocks filled with building
footprints, parks with round trees, plazas, ponds and striped car parks, coloured point-of-interest
dots. No paper, no hatching, no glyphs of the atlas. It exists to hold out a map *style* from
every world model trained on mapgen's maps ("a map in a clearly different style drawn
by your own code").

Usage::

    python -m worldgen_core.citygen --seed 0 --width 1024 --height 768 -o city.png   # default: city_SEED.png here

>>> img = generate_city(seed=1, width=256, height=192)
>>> img.shape, img.dtype
((192, 256, 3), dtype('uint8'))
>>> bool((generate_city(seed=1, width=256, height=192) == img).all())  # deterministic
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import numpy as np
import tyro
from PIL import Image, ImageDraw

from .cli import refuse_overwrite, run_cli
from .mapgen import check_size_and_seed

__all__ = ["generate_city", "Args", "run", "main"]

GROUND = (242, 239, 233)
STREET, STREET_EDGE = (255, 255, 255), (205, 200, 196)
AVENUE, AVENUE_EDGE = (252, 214, 164), (216, 160, 96)
WATER, WATER_EDGE = (170, 211, 223), (120, 170, 196)
BUILDINGS = ((217, 208, 201), (205, 196, 190), (226, 214, 200), (214, 200, 186))
BUILDING_EDGE = (186, 172, 160)
PARK, TREE, TREE_EDGE = (200, 235, 190), (150, 206, 140), (110, 170, 100)
PLAZA, PARKING = (232, 226, 236), (238, 238, 238)
POI = ((220, 80, 80), (70, 120, 200), (240, 160, 40), (130, 90, 170))


def _cuts(rng: np.random.Generator, length: int, lo: int, hi: int) -> list[int]:
    """Street positions along one axis: gaps drawn uniformly in [lo, hi)."""
    xs, x = [], int(rng.integers(0, lo))
    while x < length:
        xs.append(x)
        x += int(rng.integers(lo, hi))
    return xs


def generate_city(seed: int = 0, width: int = 1024, height: int = 768) -> np.ndarray:
    """Generate a city street map.

    Args:
        seed: every random choice derives from this; the same seed gives the same image.
        width, height: image size in pixels (at least 128 x 128).

    Returns:
        (height, width, 3) uint8 RGB array.
    """
    if width < 128 or height < 128:
        raise ValueError(f"map size must be at least 128x128, got {width}x{height}")
    rng = np.random.default_rng(seed)
    w, h = width, height
    im = Image.new("RGB", (w, h), GROUND)
    d = ImageDraw.Draw(im)

    # --- streets: a jittered grid; every few streets an avenue
    xs, ys = _cuts(rng, w, 70, 150), _cuts(rng, h, 60, 130)
    avenue_x = {x for i, x in enumerate(xs) if i % 4 == 2}
    avenue_y = {y for i, y in enumerate(ys) if i % 4 == 1}

    # --- blocks between streets: buildings, parks, plazas, ponds, car parks
    bx, by = [*xs, w + 40], [*ys, h + 40]
    for i in range(len(bx) - 1):
        for j in range(len(by) - 1):
            x0, x1, y0, y1 = bx[i] + 7, bx[i + 1] - 7, by[j] + 7, by[j + 1] - 7
            if x1 - x0 < 12 or y1 - y0 < 12:
                continue
            kind = rng.choice(5, p=[0.66, 0.16, 0.06, 0.04, 0.08])
            if kind == 0:  # buildings: rows of footprints of random depth
                y = y0
                while y < y1 - 6:
                    depth = int(rng.integers(14, 34))
                    x = x0
                    while x < x1 - 6:
                        bw = int(rng.integers(12, 40))
                        fx1, fy1 = min(x + bw, x1), min(y + depth, y1)
                        d.rectangle(
                            [x, y, fx1, fy1], fill=BUILDINGS[int(rng.integers(len(BUILDINGS)))], outline=BUILDING_EDGE
                        )
                        if rng.random() < 0.25 and fx1 - x > 16 and fy1 - y > 16:  # inner courtyard
                            cx, cy = (x + fx1) // 2, (y + fy1) // 2
                            d.rectangle([cx - 4, cy - 4, cx + 4, cy + 4], fill=GROUND, outline=BUILDING_EDGE)
                        x = fx1 + int(rng.integers(2, 5))
                    y += depth + int(rng.integers(2, 6))
            elif kind == 1:  # park with trees and a path
                d.rectangle([x0, y0, x1, y1], fill=PARK, outline=TREE_EDGE)
                d.line([(x0, y0), (x1, y1)], fill=GROUND, width=3)
                for _ in range(int((x1 - x0) * (y1 - y0) / 260)):
                    tx, ty, r = rng.integers(x0 + 4, x1 - 3), rng.integers(y0 + 4, y1 - 3), int(rng.integers(3, 7))
                    d.ellipse([tx - r, ty - r, tx + r, ty + r], fill=TREE, outline=TREE_EDGE)
            elif kind == 2:  # plaza with a fountain
                d.rectangle([x0, y0, x1, y1], fill=PLAZA, outline=BUILDING_EDGE)
                cx, cy, r = (x0 + x1) // 2, (y0 + y1) // 2, max(4, min(x1 - x0, y1 - y0) // 6)
                d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=WATER, outline=WATER_EDGE, width=2)
            elif kind == 3:  # pond in a park
                d.rectangle([x0, y0, x1, y1], fill=PARK, outline=TREE_EDGE)
                d.ellipse([x0 + 8, y0 + 8, x1 - 8, y1 - 8], fill=WATER, outline=WATER_EDGE, width=2)
            else:  # car park: grey with white bay stripes
                d.rectangle([x0, y0, x1, y1], fill=PARKING, outline=STREET_EDGE)
                for x in range(x0 + 4, x1 - 2, 7):
                    d.line([(x, y0 + 3), (x, (y0 + y1) // 2 - 3)], fill=STREET_EDGE)
                    d.line([(x, (y0 + y1) // 2 + 3), (x, y1 - 3)], fill=STREET_EDGE)

    # --- the river: a sine-wandering band across the map, under streets (bridges) but over blocks
    horizontal = w >= h
    n = max(w, h)
    t = np.arange(n + 1, dtype=np.float64)
    phase, amp, period = rng.uniform(0, 2 * math.pi), rng.uniform(0.06, 0.14) * min(w, h), rng.uniform(0.5, 0.9) * n
    centre = rng.uniform(0.35, 0.65) * min(w, h) + amp * np.sin(2 * math.pi * t / period + phase)
    half = max(10, int(0.035 * min(w, h)))
    pts = [(x, c) if horizontal else (c, x) for x, c in zip(t, centre)]
    d.line(pts, fill=WATER_EDGE, width=2 * half + 6)
    d.line(pts, fill=WATER, width=2 * half)

    # --- streets on top; bridges where they cross the river get a darker edge (the quay line stays)
    for x in xs:
        wide = x in avenue_x
        d.rectangle([x - (7 if wide else 5), 0, x + (7 if wide else 5), h], fill=AVENUE_EDGE if wide else STREET_EDGE)
        d.rectangle([x - (6 if wide else 4), 0, x + (6 if wide else 4), h], fill=AVENUE if wide else STREET)
    for y in ys:
        wide = y in avenue_y
        d.rectangle([0, y - (7 if wide else 5), w, y + (7 if wide else 5)], fill=AVENUE_EDGE if wide else STREET_EDGE)
        d.rectangle([0, y - (6 if wide else 4), w, y + (6 if wide else 4)], fill=AVENUE if wide else STREET)
    for x in avenue_x:  # avenues stay continuous over the crossing streets
        d.rectangle([x - 6, 0, x + 6, h], fill=AVENUE)
        d.line([(x, 0), (x, h)], fill=AVENUE_EDGE)  # centre line

    # --- points of interest: coloured dots with a white ring, on block corners
    for _ in range(int(w * h / 9000)):
        x, y = int(rng.choice(xs)) + int(rng.integers(10, 30)), int(rng.choice(ys)) + int(rng.integers(10, 30))
        c = POI[int(rng.integers(len(POI)))]
        d.ellipse([x - 5, y - 5, x + 5, y + 5], fill=(255, 255, 255))
        d.ellipse([x - 3, y - 3, x + 3, y + 3], fill=c)
    return np.asarray(im, dtype=np.uint8).copy()


@dataclass
class Args:
    """Generate a procedural city street map (PNG)."""

    seed: int = 0
    """the map's seed (>= 0)"""
    width: int = 1024
    """pixels (>= 128)"""
    height: int = 768
    """pixels (>= 128)"""
    output: Annotated[Path | None, tyro.conf.arg(aliases=("-o",))] = None
    """the image to write (default: city_SEED.png in the current folder); an existing file is replaced only with
    --force"""
    force: bool = False
    """replace --output if it exists"""


def run(a: Args) -> Path:
    """Generate as ``a`` says (:class:`Args`); returns the path written."""
    check_size_and_seed(a.seed, a.width, a.height)
    out = refuse_overwrite(a.output or f"city_{a.seed}.png", a.force)
    img = generate_city(a.seed, a.width, a.height)
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(out, optimize=True)
    print(f"wrote {out} ({a.width}x{a.height}, seed {a.seed})")
    return out


def main(argv: list[str] | None = None) -> Path:
    return run_cli(Args, run, argv, __doc__.split("\n\n")[0])


if __name__ == "__main__":
    main()
