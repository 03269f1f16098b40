"""Export a training checkpoint as a slim inference checkpoint (EMA weights, sampler defaults).

``python -m world_models.io.export runs/default_flow/last.pt my_model.pt --steps 2 --cfg-scale 1.0``

The result holds the config, the process, the default sampler settings and one set of weights
(the EMA ones), in the same safe format (``torch.load(weights_only=True)``); optimizer and RNG
states are dropped. It loads with ``world_models.load_world_model`` and ``DreamWorldMap-v0``.
An existing DST is never replaced without ``--force``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import tyro

from world_models.generative.processes import make_process
from world_models.generative.sampling import SamplingConfig
from world_models.io.checkpoint import load_checkpoint, save_checkpoint
from worldgen_core.cli import refuse_overwrite, run_cli

__all__ = ["Args", "export", "main"]


def export(
    src: str | Path,
    dst: str | Path,
    sampler: str | None = None,
    steps: int | None = None,
    cfg_scale: float | None = None,
    extra: dict | None = None,
    overwrite: bool = False,
) -> Path:
    """Write the slim checkpoint of ``src`` to ``dst``; ``extra`` adds plain values (e.g. the recipe's stage history).
    An existing ``dst`` is replaced only with ``overwrite``."""
    refuse_overwrite(dst, overwrite)
    ck = load_checkpoint(src)
    sampling = SamplingConfig.resolve(
        make_process(ck["process"]), ck["sampling"], sampler=sampler, steps=steps, cfg_scale=cfg_scale
    )
    slim = {
        "config": ck["config"],
        "process": ck["process"],
        "sampling": sampling.to_dict(),
        "model": ck.get("ema") or ck["model"],
        "step": ck.get("step"),
        "elapsed": ck.get("elapsed"),
        "train_args": ck.get("train_args"),
        **({"place_map": ck["place_map"]} if ck.get("place_map") else {}),
        **({"maps": ck["maps"]} if ck.get("maps") else {}),
        **({"episodes": ck["episodes"]} if ck.get("episodes") else {}),
        **(extra or {}),
    }
    return save_checkpoint(dst, slim)


@dataclass
class Args:
    """Export a training checkpoint as a slim inference checkpoint."""

    src: tyro.conf.Positional[str]
    """the training checkpoint (e.g. runs/x/last.pt)"""
    dst: tyro.conf.Positional[str]
    """where to write the slim checkpoint (.pt); an existing file is replaced only with --force"""
    sampler: str | None = None
    """default sampler stored in it (euler | heun | ddpm | ddim; default: the checkpoint's)"""
    steps: int | None = None
    """default sampler steps per frame (>= 1; default: the checkpoint's)"""
    cfg_scale: float | None = None
    """default guidance weight (1.0: none; default: the checkpoint's)"""
    force: bool = False
    """replace DST if it exists"""


def _run(a: Args) -> Path:
    out = export(a.src, a.dst, a.sampler, a.steps, a.cfg_scale, overwrite=a.force)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")
    return out


def main(argv: list[str] | None = None) -> Path:
    return run_cli(Args, _run, argv, __doc__.split("\n\n")[0])


if __name__ == "__main__":
    main()
