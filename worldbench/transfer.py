"""Agent transfer: is the simulator worth training in? PPO trained inside each simulator and PPO
trained in the real env, both evaluated in the REAL env, on three measurements:

* ``near``: the goal in view from the start (copying alone solves it);
* ``far``: the goal 16-20 moves away; the dream's memory holds the real goal view at the goal's
  cell (``remember_goal``, the dream's default). Blind to content: a dream of uniform noise with
  the same memory transfers as well as a learned model (docs/BENCHMARK.md);
* ``drawn``: the far task with the goal view *not* placed in the dream: the simulator draws the
  goal's surroundings itself, so the goal test PPO learns in the dream works in the real env only
  if the dream drew what is really there. The one of the three that needs the world's content.

For every env task and seed, one real-env PPO run is the reference (``drawn`` shares ``far``'s); each simulator's row reports the
real-env success of PPO trained in its dream (``DreamWorldMap-v0(model=...)``, the same task,
steps, seed and extractor) and its ratio to the reference. Runs already finished (a
``report.json`` in their folder) are reused, so an interrupted benchmark continues.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import re
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from agents.training import Args, train
from worldgen_core.world import WorldCore

from .models import Entry, parse_spec

__all__ = ["TransferConfig", "MEASUREMENTS", "QUICK_TRANSFER", "transfer"]


@dataclass(frozen=True)
class TransferConfig:
    """Budgets of the agent-transfer measurement (env steps per run, per task)."""

    tasks: tuple[str, ...] = ("near", "far", "drawn")
    steps: dict = field(default_factory=lambda: {"near": 30_000, "far": 100_000})  # per env task; far: real-env PPO plateaus from 50k (docs/RESULTS.md)
    extractor: dict = field(default_factory=lambda: {"near": "correlation", "far": "place"})  # per env task
    seeds: tuple[int, ...] = (0,)
    eval_episodes: int = 200
    n_envs: int = 16


#: each measurement: (the env's task, the dream's ``remember_goal``; None: its default)
MEASUREMENTS = {"near": ("near", None), "far": ("far", None), "drawn": ("far", False)}

#: smoke-run sizes: every code path, no learning
QUICK_TRANSFER = TransferConfig(steps={"near": 256, "far": 256}, eval_episodes=8, n_envs=4)


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "model"


def _run(out: Path, args: Args, simulator=None) -> dict:
    """A finished run's report, else train it (resuming an interrupted one: its report says so)."""
    if (out / "report.json").exists():
        rep = json.loads((out / "report.json").read_text())
        if not rep.get("interrupted") and rep.get("timesteps", 0) >= args.timesteps:
            return rep
    return train(args, simulator=simulator)


def _run_spec(out: Path, args: Args, spec: str | None, device: str, dtype: str) -> dict:
    """:func:`_run` in a worker process: the simulator is rebuilt there from its spec (factories do not pickle)."""
    make = parse_spec(spec, WorldCore(args.map), device, dtype).make if spec is not None else None
    return _run(out, args, make)


