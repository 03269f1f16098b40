"""Env throughput: ``python -m worldgen_env.speed [--dream] [--seconds S] [--repeats R]``.

Prints env-steps/s (median of R timed runs) of the single ``WorldMap-v0`` env and of the batched
vector env at several ``num_envs``; one vector step of N envs counts as N env-steps.

``--dream`` measures ``DreamWorldMap-v0``'s vector env instead, at N = 1, 16, 64, 256 (``--sizes``),
on CUDA when there is one (``--device``), with and without the dream's memory, and optionally the
original research's inference setting (``--settings seed``: the ``seed`` preset, 10 Euler steps with
CFG; speed does not depend on the weights, so an untrained model of that architecture is used), in
the same run; then the model alone at the largest N: frames/s, FLOPs per frame and the share of
this device's measured matmul peak.
"""

from __future__ import annotations

import platform
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import gymnasium as gym
import numpy as np
import torch

import worldgen_env  # noqa: F401  (registers the envs)
from world_models import build_model, preset
from world_models.inference import resolve_device, resolve_dtype
from world_models.io.checkpoint import save_checkpoint
from world_models.speed import matmul_peak, model_rate
from worldgen_core.cli import at_least, input_file, run_cli

from .dream import DEFAULT_WORLD_MODEL, load_dream_model


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


def run(
    env_id: str = "WorldMap-v0",
    sizes=(1, 16, 256),
    seconds: float = 1.0,
    repeats: int = 5,
    env_kwargs: dict | None = None,
    single: bool = True,
) -> dict[str, float]:
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
    config = preset("seed")
    save_checkpoint(
        path,
        {
            "config": config.to_dict(),
            "process": "flow",
            "sampling": {"sampler": "euler", "steps": 10, "cfg_scale": 1.5},
            "model": build_model(config).state_dict(),
        },
    )
    return str(path)


def dream(
    sizes=(1, 16, 64, 256),
    seconds: float = 2.0,
    repeats: int = 3,
    checkpoint=None,
    dtype="auto",
    device="auto",
    settings=("memory", "no-memory"),
    compile: bool = False,
    seed_dtype="float32",
) -> dict:
    """Dream vector-env steps/s per setting and N, then the model alone at the largest N and its
    share of this device's measured matmul peak.

    Settings: ``memory`` (the default dream), ``no-memory`` (next view from the current view only:
    every moved sub-env is generated) and ``seed`` (the original research's inference setting:
    10 Euler steps with CFG, an untrained model of its architecture; slow: minutes per step at N=256 on a CPU).
    """
    dev = resolve_device(device)
    dt = resolve_dtype(dtype, dev)
    name = str(dt).removeprefix("torch.")
    print(f"device {dev} ({torch_device_name(dev)}), dtype {name}{', compiled' if compile else ''}", flush=True)
    kw = dict(checkpoint=checkpoint, dtype=name, device=str(dev), compile=compile)
    out = {}
    with tempfile.TemporaryDirectory() as d:
        kws = {"memory": dict(kw), "no-memory": dict(kw, memory=False)}
        if "seed" in settings:
            kws["seed"] = dict(
                kw, checkpoint=seed_setting_checkpoint(Path(d) / "seed.pt"), dtype=seed_dtype, memory=False
            )
        for setting in settings:
            for n in sizes:
                out[(setting, n)] = statistics.median(
                    time_vector("DreamWorldMap-v0", n, seconds, kws[setting]) for _ in range(repeats)
                )
                print(f"{setting:<10} N={n:<5} {out[(setting, n)]:>10.1f} env-steps/s", flush=True)
    for n in sizes:
        if "seed" in settings and "memory" in settings:
            print(f"N={n}: default / seed = {out[('memory', n)] / out[('seed', n)]:.0f}x")
    wm = load_dream_model(str(checkpoint or DEFAULT_WORLD_MODEL), str(dev), name, compile)
    n = max(sizes)
    fps, flops = model_rate(wm, n, seconds, repeats)
    peak = matmul_peak(dev, dt)
    out["model_frames_s"], out["flops_per_frame"], out["peak_flops"] = fps, flops, peak
    out["peak_share"] = fps * flops / peak
    print(
        f"model alone at batch {n}: {fps:,.0f} frames/s x {flops / 1e6:.0f} MFLOP/frame = {fps * flops / 1e9:,.1f} "
        "GFLOP/s, "
        f"{100 * out['peak_share']:.0f}% of this device's measured {name} matmul peak ({peak / 1e9:,.0f} GFLOP/s)"
    )
    return out


def torch_device_name(dev) -> str:
    if dev.type == "cuda":
        return torch.cuda.get_device_name(dev)
    return f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"


@dataclass
class CliArgs:
    """Env throughput: env-steps/s of the single and the vector env (``--dream``: the dream env)."""

    seconds: float = 1.0
    """length of one timed run"""
    repeats: int = 5
    """timed runs per setting (the median is printed)"""
    sizes: tuple[int, ...] | None = None
    """num_envs values (default 1 16 256; --dream: 1 16 64 256)"""
    dream: bool = False
    """time DreamWorldMap-v0 (with and without memory, the model alone)"""
    checkpoint: str | None = None
    """--dream: world model (default: the shipped one)"""
    device: str = "auto"
    """--dream: auto (CUDA when there is one) | cpu | cuda"""
    dtype: Literal["auto", "bfloat16", "float32"] = "auto"
    """--dream: autocast dtype (auto: the faster here)"""
    settings: tuple[Literal["memory", "no-memory", "seed"], ...] = ("memory", "no-memory")
    """--dream: memory (the default dream), no-memory, seed (the original research's setting; slow)"""
    compile: bool = False
    """--dream: torch.compile the model"""

    def check(self) -> None:
        """Every value, before any work (a ``ValueError``: one ``error:`` line from the command line)."""
        if not self.seconds > 0:
            raise ValueError(f"--seconds must be > 0, got {self.seconds}")
        at_least("--repeats", self.repeats, 1)
        if self.sizes is not None:
            at_least("--sizes", self.sizes, 1)
            if not self.sizes:
                raise ValueError("--sizes needs at least one num_envs value")
        if not self.settings:
            raise ValueError("--settings needs at least one of memory, no-memory, seed")
        if not self.dream:
            given = [f for f, v in (("--checkpoint", self.checkpoint is not None), ("--compile", self.compile)) if v]
            if given:
                raise ValueError(
                    f"{', '.join(given)} {'is' if len(given) == 1 else 'are'} for --dream; add --dream (the real env "
                    "would ignore it)"
                )
        if self.checkpoint is not None:
            input_file("--checkpoint", self.checkpoint, "train_world.py checkpoint")


def run_command(a: CliArgs):
    a.check()
    if a.dream:
        return dream(
            a.sizes or (1, 16, 64, 256),
            a.seconds,
            a.repeats,
            a.checkpoint,
            a.dtype,
            a.device,
            tuple(a.settings),
            a.compile,
        )
    res = run(sizes=a.sizes or (1, 16, 256), seconds=a.seconds, repeats=a.repeats)
    base = res["single"]
    print(f"{'env':<16}{'env-steps/s':>14}{'x single':>10}")
    for k, v in res.items():
        name = "single" if k == "single" else f"vector N={k[3:]}"
        print(f"{name:<16}{v:>14,.0f}{v / base:>10.1f}")
    return res


def main(argv=None):
    return run_cli(CliArgs, run_command, argv, __doc__.split("\n\n")[0])


if __name__ == "__main__":
    main()
