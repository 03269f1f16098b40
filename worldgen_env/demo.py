"""A quick look at ``WorldMap-v0``: one random-policy episode saved as a GIF (view | goal | minimap).

``python -m worldgen_env.demo --out runs/demo``. (The main job, ``make demo``, is
``train_agent.py``: PPO trained inside the dream, evaluated in the real env.)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import imageio.v3 as iio
import numpy as np

import worldgen_env  # noqa: F401  (registers the envs)
from worldgen_core.cli import run_cli

from .recording import record_episode


@dataclass
class Args:
    out: Path = Path("runs/demo")
    """folder for random_episode.gif"""
    seed: int = 0

    def __post_init__(self):
        if self.seed < 0:
            raise ValueError(f"--seed must be >= 0, got {self.seed}")


def record(a: Args) -> Path:
    env = gym.make("WorldMap-v0", render_mode="rgb_array")
    env.action_space.seed(a.seed)
    frames, info = record_episode(env, lambda obs: env.action_space.sample(), a.seed)
    a.out.mkdir(parents=True, exist_ok=True)
    path = a.out / "random_episode.gif"
    iio.imwrite(path, np.stack(frames), duration=125, loop=0)
    print(f"random policy: {len(frames) - 1} steps, success={info['is_success']}; episode GIF: {path}")
    return path


def main(argv=None) -> Path:
    return run_cli(Args, record, argv, __doc__.split("\n\n")[0])


if __name__ == "__main__":
    main()
