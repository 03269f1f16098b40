"""Loading world-map images: the shipped default or any image a user points at."""

from __future__ import annotations

import functools
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .assets import data_path

__all__ = ["DEFAULT_MAP_PATH", "IMAGE_SUFFIXES", "load_map", "default_map", "map_files"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")

#: The committed default world (``python -m worldgen_core.mapgen --seed 0 -o data/world_map.png --force`` regenerates
#: it).
DEFAULT_MAP_PATH = data_path("world_map.png")


def load_map(path: str | Path, min_size: int = 1) -> np.ndarray:
    """Read an image file as an (H, W, 3) uint8 RGB array.

    RGBA, grayscale and palette images are converted to RGB (transparent areas composited on
    white); a photo's EXIF orientation is applied (the map as an image viewer shows it). Raises
    ``FileNotFoundError`` for a missing file and ``ValueError`` for a file that is not an image or
    is smaller than ``min_size`` pixels on a side; each message names the path.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"world map {str(path)!r} does not exist; pass map_path= an existing image file (PNG, JPEG, ...)"
        )
    if path.is_dir():
        raise ValueError(f"world map {str(path)!r} is a directory; pass map_path= an image file")
    try:
        with Image.open(path) as opened:
            opened.load()
            im = ImageOps.exif_transpose(opened)  # a new image when the EXIF orientation turns it, else the same
            if im.mode.startswith("I") or im.mode == "F":  # 16/32-bit integer or float greyscale
                arr = _high_depth_grey(np.asarray(im), im.mode)
            else:
                if im.mode in ("RGBA", "LA") or (im.mode == "P" and "transparency" in im.info):
                    rgba = im.convert("RGBA")
                    bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                    im_rgb = Image.alpha_composite(bg, rgba).convert("RGB")
                else:
                    im_rgb = im.convert("RGB")
                arr = np.asarray(im_rgb, dtype=np.uint8).copy()
    except Image.DecompressionBombError as e:
        raise ValueError(
            f"world map {str(path)!r} is too large to load safely ({e}); downscale it, e.g. to at most "
            "8192x8192 px (a 64 px view sees a small part of any such map)"
        ) from e
    except (UnidentifiedImageError, OSError) as e:
        raise ValueError(
            f"world map {str(path)!r} is not an image that Pillow can read ({e.__class__.__name__}); use a PNG or JPEG "
            "file"
        ) from e
    h, w = arr.shape[:2]
    if h < min_size or w < min_size:
        raise ValueError(
            f"world map {str(path)!r} is {w}x{h} px, smaller than one {min_size}x{min_size} view; use a larger image "
            "or a smaller view_size"
        )
    return arr


def map_files(specs: "list[str | Path] | tuple[str | Path, ...]") -> list[Path]:
    """Image paths and folders -> image paths: a folder stands for its images (sorted by name).

    Raises ``FileNotFoundError`` for a path that does not exist and ``ValueError`` for a folder
    without images; each message names the path.
    """
    out: list[Path] = []
    for spec in specs:
        p = Path(spec)
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise ValueError(
                    f"map folder {str(p)!r} holds no image ({', '.join(IMAGE_SUFFIXES)}); put maps in it or pass image "
                    "files"
                )
            out.extend(found)
        elif p.exists():
            out.append(p)
        else:
            raise FileNotFoundError(f"world map {str(p)!r} does not exist; pass image files or folders of images")
    return out


def _high_depth_grey(a: np.ndarray, mode: str) -> np.ndarray:
    """A 16-bit, 32-bit or float greyscale image -> (H, W, 3) uint8, scaled rather than clipped.

    16-bit images (Pillow modes ``I;16*``, and ``I`` holding values above 255) map 0..65535 to
    0..255; float images in [0, 1] map to 0..255; 8-bit values in an ``I`` image stay as they are.
    """
    a = a.astype(np.float64)
    if mode.startswith("I;16") or (mode == "I" and a.max() > 255):
        a = a / 257.0
    elif mode == "F" and a.min() >= 0 and a.max() <= 1:
        a = a * 255.0
    g = np.clip(np.round(a), 0, 255).astype(np.uint8)
    return np.repeat(g[:, :, None], 3, axis=2)


@functools.lru_cache(maxsize=1)
def default_map() -> np.ndarray:
    """The default world: ``data/world_map.png``, or the same map regenerated if that file is absent."""
    if DEFAULT_MAP_PATH.exists():
        arr = load_map(DEFAULT_MAP_PATH)
    else:  # e.g. a non-editable install without the data/ folder
        from .mapgen import (
            generate_map,
        )  # only here: the generator and SciPy are half of `import worldgen_env` otherwise

        warnings.warn(f"{DEFAULT_MAP_PATH} not found; generating the default map (seed 0) in memory", stacklevel=2)
        arr = generate_map(seed=0)
    arr.setflags(write=False)
    return arr
