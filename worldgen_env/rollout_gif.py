"""Real vs dreamed rollouts under the same actions, as a GIF.

``python -m worldgen_env.rollout_gif [--map PATH] [--checkpoint PATH] [--steps 32] [--seed 0] [-o rollout.gif]``

Each frame: the true view | the dreamed view | the minimap with the agent. Both envs are reset
with the same seed (same start) and receive the same random actions, so any difference between
the two views is the world model's error, accumulated open-loop. Without ``--checkpoint`` the dream
uses the model ``DreamWorldMap-v0`` picks for the map (:func:`worldgen_env.dream.default_checkpoint`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import imageio.v3 as iio
import numpy as np
import tyro
from PIL import Image, ImageDraw

from worldgen_core.cli import at_least, input_file, output_file, run_cli
from worldgen_core.metrics import psnr

from .dream import DreamWorldMapEnv
from .envs import WorldMapEnv


def side_by_side_rollout(
    checkpoint=None, n_steps: int = 32, seed: int = 0, map_path=None, **dream_kwargs
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Returns (true views, dreamed views, frames): (T+1, 64, 64, 3) twice and (T+1, H, W, 3), on
    ``map_path`` (default: the shipped map), dreamed by ``checkpoint`` (default: the dream's own for the map)."""
    # The raw (unwrapped) envs keep stepping after the goal is reached: a rollout ignores the task.
    real, dream = (
        WorldMapEnv(map_path=map_path),
        DreamWorldMapEnv(checkpoint=checkpoint, map_path=map_path, **dream_kwargs),
    )
    o_r, _ = real.reset(seed=seed)
    o_d, _ = dream.reset(seed=seed)
    actions = np.random.default_rng(seed).integers(0, 4, n_steps)
    true, fake, frames = [o_r["image"]], [o_d["image"]], []
    frames.append(_frame(real, o_r["image"], o_d["image"], 0))
    for i, a in enumerate(actions):
        o_r, *_ = real.step(int(a))
        o_d, *_ = dream.step(int(a))
        true.append(o_r["image"])
        fake.append(o_d["image"])
        frames.append(_frame(real, o_r["image"], o_d["image"], i + 1))
    return np.stack(true), np.stack(fake), np.stack(frames)


def _frame(env: WorldMapEnv, true: np.ndarray, fake: np.ndarray, t: int, scale: int = 3) -> np.ndarray:
    base = env.core.render_frame(true, fake, env._pos[0], env._pos[0], scale=scale)
    im = Image.fromarray(base)
    d = ImageDraw.Draw(im)
    side = 64 * scale
    d.rectangle([8 + side + 8, 8, 8 + side + 8 + 40, 20], fill=(24, 24, 28))
    d.text((8 + side + 11, 10), "dream", fill=(255, 255, 255))
    d.rectangle([8, 8, 8 + 30, 20], fill=(24, 24, 28))
    d.text((11, 10), "real", fill=(255, 255, 255))
    d.text((8 + 2 * side - 40, side - 6), f"t={t}", fill=(255, 255, 255))
    return np.asarray(im)


@dataclass
class CliArgs:
    """Real vs dreamed rollouts under the same actions, as a GIF."""

    checkpoint: str | None = None
    """world-model checkpoint (default: the one DreamWorldMap-v0 picks for the map)"""
    map: str | None = None
    """world-map image (default: data/world_map.png)"""
    steps: int = 32
    """steps of the rollout"""
    seed: int = 0
    sampler: str | None = None
    """sampler of the dream (default: the checkpoint's)"""
    sampler_steps: int | None = None
    """sampler steps per dreamed frame (default: the checkpoint's)"""
    output: Annotated[Path, tyro.conf.arg(aliases=("-o",))] = Path("runs/rollout.gif")
    """the GIF to write"""

    def check(self) -> None:
        """Every value, before any work (a ``ValueError``: one ``error:`` line from the command line)."""
        at_least("--steps", self.steps, 1)
        at_least("--seed", self.seed, 0)
        if self.sampler_steps is not None:
            at_least("--sampler-steps", self.sampler_steps, 1)
        if self.checkpoint is not None:
            input_file("--checkpoint", self.checkpoint, "train_world.py checkpoint")
        if self.map is not None:
            input_file("--map", self.map, "world-map image")
        output_file("--output", self.output)


def run(a: CliArgs) -> Path:
    a.check()
    true, fake, frames = side_by_side_rollout(
        a.checkpoint, a.steps, a.seed, map_path=a.map, sampler=a.sampler, steps=a.sampler_steps
    )
    iio.imwrite(a.output, frames, duration=150, loop=0, extension=".gif")
    curve = [psnr(fake[i : i + 1], true[i : i + 1]) for i in range(1, len(true))]
    print(
        f"wrote {a.output}; PSNR dream vs real at steps 1/4/16: "
        + " / ".join(f"{curve[i - 1]:.1f}" for i in (1, 4, 16) if i <= len(curve))
    )
    return a.output


def main(argv=None) -> Path:
    return run_cli(CliArgs, run, argv, __doc__.split("\n\n")[0])


def cli() -> None:
    """The console script (setup.cfg): ``main`` without its return value, which would become the exit status."""
    main()


if __name__ == "__main__":
    main()
