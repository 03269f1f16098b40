"""Real vs dreamed rollouts under the same actions, as a GIF.

``python -m worldgen_env.rollout_gif [--checkpoint PATH] [--steps 32] [--seed 0] [-o rollout.gif]``

Each frame: the true view | the dreamed view | the minimap with the agent. Both envs are reset
with the same seed (same start) and receive the same random actions, so any difference between
the two views is the world model's error, accumulated open-loop.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import imageio.v3 as iio
import numpy as np
from PIL import Image, ImageDraw

from world_models.metrics import psnr

from .dream import DreamWorldMapEnv
from .envs import WorldMapEnv


def side_by_side_rollout(checkpoint=None, n_steps: int = 32, seed: int = 0, **dream_kwargs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Returns (true views, dreamed views, frames): (T+1, 64, 64, 3) twice and (T+1, H, W, 3)."""
    # The raw (unwrapped) envs keep stepping after the goal is reached: a rollout ignores the task.
    real, dream = WorldMapEnv(), DreamWorldMapEnv(checkpoint=checkpoint, **dream_kwargs)
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


def main(argv=None) -> Path:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", default=None)
    p.add_argument("--steps", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--sampler", default=None)
    p.add_argument("--sampler-steps", type=int, default=None)
    p.add_argument("-o", "--output", type=Path, default=Path("runs/rollout.gif"))
    a = p.parse_args(argv)
    true, fake, frames = side_by_side_rollout(a.checkpoint, a.steps, a.seed, sampler=a.sampler, steps=a.sampler_steps)
    a.output.parent.mkdir(parents=True, exist_ok=True)
    iio.imwrite(a.output, frames, duration=150, loop=0)
    curve = [psnr(fake[i : i + 1], true[i : i + 1]) for i in range(1, len(true))]
    print(f"wrote {a.output}; PSNR dream vs real at steps 1/4/16: " + " / ".join(f"{curve[i - 1]:.1f}" for i in (1, 4, 16) if i <= len(curve)))
    return a.output


if __name__ == "__main__":
    main()
