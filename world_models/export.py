"""Export a training checkpoint as a slim inference checkpoint (EMA weights, sampler defaults).

``python -m world_models.export runs/default_flow/last.pt data/world_model.pt --steps 2 --cfg-scale 1.0``

The result holds the config, the process, the default sampler settings and one set of weights
(the EMA ones), in the same safe format (``torch.load(weights_only=True)``); optimizer and RNG
states are dropped. It loads with ``world_models.load_world_model`` and ``DreamWorldMap-v0``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .checkpoint import load_checkpoint, save_checkpoint
from .processes import make_process
from .sampling import SamplingConfig


def export(src: str | Path, dst: str | Path, sampler: str | None = None, steps: int | None = None, cfg_scale: float | None = None,
           extra: dict | None = None) -> Path:
    """Write the slim checkpoint of ``src`` to ``dst``; ``extra`` adds plain values (e.g. the recipe's stage history)."""
    ck = load_checkpoint(src)
    sampling = SamplingConfig.resolve(make_process(ck["process"]), ck["sampling"], sampler=sampler, steps=steps, cfg_scale=cfg_scale)
    slim = {"config": ck["config"], "process": ck["process"], "sampling": sampling.to_dict(), "model": ck.get("ema") or ck["model"],
            "step": ck.get("step"), "elapsed": ck.get("elapsed"), "train_args": ck.get("train_args"),
            **({"place_map": ck["place_map"]} if ck.get("place_map") else {}), **(extra or {})}
    return save_checkpoint(dst, slim)


def main(argv=None) -> Path:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("src")
    p.add_argument("dst")
    p.add_argument("--sampler", default=None)
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--cfg-scale", type=float, default=None)
    a = p.parse_args(argv)
    out = export(a.src, a.dst, a.sampler, a.steps, a.cfg_scale)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")
    return out


if __name__ == "__main__":
    main()
