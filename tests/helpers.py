"""Shared test helpers (imported as ``helpers``: tests/ is on sys.path through its conftest)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from world_models.training.trainer import AdvArgs, Args, GuidanceArgs

#: the repository root
ROOT = Path(__file__).resolve().parent.parent

#: adversarial fine-tuning settings small enough for a test run
ADV = AdvArgs(weight=0.5, batch=4, band=16)


def tiny_train_args(tmp_path: Path, **kw) -> Args:
    """``world_models.training`` settings of a 4-step tiny flow-matching run with CFG, checkpointing every 2 steps."""
    base = dict(
        experiment="world_flow",
        preset="tiny",
        out=str(tmp_path / "run"),
        steps=4,
        batch_size=4,
        eval_every=0,
        progress=False,
        bf16=False,
        cfg=GuidanceArgs(on=True),
        ckpt_every=2,
    )
    base.update(kw)
    return Args(**base)


def random_cond(B: int = 3, seed: int = 0) -> dict:
    """A seeded WorldDiT condition: (B, 3, 64, 64) views in [-1, 1] and (B,) actions."""
    g = torch.Generator().manual_seed(seed)
    return {"view": torch.rand(B, 3, 64, 64, generator=g) * 2 - 1, "action": torch.randint(0, 4, (B,), generator=g)}


def stripe_map(path: Path, colour: tuple[int, int, int], size: tuple[int, int] = (200, 160)) -> str:
    """Write a ``size`` (W, H) map of one colour with inverted stripes every 7 rows (views differ); returns its path."""
    img = np.zeros((*size[::-1], 3), np.uint8)
    img[..., :] = colour
    img[::7] = 255 - np.asarray(colour, np.uint8)
    Image.fromarray(img).save(path)
    return str(path)
