"""Model soup (Wortsman et al., ICML 2022): the weighted average of world models fine-tuned from one
checkpoint, written as one slim checkpoint.

``python experiments/soup/soup.py OUT.pt A.pt B.pt C.pt [--weights 1 1 2] [--force]``

Fine-tunes of one model stay in one basin of the loss, so their average is a model too, and often
a better one than each: adversarial fine-tuning oscillates, and averaging runs that stopped at
different points of the oscillation cancels some of it (docs/results/worlddit-worldmap-v3.md). The sources
must share the config, the process and the map their place field knows; floating-point tensors
are averaged, the others must be equal. The weights averaged are those every loader uses: a
training checkpoint's EMA weights when it has them (as ``load_world_model`` and export), else its
``model``; the soup is a slim checkpoint of the average alone. The sampler settings are the first
source's. An existing OUT is replaced only with ``--force``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch
import tyro

from world_models.io.checkpoint import CheckpointError, digest, load_checkpoint, save_checkpoint
from worldgen_core.cli import refuse_overwrite, run_cli

__all__ = ["Args", "soup", "main"]

#: a training checkpoint's state besides its weights: not a property of the averaged model
TRAINING_STATE = ("ema", "ema_n", "optimizer", "rng", "adversary", "rollout")


def loaded_weights(ck: dict) -> dict:
    """The weights a loader takes from a checkpoint: its EMA weights when it has them, else ``model``."""
    return ck.get("ema") or ck["model"]


def soup(srcs: list[str | Path], dst: str | Path, weights: list[float] | None = None, overwrite: bool = False) -> Path:
    """Write the ``weights``-weighted average (default: uniform) of the checkpoints ``srcs`` to ``dst``."""
    if len(srcs) < 2:
        raise ValueError(f"a soup needs at least two checkpoints, got {len(srcs)}")
    weights = [1.0] * len(srcs) if weights is None else [float(w) for w in weights]
    if len(weights) != len(srcs) or not all(0 <= w < math.inf for w in weights) or sum(weights) <= 0:
        raise ValueError(
            f"weights must be one non-negative number per checkpoint (finite), not all 0; got {weights} for "
            f"{len(srcs)} checkpoints"
        )
    refuse_overwrite(dst, overwrite)
    cks = [load_checkpoint(s) for s in srcs]
    first = cks[0]
    states = [loaded_weights(ck) for ck in cks]
    for s, ck, st in zip(srcs[1:], cks[1:], states[1:]):
        for key in ("config", "process", "place_map"):
            if ck.get(key) != first.get(key):
                raise CheckpointError(
                    f"{str(s)!r} differs from {str(srcs[0])!r} in {key!r} ({ck.get(key)!r} vs {first.get(key)!r}): "
                    "a soup averages fine-tunes of one model on one map"
                )
        if {k: tuple(v.shape) for k, v in st.items()} != {k: tuple(v.shape) for k, v in states[0].items()}:
            raise CheckpointError(f"{str(s)!r} has other parameters than {str(srcs[0])!r}")
    total = sum(weights)
    model = {}
    for k, v in states[0].items():
        if v.is_floating_point():
            model[k] = (sum(st[k].double() * w for st, w in zip(states, weights)) / total).to(v.dtype)
        else:
            if any(not torch.equal(st[k], v) for st in states[1:]):
                raise CheckpointError(
                    f"tensor {k!r} is not floating-point and differs between the checkpoints: it cannot be averaged"
                )
            model[k] = v
    sources = [{"path": str(s), "sha256": digest(ck), "weight": w} for s, ck, w in zip(srcs, cks, weights)]
    kept = {k: v for k, v in first.items() if k not in TRAINING_STATE}
    return save_checkpoint(
        dst, {**kept, "model": model, "soup": sources}
    )  # (save_checkpoint writes its own format and sha256)


@dataclass
class Args:
    """Average world models fine-tuned from one checkpoint into one slim checkpoint."""

    dst: tyro.conf.Positional[str]
    """where to write the averaged checkpoint (.pt)"""
    srcs: tyro.conf.Positional[tuple[str, ...]]
    """two or more checkpoints of one lineage (exported or training checkpoints)"""
    weights: tuple[float, ...] | None = None
    """one finite, non-negative number per checkpoint (default: uniform)"""
    force: bool = False
    """overwrite DST if it exists"""


def _run(a: Args) -> Path:
    out = soup(list(a.srcs), a.dst, None if a.weights is None else list(a.weights), a.force)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB): the average of {len(a.srcs)} checkpoints")
    return out


def main(argv: list[str] | None = None) -> Path:
    return run_cli(Args, _run, argv, __doc__.split("\n\n")[0])


if __name__ == "__main__":
    main()
