"""Recording an episode: run a policy in an env and keep its rendered frames (for GIFs)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

__all__ = ["record_episode"]


def record_episode(env: gym.Env, policy, seed: int) -> tuple[list[np.ndarray], dict]:
    """Run one episode with ``policy(obs) -> action``; returns the rendered frames and the last info."""
    obs, info = env.reset(seed=seed)
    frames = [env.render()]
    done = False
    while not done:
        obs, _, term, trunc, info = env.step(policy(obs))
        frames.append(env.render())
        done = term or trunc
    return frames, info
