"""Agent transfer: is the simulator worth training in? PPO trained inside each simulator and PPO
trained in the real env, both evaluated in the REAL env, on the near and the far task.

For every task and seed, one real-env PPO run is the reference; each simulator's row reports the
real-env success of PPO trained in its dream (``DreamWorldMap-v0(model=...)``, the same task,
steps, seed and extractor) and its ratio to the reference. Runs already finished (a
``report.json`` in their folder) are reused, so an interrupted benchmark continues.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from agents.training import Args, train

from .models import Entry

__all__ = ["TransferConfig", "QUICK_TRANSFER", "transfer"]


@dataclass(frozen=True)
class TransferConfig:
    """Budgets of the agent-transfer measurement (env steps per run, per task)."""

    tasks: tuple[str, ...] = ("near", "far")
    steps: dict = field(default_factory=lambda: {"near": 30_000, "far": 100_000})  # far: real-env PPO plateaus from 50k (docs/RESULTS.md)
    extractor: dict = field(default_factory=lambda: {"near": "correlation", "far": "place"})
    seeds: tuple[int, ...] = (0,)
    eval_episodes: int = 200
    n_envs: int = 16


#: smoke-run sizes: every code path, no learning
QUICK_TRANSFER = TransferConfig(steps={"near": 256, "far": 256}, eval_episodes=8, n_envs=4)


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "model"


def _run(out: Path, args: Args, simulator=None) -> dict:
    if (out / "report.json").exists():
        return json.loads((out / "report.json").read_text())
    return train(args, simulator=simulator)


def transfer(entries: list[Entry], out: Path, cfg: TransferConfig, map_path: str | None = None) -> dict[str, dict]:
    """``{row name: {"transfer_<task>": dream / real success, "transfer_<task>_success": ..., ...}}``
    for ``entries`` plus a ``real env`` row (the reference)."""
    res: dict[str, dict] = {"real env": {}}
    for task in cfg.tasks:
        common = dict(task=task, map=map_path, timesteps=cfg.steps[task], extractor=cfg.extractor[task], eval_every=0,
                      eval_episodes=cfg.eval_episodes, n_envs=cfg.n_envs, progress=False)
        real = []
        for seed in cfg.seeds:
            d = out / task / f"real_seed{seed}"
            rep = _run(d, Args(env="WorldMap-v0", seed=seed, out=str(d), resume=(d / "checkpoint.pt").exists(), **common))
            real.append(rep["ppo_real_eval"]["success_rate"])
            res["real env"].setdefault(f"transfer_{task}_random", rep["random_real_eval"]["success_rate"])
        ref = float(np.mean(real))
        res["real env"].update({f"transfer_{task}_success": ref, f"transfer_{task}_seeds": real, f"transfer_{task}": 1.0})
        for e in entries:
            got = []
            for seed in cfg.seeds:
                d = out / task / f"{_slug(e.name)}_seed{seed}"
                rep = _run(d, Args(env="DreamWorldMap-v0", seed=seed, out=str(d), resume=(d / "checkpoint.pt").exists(), **common), e.make)
                got.append(rep["ppo_real_eval"]["success_rate"])
            s = float(np.mean(got))
            res.setdefault(e.name, {}).update({f"transfer_{task}_success": s, f"transfer_{task}_seeds": got,
                                               f"transfer_{task}": s / ref if ref > 0 else float("nan")})
            print(f"{e.name}, {task} task: PPO trained in its dream {s:.3f} real-env success vs {ref:.3f} trained in the real env "
                  f"({res[e.name][f'transfer_{task}']:.2f}x)", flush=True)
    return res
