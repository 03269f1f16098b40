"""Evaluate policies in the REAL env (``WorldMap-v0``): success rate, return, length, GIFs."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import gymnasium as gym
import imageio.v3 as iio
import numpy as np

from worldgen_env.envs import WorldMapVectorEnv
from worldgen_env.recording import record_episode

__all__ = ["evaluate_real", "plot_curves", "random_policy", "record_gif", "sb3_policy", "scalar_curve"]

#: obs dict of batched arrays -> actions (B,)
Policy = Callable[[dict], np.ndarray]


def random_policy(seed: int = 0) -> Policy:
    rng = np.random.default_rng(seed)
    return lambda obs: rng.integers(0, 4, len(obs["image"]))


def sb3_policy(model, deterministic: bool = True) -> Policy:
    return lambda obs: model.predict(obs, deterministic=deterministic)[0]


def evaluate_real(policy: Policy, n_episodes: int = 200, n_envs: int = 50, seed: int = 10_000, **env_kwargs) -> dict:
    """Run exactly ``n_episodes`` episodes (``n_episodes / n_envs`` per sub-env, so short episodes
    are not over-counted) from a fixed seed; returns success rate, mean return and mean length."""
    n_envs = min(n_envs, n_episodes)
    per_env = -(-n_episodes // n_envs)
    envs = WorldMapVectorEnv(num_envs=n_envs, autoreset_mode="same_step", **env_kwargs)
    obs, _ = envs.reset(seed=seed)
    done_count = np.zeros(n_envs, np.int64)
    ret = np.zeros(n_envs)
    length = np.zeros(n_envs, np.int64)
    results = []
    while (done_count < per_env).any():
        obs, r, te, tr, info = envs.step(np.asarray(policy(obs), dtype=np.int64))
        ret += r
        length += 1
        for i in np.flatnonzero(te | tr):
            if done_count[i] < per_env:
                results.append((bool(te[i]), ret[i], length[i]))
            done_count[i] += 1
            ret[i], length[i] = 0.0, 0
    results = results[:n_episodes]
    s, r, n = (np.array(x, dtype=float) for x in zip(*results))
    return {
        "success_rate": float(s.mean()),
        "mean_return": float(r.mean()),
        "mean_length": float(n.mean()),
        "episodes": len(results),
    }


def record_gif(policy: Policy, path: str | Path, n_episodes: int = 3, seed: int = 20_000, **env_kwargs) -> Path:
    """A GIF of a few real-env episodes (view | goal | minimap)."""
    env = gym.make("WorldMap-v0", render_mode="rgb_array", **env_kwargs)  # truncates at the registered length
    act = lambda obs: int(np.asarray(policy({k: v[None] for k, v in obs.items()})).reshape(-1)[0])
    frames = []
    for ep in range(n_episodes):
        episode, _ = record_episode(env, act, seed + ep)
        frames += episode + [episode[-1]] * 4  # a pause between episodes
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    iio.imwrite(path, np.stack(frames), duration=150, loop=0)
    return path


def plot_curves(
    curves: dict[str, list[list[tuple[int, float]]]],
    random_rate: float | None,
    path: str | Path,
    ylabel: str = "success rate in WorldMap-v0",
    xlabel: str = "training env steps",
    logx: bool = False,
) -> Path:
    """Success rate against training steps: one colour per name, one line per run (``random_rate``:
    a dashed line for the random policy, None for none)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4))
    for (name, runs), col in zip(curves.items(), ("tab:blue", "tab:red", "tab:green", "tab:purple")):
        for i, run in enumerate(r for r in runs if r):
            s, v = zip(*run)
            ax.plot(
                s, v, color=col, alpha=0.8, marker="o" if len(s) < 30 else None, ms=3, label=name if i == 0 else None
            )
    if random_rate is not None:
        ax.axhline(random_rate, color="gray", ls="--", label="random")
    ax.set(xlabel=xlabel, ylabel=ylabel, ylim=(0, 1.02))
    if logx:  # linear below 1,000 steps (the untrained policy's point at 0), logarithmic above
        ax.set_xscale("symlog", linthresh=1000)
        ax.set_xlim(left=0)
    ax.legend()
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def scalar_curve(tb_dir: str | Path, tag: str = "rollout/success_rate") -> list[tuple[int, float]]:
    """(step, value) pairs of one scalar from a run's tensorboard logs (every event file below
    ``tb_dir``, in step order; empty if the run logged none)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    points = {}
    for f in sorted(Path(tb_dir).rglob("events.out.tfevents.*")):
        acc = EventAccumulator(str(f), size_guidance={"scalars": 0})
        acc.Reload()
        if tag in acc.Tags()["scalars"]:
            points.update((e.step, float(e.value)) for e in acc.Scalars(tag))
    return sorted(points.items())
