"""Env throughput: ``python -m worldgen_env.benchmark [--dream] [--seconds S] [--repeats R]``.

Prints env-steps/s (median of R timed runs) of the single ``WorldMap-v0`` env and of the batched
vector env at several ``num_envs``; one vector step of N envs counts as N env-steps.

``--dream`` measures ``DreamWorldMap-v0``'s vector env instead, at N = 1, 16, 64, 256, for the
shipped model's default sampler settings and for the original research's inference setting (the
``seed`` preset, 10 Euler steps with CFG; speed does not depend on the weights, so an untrained
model of that architecture is used), in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import time

import gymnasium as gym
import numpy as np

import worldgen_env  # noqa: F401  (registers the envs)


def _time_single(env_id: str, seconds: float, env_kwargs: dict) -> float:
    env = gym.make(env_id, **env_kwargs)
    env.reset(seed=0)
    actions = np.random.default_rng(0).integers(0, 4, 100_000)
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for _ in range(200):
            _, _, term, trunc, _ = env.step(int(actions[n % len(actions)]))
            n += 1
            if term or trunc:
                env.reset()
    rate = n / (time.perf_counter() - t0)
    env.close()
    return rate


def time_vector(env_id: str, num_envs: int, seconds: float, env_kwargs: dict) -> float:
    """Env-steps/s of one timed run of a vector env of ``num_envs`` (random actions, after one warm-up step)."""
    envs = gym.make_vec(env_id, num_envs=num_envs, **env_kwargs)
    envs.reset(seed=0)
    actions = np.random.default_rng(0).integers(0, 4, (1000, num_envs))
    envs.step(actions[-1])  # warm-up (first model call, allocations)
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        envs.step(actions[n % 1000])
        n += 1
    rate = n * num_envs / (time.perf_counter() - t0)
    envs.close()
    return rate


def run(env_id: str = "WorldMap-v0", sizes=(1, 16, 256), seconds: float = 1.0, repeats: int = 5, env_kwargs: dict | None = None, single: bool = True) -> dict[str, float]:
    """Median env-steps/s for the single env (key ``single``) and each vector size (``vec{N}``)."""
    env_kwargs = env_kwargs or {}
    out = {}
    if single:
        out["single"] = statistics.median(_time_single(env_id, seconds, env_kwargs) for _ in range(repeats))
    for n in sizes:
        out[f"vec{n}"] = statistics.median(time_vector(env_id, n, seconds, env_kwargs) for _ in range(repeats))
    return out


def seed_setting_checkpoint(path) -> str:
    """An (untrained) checkpoint of the original research's model and inference setting."""
    from world_models import build_model, preset
    from world_models.checkpoint import save_checkpoint

    cfg = preset("seed")
    save_checkpoint(path, {"config": cfg.to_dict(), "process": "flow", "sampling": {"sampler": "euler", "steps": 10, "cfg_scale": 1.5},
                           "model": build_model(cfg).state_dict()})
    return str(path)


def dream(sizes=(1, 16, 64, 256), seconds: float = 2.0, repeats: int = 3, checkpoint=None, dtype="bfloat16", seed_dtype="float32") -> dict:
    """Dream vector-env steps/s for the default settings and the seed setting, per N."""
    import tempfile
    from pathlib import Path

    settings = {"default": dict(checkpoint=checkpoint, dtype=dtype)}
    with tempfile.TemporaryDirectory() as d:
        settings["seed"] = dict(checkpoint=seed_setting_checkpoint(Path(d) / "seed.pt"), dtype=seed_dtype)
        out = {}
        for name, kw in settings.items():
            for n in sizes:
                out[(name, n)] = statistics.median(time_vector("DreamWorldMap-v0", n, seconds, kw) for _ in range(repeats))
                print(f"{name:<8} N={n:<4} {out[(name, n)]:>10.1f} env-steps/s", flush=True)
    for n in sizes:
        print(f"N={n}: default / seed = {out[('default', n)] / out[('seed', n)]:.0f}x")
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=1.0, help="length of one timed run")
    p.add_argument("--repeats", type=int, default=5, help="timed runs per setting (the median is printed)")
    p.add_argument("--sizes", type=int, nargs="+", default=None, help="num_envs values (default 1 16 256; --dream: 1 16 64 256)")
    p.add_argument("--dream", action="store_true", help="benchmark DreamWorldMap-v0 (default model vs the seed setting)")
    p.add_argument("--checkpoint", default=None, help="--dream: world model (default: the shipped one)")
    a = p.parse_args(argv)
    if a.dream:
        return dream(a.sizes or (1, 16, 64, 256), a.seconds, a.repeats, a.checkpoint)
    res = run(sizes=a.sizes or (1, 16, 256), seconds=a.seconds, repeats=a.repeats)
    base = res["single"]
    print(f"{'env':<16}{'env-steps/s':>14}{'x single':>10}")
    for k, v in res.items():
        name = "single" if k == "single" else f"vector N={k[3:]}"
        print(f"{name:<16}{v:>14,.0f}{v / base:>10.1f}")
    return res


if __name__ == "__main__":
    main()
