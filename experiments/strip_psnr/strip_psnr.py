"""Revealed-strip PSNR of world models on the benchmark's one-step transitions: the same dream path and measure as
worldbench's "new strip dB" (and "known dB"), without the rest of the benchmark: a check during training.

    python experiments/strip_psnr/strip_psnr.py v5=runs/v5/dec128_20min.pt v4=v4.pt                  (1,000 seed-0
    transitions)
    python experiments/strip_psnr/strip_psnr.py field=runs/v2/last.pt "no field=runs/v2/last.pt?place=0" --n 500

MODEL: a worldbench model spec (``[NAME=]PATH.pt[?steps=N&cfg=W&place=0|1]``, ``copy``, ``shift``, ``oracle``): a
training ``last.pt`` is measured with its EMA weights; ``?place=0`` leaves a place field out.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import tyro

from worldbench import runners
from worldbench.models import parse_spec
from worldgen_core.cli import at_least, run_cli
from worldgen_core.metrics import masked_psnr
from worldgen_core.world import WorldCore


@dataclass
class CliArgs:
    models: tyro.conf.Positional[tuple[str, ...]]
    """worldbench model specs, NAME=PATH.pt[?place=0] ..."""
    map: str | None = None
    """world-map image (default: data/world_map.png)"""
    n: int = 1000
    """one-step transitions (the benchmark's: 1000)"""
    seed: int = 0
    device: str = "auto"
    threads: int = 1
    """torch CPU threads"""


def run(a: CliArgs) -> dict[str, dict[str, float]]:
    at_least("--n", a.n, 1)
    at_least("--threads", a.threads, 1)
    torch.set_num_threads(a.threads)
    core = WorldCore(a.map)
    entries = [parse_spec(m, core, a.device) for m in a.models]
    starts, acts = runners.transitions(core, a.n, a.seed)
    out = {}
    for e in entries:
        true, fake = runners.run_episodes(e.make, core, starts, acts, a.seed)
        out[e.name] = {
            f"{part}_db": masked_psnr(fake[:, 1], true[:, 1], acts[:, 0], part == "strip", core.task.stride)
            for part in ("strip", "known")
        }
        print(f"{e.name}: strip {out[e.name]['strip_db']:.2f} dB, known {out[e.name]['known_db']:.2f} dB", flush=True)
    return out


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    return run_cli(CliArgs, run, argv, __doc__.split("\n\n")[0])


if __name__ == "__main__":
    main()
