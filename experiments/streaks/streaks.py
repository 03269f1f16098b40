"""Streaks along the motion, in absolute terms: the stripes parallel to the motion (worldbench's ``streaks``: column
means when moving up/down, row means when moving left/right, high-passed along the profile, RMS) of the dream against
the real env's, after 4, 8 and 16 moves of straight walks (``--walks`` per direction, random starts that fit).
worldbench reports the same measure as a ratio to the real frames' at step 16; here both sides are printed.

    python experiments/streaks/streaks.py v3=v3.pt v4=v4.pt
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import tyro

from worldbench import runners
from worldbench.models import parse_spec
from worldgen_core.cli import at_least, run_cli
from worldgen_core.metrics import streaks
from worldgen_core.world import WorldCore


@dataclass
class CliArgs:
    models: tyro.conf.Positional[tuple[str, ...]]
    """worldbench model specs, NAME=PATH.pt ..."""
    map: str | None = None
    """world-map image (default: data/world_map.png)"""
    walks: int = 64
    """straight walks per direction"""
    steps: tuple[int, ...] = (4, 8, 16)
    """moves after which the stripes are measured (the walks are as long as the largest)"""
    seed: int = 0
    device: str = "auto"
    threads: int = 2
    """torch CPU threads"""


def run(a: CliArgs) -> dict[str, dict[int, dict[str, float]]]:
    for flag, v in (("--walks", a.walks), ("--threads", a.threads), *(("--steps", s) for s in a.steps)):
        at_least(flag, v, 1)
    torch.set_num_threads(a.threads)
    core = WorldCore(a.map)
    entries = [parse_spec(m, core, a.device) for m in a.models]
    T, rng = max(a.steps), np.random.default_rng(a.seed)
    acts = np.repeat(np.arange(4), a.walks)  # UP DOWN LEFT RIGHT
    starts = np.stack(
        [rng.integers(T, core.grid[0] - T, 4 * a.walks), rng.integers(T, core.grid[1] - T, 4 * a.walks)], 1
    )
    vertical = acts < 2  # moving up/down: the stripes run along the columns
    out = {}
    for e in entries:
        true, fake = runners.run_episodes(e.make, core, starts, np.repeat(acts[:, None], T, 1), a.seed)
        out[e.name] = {
            t: {
                f"{side} {part}": streaks(x[:, t], vertical, part)
                for side, x in (("dream", fake), ("real", true))
                for part in ("chroma", "luma")
            }
            for t in a.steps
        }
        print(
            e.name,
            " | ".join(
                f"step {t}: chroma {r['dream chroma']:.2f} (real {r['real chroma']:.2f}) luma {r['dream luma']:.2f} "
                f"(real {r['real luma']:.2f})"
                for t, r in out[e.name].items()
            ),
            flush=True,
        )
    return out


def main(argv: list[str] | None = None) -> dict[str, dict[int, dict[str, float]]]:
    return run_cli(CliArgs, run, argv, __doc__.split("\n\n")[0])


if __name__ == "__main__":
    main()
