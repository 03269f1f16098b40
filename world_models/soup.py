"""Model soup (Wortsman et al., ICML 2022): the weighted average of world models fine-tuned from one
checkpoint, written as one slim checkpoint.

``python -m world_models.soup OUT.pt A.pt B.pt C.pt [--weights 1 1 2] [--force]``

Fine-tunes of one model stay in one basin of the loss, so their average is a model too, and often
a better one than each: adversarial fine-tuning oscillates, and averaging runs that stopped at
different points of the oscillation cancels some of it (docs/RESULTS.md, session 10). The sources
must share the config, the process and the map their place field knows; floating-point tensors
are averaged, the others must be equal. The sampler settings are the first source's.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from .checkpoint import CheckpointError, digest, load_checkpoint, save_checkpoint

__all__ = ["soup"]


def soup(srcs: list[str | Path], dst: str | Path, weights: list[float] | None = None, overwrite: bool = False) -> Path:
    """Write the ``weights``-weighted average (default: uniform) of the checkpoints ``srcs`` to ``dst``."""
    if len(srcs) < 2:
        raise ValueError(f"a soup needs at least two checkpoints, got {len(srcs)}")
    weights = [1.0] * len(srcs) if weights is None else [float(w) for w in weights]
    if len(weights) != len(srcs) or min(weights) < 0 or sum(weights) <= 0:
        raise ValueError(f"weights must be one non-negative number per checkpoint, not all 0; got {weights} for {len(srcs)} checkpoints")
    if Path(dst).exists() and not overwrite:
        raise FileExistsError(f"{str(dst)!r} exists; pass another path, or overwrite=True (--force)")
    cks = [load_checkpoint(s) for s in srcs]
    first = cks[0]
    for s, ck in zip(srcs[1:], cks[1:]):
        for key in ("config", "process", "place_map"):
            if ck.get(key) != first.get(key):
                raise CheckpointError(f"{str(s)!r} differs from {str(srcs[0])!r} in {key!r} ({ck.get(key)!r} vs {first.get(key)!r}): "
                                      "a soup averages fine-tunes of one model on one map")
        if {k: tuple(v.shape) for k, v in ck["model"].items()} != {k: tuple(v.shape) for k, v in first["model"].items()}:
            raise CheckpointError(f"{str(s)!r} has other parameters than {str(srcs[0])!r}")
    total = sum(weights)
    model = {}
    for k, v in first["model"].items():
        if v.is_floating_point():
            model[k] = (sum(ck["model"][k].double() * w for ck, w in zip(cks, weights)) / total).to(v.dtype)
        else:
            if any(not torch.equal(ck["model"][k], v) for ck in cks[1:]):
                raise CheckpointError(f"tensor {k!r} is not floating-point and differs between the checkpoints: it cannot be averaged")
            model[k] = v
    sources = [{"path": str(s), "sha256": digest(ck), "weight": w} for s, ck, w in zip(srcs, cks, weights)]
    return save_checkpoint(dst, {**first, "model": model, "soup": sources})  # (save_checkpoint writes its own format and sha256)


def main(argv=None) -> Path:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("dst", help="where to write the averaged checkpoint")
    p.add_argument("srcs", nargs="+", help="two or more exported checkpoints of one lineage")
    p.add_argument("--weights", type=float, nargs="+", default=None, help="one per checkpoint (default: uniform)")
    p.add_argument("--force", action="store_true", help="overwrite dst if it exists")
    a = p.parse_args(argv)
    try:
        out = soup(a.srcs, a.dst, a.weights, a.force)
    except (ValueError, FileExistsError, CheckpointError) as e:
        raise SystemExit(f"error: {e}") from e
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB): the average of {len(a.srcs)} checkpoints")
    return out


if __name__ == "__main__":
    main()
