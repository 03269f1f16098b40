"""worlddit-universal v2: one WorldDiT for maps in general, trained on the default map and maps of
the training styles (worldgen_core.styles.TRAIN_STYLES); the held-out styles are never generated here.

    python experiments/universal/train.py --out runs/universal2 --flow-seconds 270 --adv-seconds 110 --device cuda

Stage 1: flow matching from worlddit-universal v1 with the copy filter's mean fill (the streak cure);
stage 2: adversarial fine-tuning of the one-step sampler with the high-pass view; then export
(one Euler step). Each stage is a world_models.training run (resumable, Ctrl-C saves).
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from PIL import Image

from world_models.export import export
from world_models.inference import UNIVERSAL_MODEL
from world_models.training import Args, train
from worldgen_core.styles import TRAIN_STYLES, generate


def _write(job):
    style, seed, path = job
    if not path.exists():
        Image.fromarray(generate(style, seed, 768, 512)).save(path)
    return path


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--flow-seconds", type=float, default=270)
    p.add_argument("--adv-seconds", type=float, default=110)
    p.add_argument("--device", default="auto")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--jobs", type=int, default=8)
    p.add_argument("--maps-per-style", type=int, default=48, help="seeds 100, 101, ... (held-out maps use seeds from 900 on)")
    a = p.parse_args()
    maps = a.out / "maps"
    maps.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    jobs = [(s, seed, maps / f"{s}_{seed}.png") for s in TRAIN_STYLES for seed in range(100, 100 + a.maps_per_style)]
    with ProcessPoolExecutor(a.jobs) as pool:
        list(pool.map(_write, jobs))
    print(f"{len(jobs)} maps in {time.time() - t0:.0f}s", flush=True)
    common = dict(experiment="world_flow", preset="small", cfg=True, t_sampling="logit_normal", extra_maps=(str(maps),),
                  batch_size=a.batch_size, device=a.device, eval_every=0, progress=False, copy_pad="mean", lr=1e-4)
    flow = train(Args(**common, out=str(a.out / "flow"), pretrained=str(UNIVERSAL_MODEL), time_budget=a.flow_seconds, cond_noise=0.05))
    export(flow, a.out / "flow.pt")
    adv = train(Args(**common, out=str(a.out / "adversarial"), pretrained=str(a.out / "flow.pt"), time_budget=a.adv_seconds,
                     adv_weight=1.0, adv_highpass=True))
    final = export(adv, a.out / "universal.pt", steps=1, cfg_scale=1.0)
    (a.out / "done.json").write_text(json.dumps({"seconds": time.time() - t0, "styles": TRAIN_STYLES, "maps": len(jobs)}))
    print(f"wrote {final} in {time.time() - t0:.0f}s", flush=True)


if __name__ == "__main__":
    main()
