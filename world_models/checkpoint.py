"""Checkpoints: one format for every model and process, written atomically, loaded safely.

A checkpoint is a ``torch.save`` dict of tensors and plain Python values only, so it loads with
``torch.load(weights_only=True)``: no pickled code is ever executed.

Keys: ``format`` (version), ``config`` (ModelConfig as a dict), ``process`` (``"flow"`` /
``"ddpm"``), ``sampling`` (default sampler, steps, cfg_scale), ``model``, ``ema`` (state dicts),
``optimizer``, ``step``, ``rng``, ``train_args``, ``elapsed``.
"""

from __future__ import annotations

import os
import pickle
import tempfile
import zipfile
from pathlib import Path

import torch

__all__ = ["FORMAT", "save_checkpoint", "load_checkpoint", "CheckpointError"]

FORMAT = 1
_REQUIRED = ("config", "process", "sampling", "model")


class CheckpointError(ValueError):
    """A checkpoint file is missing, corrupted, or does not fit what it is loaded into."""


def save_checkpoint(path: str | Path, ckpt: dict) -> Path:
    """Write ``ckpt`` to ``path`` atomically (temp file in the same folder, fsync, rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    missing = [k for k in _REQUIRED if k not in ckpt]
    if missing:
        raise CheckpointError(f"refusing to save a checkpoint without {missing}")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save({"format": FORMAT, **ckpt}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path: str | Path, map_location="cpu") -> dict:
    """Load a checkpoint with ``weights_only=True``; clear errors for missing or broken files."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist; train one with train_world.py or pass the path of a .pt file")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, zipfile.BadZipFile, EOFError, OSError) as e:
        raise CheckpointError(f"checkpoint {str(path)!r} is corrupted or not a WorldGen checkpoint ({e.__class__.__name__}: {str(e)[:200]})") from e
    if not isinstance(ckpt, dict) or any(k not in ckpt for k in ("format", *_REQUIRED)):
        have = sorted(ckpt) if isinstance(ckpt, dict) else type(ckpt).__name__
        raise CheckpointError(f"checkpoint {str(path)!r} lacks keys {['format', *_REQUIRED]} (has {have}); it was not written by world_models")
    if ckpt["format"] != FORMAT:
        raise CheckpointError(f"checkpoint {str(path)!r} has format {ckpt['format']}, this code reads format {FORMAT}")
    return ckpt