def transfer(entries: list[Entry], out: Path, cfg: TransferConfig, map_path: str | None = None, jobs: int = 1,
             device: str = "auto", dtype: str = "auto") -> dict[str, dict]:
    """``{row name: {"transfer_<task>": dream / real success, "transfer_<task>_success": ..., ...}}``
    for ``entries`` plus a ``real env`` row (the reference).

    ``jobs > 1`` trains that many runs at once in worker processes (a machine with many cores or a
    GPU); each worker rebuilds its simulator from the entry's spec with ``device`` and ``dtype``.
    """
    unknown = set(cfg.tasks) - set(MEASUREMENTS)
    if unknown:
        raise ValueError(f"unknown agent-transfer tasks {sorted(unknown)}; choose from {sorted(MEASUREMENTS)}")
    runs = []  # (task, row name, seed, folder, args, entry)
    for task in cfg.tasks:
        env_task, remember_goal = MEASUREMENTS[task]
        common = dict(task=env_task, map=map_path, timesteps=cfg.steps[env_task], extractor=cfg.extractor[env_task], eval_every=0,
                      eval_episodes=cfg.eval_episodes, n_envs=cfg.n_envs, progress=False)
        for e in [None, *entries]:
            for seed in cfg.seeds:
                # the real-env reference belongs to the env task (shared by the measurements on it)
                d = out / env_task / f"real_seed{seed}" if e is None else out / task / f"{_slug(e.name)}_seed{seed}"
                args = Args(env="WorldMap-v0" if e is None else "DreamWorldMap-v0", seed=seed, out=str(d), resume=(d / "checkpoint.pt").exists(),
                            dream_remember_goal=None if e is None else remember_goal, **common)
                runs.append((task, "real env" if e is None else e.name, seed, d, args, e))
    unique = list({d: (d, args, e) for _, _, _, d, args, e in runs}.values())  # each run trained once
    if jobs > 1:
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [pool.submit(_run_spec, d, args, None if e is None else e.spec, device, dtype) for d, args, e in unique]
            done = {d: f.result() for (d, _, _), f in zip(unique, futures)}
    else:
        done = {d: _run(d, args, None if e is None else e.make) for d, args, e in unique}
    reports = [done[d] for _, _, _, d, _, _ in runs]
    got: dict[tuple[str, str], list[float]] = {}
    res: dict[str, dict] = {"real env": {}}
    for (task, name, _, _, _, _), rep in zip(runs, reports):
        got.setdefault((task, name), []).append(rep["ppo_real_eval"]["success_rate"])
        if name == "real env":
            res["real env"].setdefault(f"transfer_{task}_random", rep["random_real_eval"]["success_rate"])
    for task in cfg.tasks:
        ref = float(np.mean(got[(task, "real env")]))
        res["real env"].update({f"transfer_{task}_success": ref, f"transfer_{task}_seeds": got[(task, "real env")], f"transfer_{task}": 1.0})
        for e in entries:
            s = float(np.mean(got[(task, e.name)]))
            res.setdefault(e.name, {}).update({f"transfer_{task}_success": s, f"transfer_{task}_seeds": got[(task, e.name)],
                                               f"transfer_{task}": s / ref if ref > 0 else float("nan")})
            print(f"{e.name}, {task} task: PPO trained in its dream {s:.3f} real-env success vs {ref:.3f} trained in the real env "
                  f"({res[e.name][f'transfer_{task}']:.2f}x)", flush=True)
    return res


def main(argv=None) -> dict:
    """``python -m worldbench.transfer MODEL ... --map M --out DIR``: agent transfer alone, no fidelity measures.

    The runs land where ``python -m worldbench --agents --out X`` keeps them (``X/agents``), so a
    later full benchmark reuses them; ``--json`` (default ``OUT/transfer.json``) holds the rows.
    """
    p = argparse.ArgumentParser(description=main.__doc__.split("\n\n")[0])
    p.add_argument("models", nargs="+", help="as for python -m worldbench: [NAME=]copy | shift | PATH.pt[?...] | module:factory")
    p.add_argument("--map", default=None)
    p.add_argument("--out", type=Path, default=Path("runs/benchmark/agents"))
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--steps", type=int, nargs=2, default=None, metavar=("NEAR", "FAR"), help="env steps per run (default: 30000 100000)")
    p.add_argument("--tasks", nargs="+", default=list(TransferConfig.tasks), choices=list(MEASUREMENTS),
                   help="near, far (goal view remembered), drawn (far, the goal's surroundings drawn by the simulator)")
    p.add_argument("--jobs", type=int, default=1, help="runs trained at once (worker processes)")
    p.add_argument("--device", default="auto")
    p.add_argument("--dtype", default="auto", choices=["auto", "bfloat16", "float32"])
    p.add_argument("--json", type=Path, default=None, help="where to write the rows (default: OUT/transfer.json)")
    a = p.parse_args(argv)
    if a.jobs < 1 or a.steps and min(a.steps) < 1:
        p.error(f"--jobs and --steps must be >= 1, got {a.jobs} and {a.steps}")
    cfg = replace(TransferConfig(), seeds=tuple(a.seeds), tasks=tuple(a.tasks))
    if a.steps:
        cfg = replace(cfg, steps={"near": a.steps[0], "far": a.steps[1]})
    try:
        core = WorldCore(a.map)
        entries = [parse_spec(m, core, a.device, a.dtype) for m in a.models]
    except (ValueError, FileNotFoundError, TypeError) as e:
        raise SystemExit(f"error: {e}") from e
    res = transfer(entries, a.out, cfg, a.map, a.jobs, a.device, a.dtype)
    a.out.mkdir(parents=True, exist_ok=True)
    (a.json or a.out / "transfer.json").write_text(json.dumps({"map": a.map or "data/world_map.png", "steps": cfg.steps, "seeds": list(cfg.seeds),
                                                      "models": {e.name: e.spec for e in entries}, "rows": res}, indent=2))
    return res


if __name__ == "__main__":
    main()
