"""Checkpoints: one format for every model and process, written atomically, loaded safely.

A checkpoint is a ``torch.save`` dict of tensors and plain Python values only, so it loads with
``torch.load(weights_only=True)``: no pickled code is ever executed.

Keys: ``format`` (version), ``config`` (ModelConfig as a dict), ``process`` (``"flow"`` /
``"ddpm"``), ``sampling`` (default sampler, steps, cfg_scale), ``model``, ``ema`` (state dicts),
``optimizer``, ``step``, ``rng``, ``train_args``, ``elapsed``, and ``sha256``: a digest of every
other entry (tensor bytes included), checked on load, so a flipped bit is an error, not a silently
different model. Files written before the digest existed load without the check. Weights with a
NaN or inf value are refused on load (:func:`first_non_finite`): such a model only dreams blank views.

:func:`atomic_save` is the one writer (also for the agent trainer's checkpoints), through
:func:`worldgen_core.files.atomic_write`: the file is the old one or the new one, and a SIGINT or
SIGTERM that arrives while it is written is delivered once it is in place (Ctrl-C during a periodic
save interrupts the run after the save, not in the middle of ``torch.save``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch

from worldgen_core.files import atomic_write

__all__ = [
    "FORMAT",
    "save_checkpoint",
    "load_checkpoint",
    "first_non_finite",
    "atomic_save",
    "safe_load",
    "digest",
    "CheckpointError",
]

FORMAT = 1
_REQUIRED = ("config", "process", "sampling", "model")


class CheckpointError(ValueError):
    """A checkpoint file is missing, corrupted, or does not fit what it is loaded into."""


def digest(obj) -> str:
    """sha256 of a nest of dicts, lists, tensors and plain values (tensor dtype, shape and bytes)."""
    h = hashlib.sha256()

    def walk(x):
        if isinstance(x, torch.Tensor):
            t = x.detach().cpu().contiguous().reshape(-1)
            h.update(f"T{t.dtype}{tuple(x.shape)}".encode())
            h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
        elif isinstance(x, dict):
            h.update(b"{")
            for k in sorted(x, key=repr):
                h.update(repr(k).encode())
                walk(x[k])
            h.update(b"}")
        elif isinstance(x, (list, tuple)):
            h.update(b"[" if isinstance(x, list) else b"(")
            for v in x:
                walk(v)
            h.update(b"]")
        else:
            h.update(repr(x).encode())

    walk(obj)
    return h.hexdigest()


def atomic_save(path: str | Path, obj) -> Path:
    """``torch.save(obj)`` to ``path`` atomically: the file is either the old one or the new one."""
    return atomic_write(path, lambda f: torch.save(obj, f))


def safe_load(path: str | Path, what: str = "checkpoint", map_location="cpu"):
    """``torch.load(weights_only=True)`` whose every failure is a :class:`CheckpointError` naming the file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(
            f"{what} {str(path)!r} does not exist; pass the path of a .pt file written by this project"
        )
    try:
        obj = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # noqa: BLE001 - random bytes raise anything (IndexError, KeyError, UnicodeDecodeError, ...)
        raise CheckpointError(
            f"{what} {str(path)!r} is corrupted or not a WorldGen checkpoint ({e.__class__.__name__}: {str(e)[:200]})"
        ) from e
    if isinstance(obj, dict) and "sha256" in obj:
        want = obj.pop("sha256")
        if digest(obj) != want:
            raise CheckpointError(
                f"{what} {str(path)!r} is corrupted: its contents do not match the sha256 stored in it "
                "(a damaged copy or disk); use another copy, or an earlier checkpoint"
            )
    return obj


def save_checkpoint(path: str | Path, ckpt: dict) -> Path:
    """Write ``ckpt`` (with ``format`` and its ``sha256``) to ``path`` atomically."""
    missing = [k for k in _REQUIRED if k not in ckpt]
    if missing:
        raise CheckpointError(f"refusing to save a checkpoint without {missing}")
    body = {"format": FORMAT, **{k: v for k, v in ckpt.items() if k not in ("format", "sha256")}}
    return atomic_save(path, {**body, "sha256": digest(body)})


def load_checkpoint(path: str | Path, map_location="cpu") -> dict:
    """Load a checkpoint with ``weights_only=True``; clear errors for missing, broken or altered files."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(
            f"checkpoint {str(path)!r} does not exist; train one with train_world.py or pass the path of a .pt file"
        )
    ckpt = safe_load(path, "checkpoint", map_location)
    if not isinstance(ckpt, dict) or any(k not in ckpt for k in ("format", *_REQUIRED)):
        have = sorted(map(str, ckpt)) if isinstance(ckpt, dict) else type(ckpt).__name__
        raise CheckpointError(
            f"checkpoint {str(path)!r} lacks keys {['format', *_REQUIRED]} (has {have}); it was not written by "
            "world_models"
        )
    if ckpt["format"] != FORMAT:
        raise CheckpointError(f"checkpoint {str(path)!r} has format {ckpt['format']}, this code reads format {FORMAT}")
    for key in ("model", "ema"):
        bad = first_non_finite(ckpt.get(key) or {})
        if bad:
            raise CheckpointError(
                f"checkpoint {str(path)!r} holds weights that are not finite ({key}: {bad} has NaN or inf values); "
                "it would dream blank views. Use an earlier checkpoint of its run"
            )
    return ckpt


def first_non_finite(state: dict) -> str | None:
    """The name of the first floating-point tensor of a state dict with a NaN or inf value, or None."""
    return next(
        (
            k
            for k, v in state.items()
            if isinstance(v, torch.Tensor) and v.is_floating_point() and not torch.isfinite(v).all()
        ),
        None,
    )
