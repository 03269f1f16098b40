"""A universal WorldDiT: one model for maps in general, trained on the default map and maps of
the training styles (worldgen_core.styles.TRAIN_STYLES); the held-out styles are never generated here.

    python experiments/universal/train.py --out runs/universal2 --flow-seconds 270 --adv-seconds 110 --device cuda

Stage 1: flow matching from worlddit-universal v1 with the copy filter's mean fill (the streak cure);
stage 2: adversarial fine-tuning of the one-step sampler with the high-pass view; then export
(one Euler step). Each stage is a world_models.training run (resumable, Ctrl-C saves).
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from world_models.inference import UNIVERSAL_MODEL
from world_models.io.export import export
from world_models.training.trainer import AdvArgs, ArchArgs, Args, CondNoiseArgs, GuidanceArgs, train
from worldgen_core.cli import at_least, run_cli
from worldgen_core.styles import TRAIN_STYLES, generate


def _write(job):
    style, seed, path = job
    if not path.exists():
        Image.fromarray(generate(style, seed, 768, 512)).save(path)
    return path


@dataclass
class CliArgs:
    out: Path
    """run folder: maps/, flow/, adversarial/ and universal.pt"""
    flow_seconds: float = 270
    adv_seconds: float = 110
    device: str = "auto"
    batch_size: int = 256
    jobs: int = 8
    """processes drawing the maps"""
    maps_per_style: int = 48
    """seeds 100, 101, ... of each training style (held-out maps use seeds from 900 on)"""


def run(a: CliArgs) -> Path:
    for flag, v in (("--batch-size", a.batch_size), ("--jobs", a.jobs), ("--maps-per-style", a.maps_per_style)):
        at_least(flag, v, 1)
    maps = a.out / "maps"
    maps.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    jobs = [(s, seed, maps / f"{s}_{seed}.png") for s in TRAIN_STYLES for seed in range(100, 100 + a.maps_per_style)]
    with ProcessPoolExecutor(a.jobs) as pool:
        list(pool.map(_write, jobs))
    print(f"{len(jobs)} maps in {time.time() - t0:.0f}s", flush=True)
    common = dict(
        experiment="world_flow",
        preset="small",
        cfg=GuidanceArgs(on=True),
        t_sampling="logit_normal",
        extra_maps=(str(maps),),
        batch_size=a.batch_size,
        device=a.device,
        eval_every=0,
        progress=False,
        arch=ArchArgs(copy_pad="mean"),
        lr=1e-4,
    )
    flow = train(
        Args(
            **common,
            out=str(a.out / "flow"),
            pretrained=str(UNIVERSAL_MODEL),
            time_budget=a.flow_seconds,
            cond=CondNoiseArgs(noise=0.05),
        )
    )
    export(flow, a.out / "flow.pt")
    adv = train(
        Args(
            **common,
            out=str(a.out / "adversarial"),
            pretrained=str(a.out / "flow.pt"),
            time_budget=a.adv_seconds,
            adv=AdvArgs(weight=1.0, highpass=True),
        )
    )
    final = export(adv, a.out / "universal.pt", steps=1, cfg_scale=1.0)
    (a.out / "done.json").write_text(
        json.dumps({"seconds": time.time() - t0, "styles": TRAIN_STYLES, "maps": len(jobs)})
    )
    print(f"wrote {final} in {time.time() - t0:.0f}s", flush=True)
    return final


def main(argv=None) -> Path:
    return run_cli(CliArgs, run, argv, __doc__.split("\n\n")[0])


if __name__ == "__main__":
    main()
