"""Agent transfer: is the simulator worth training in? PPO trained inside each simulator and PPO
trained in the real env, both evaluated in the REAL env, on three measurements:

* ``near``: the goal in view from the start (copying alone solves it);
* ``far``: the goal 16-20 moves away; the dream's memory holds the real goal view at the goal's
  cell (``remember_goal``, the dream's default). Blind to content: a dream of uniform noise with
  the same memory transfers as well as a learned model (docs/benchmark.md);
* ``drawn``: the far task with the goal view *not* placed in the dream: the simulator draws the
  goal's surroundings itself, so the goal test PPO learns in the dream works in the real env only
  if the dream drew what is really there. The one of the three that needs the world's content.

For every env task and seed, one real-env PPO run is the reference (``drawn`` shares ``far``'s); each simulator's row
reports the
real-env success of PPO trained in its dream (``DreamWorldMap-v0(model=...)``, the same task,
steps, seed and extractor) and its ratio to the reference. Runs already finished (a
``report.json`` in their folder) are reused, so an interrupted benchmark continues, but only runs of
exactly the same model spec, checkpoint file (sha256), map (its pixels' fingerprint) and task
settings (``agents.training.reusable``); a folder holding anything else is refused before any work.
"""

from __future__ import annotations

import json
import multiprocessing
import re
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import numpy as np
import tyro

from agents.evaluation import plot_curves, scalar_curve
from agents.training import Args, reusable, train_or_reuse
from worldgen_core.cli import at_least, input_file, output_dir, output_file, run_cli
from worldgen_core.files import atomic_write
from worldgen_core.world import WorldCore

from .models import Entry, parse_spec
from .report import transfer_md

__all__ = ["TransferConfig", "MEASUREMENTS", "QUICK_TRANSFER", "transfer", "plot_transfer_curves"]


@dataclass(frozen=True)
class TransferConfig:
    """Budgets of the agent-transfer measurement (env steps per run, per task)."""

    tasks: tuple[str, ...] = ("near", "far", "drawn")
    steps: dict = field(
        default_factory=lambda: {"near": 30_000, "far": 100_000}
    )  # per env task; far: real-env PPO plateaus from 50k (docs/agents.md)
    extractor: dict = field(default_factory=lambda: {"near": "correlation", "far": "place"})  # per env task
    seeds: tuple[int, ...] = (0,)
    eval_episodes: int = 200
    n_envs: int = 16
    eval_every: int = 0
    """env steps between real-env evaluations during each run: learning curves in the rows (0: only the final
    evaluation)"""


#: each measurement: (the env's task, the dream's ``remember_goal``; None: its default)
MEASUREMENTS = {"near": ("near", None), "far": ("far", None), "drawn": ("far", False)}

#: smoke-run sizes: every code path, no learning
QUICK_TRANSFER = TransferConfig(steps={"near": 256, "far": 256}, eval_episodes=8, n_envs=4)


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "model"


def _run_spec(args: Args, spec: str | None, device: str, dtype: str) -> dict:
    """A run in a worker process: the simulator is rebuilt there from its spec (factories do not pickle)."""
    if spec is None:
        return train_or_reuse(args)
    e = parse_spec(spec, WorldCore(args.map), device, dtype)
    return train_or_reuse(args, e.make, e.identity)


def transfer(
    entries: list[Entry],
    out: Path,
    config: TransferConfig,
    map_path: str | None = None,
    jobs: int = 1,
    device: str = "auto",
    dtype: str = "auto",
) -> dict[str, dict]:
    """``{row name: {"transfer_<task>": dream / real success, "transfer_<task>_success": ..., ...}}``
    for ``entries`` plus a ``real env`` row (the reference).

    ``jobs > 1`` trains that many runs at once in worker processes (a machine with many cores or a
    GPU); each worker rebuilds its simulator from the entry's spec with ``device`` and ``dtype``.
    """
    unknown = set(config.tasks) - set(MEASUREMENTS)
    if unknown:
        raise ValueError(f"unknown agent-transfer tasks {sorted(unknown)}; choose from {sorted(MEASUREMENTS)}")
    slugs = [_slug(e.name) for e in entries]
    if len(set(slugs)) != len(slugs):
        raise ValueError(
            f"two models would share a run folder ({[e.name for e in entries]} -> {slugs}); give each its own "
            "NAME=MODEL"
        )
    runs = []  # (task, row name, seed, folder, args, entry)
    for task in config.tasks:
        env_task, remember_goal = MEASUREMENTS[task]
        common = dict(
            task=env_task,
            map=map_path,
            timesteps=config.steps[env_task],
            extractor=config.extractor[env_task],
            eval_every=config.eval_every,
            eval_episodes=config.eval_episodes,
            n_envs=config.n_envs,
            progress=False,
        )
        for e in [None, *entries]:
            for seed in config.seeds:
                # the real-env reference belongs to the env task (shared by the measurements on it)
                d = out / env_task / f"real_seed{seed}" if e is None else out / task / f"{_slug(e.name)}_seed{seed}"
                args = Args(
                    env="WorldMap-v0" if e is None else "DreamWorldMap-v0",
                    seed=seed,
                    out=str(d),
                    dream_remember_goal=None if e is None else remember_goal,
                    **common,
                )
                runs.append((task, "real env" if e is None else e.name, seed, d, args, e))
    unique = list({d: (d, args, e) for _, _, _, d, args, e in runs}.values())  # each run trained once
    for (
        _,
        args,
        e,
    ) in unique:  # a folder holding a run of another model, checkpoint, map or task: refused before any work
        reusable(args, None if e is None else e.identity)
    if jobs > 1:
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [
                pool.submit(_run_spec, args, None if e is None else e.spec, device, dtype) for d, args, e in unique
            ]
            done = {d: f.result() for (d, _, _), f in zip(unique, futures)}
    else:
        done = {
            d: train_or_reuse(args) if e is None else train_or_reuse(args, e.make, e.identity) for d, args, e in unique
        }
    reports = [done[d] for _, _, _, d, _, _ in runs]
    got: dict[tuple[str, str], list[float]] = {}
    res: dict[str, dict] = {"real env": {}}
    for (task, name, _, d, _, _), rep in zip(runs, reports):
        got.setdefault((task, name), []).append(rep["ppo_real_eval"]["success_rate"])
        # per seed: real-env success, and the success of the training episodes in the env it trains in, against steps
        if config.eval_every:
            row = res.setdefault(name, {})
            row.setdefault(f"transfer_{task}_curves", []).append([list(p) for p in rep["curve"]])
            row.setdefault(f"transfer_{task}_train_success", []).append([list(p) for p in scalar_curve(d / "tb")])
        if name == "real env":
            res["real env"].setdefault(f"transfer_{task}_random", rep["random_real_eval"]["success_rate"])
    for task in config.tasks:
        ref = float(np.mean(got[(task, "real env")]))
        res["real env"].update(
            {
                f"transfer_{task}_success": ref,
                f"transfer_{task}_seeds": got[(task, "real env")],
                f"transfer_{task}": 1.0,
            }
        )
        for e in entries:
            s = float(np.mean(got[(task, e.name)]))
            res.setdefault(e.name, {}).update(
                {
                    f"transfer_{task}_success": s,
                    f"transfer_{task}_seeds": got[(task, e.name)],
                    f"transfer_{task}": s / ref if ref > 0 else float("nan"),
                }
            )
            print(
                f"{e.name}, {task} task: PPO trained in its dream {s:.3f} real-env success vs {ref:.3f} trained in the "
                "real env "
                f"({res[e.name][f'transfer_{task}']:.2f}x)",
                flush=True,
            )
    return res


def plot_transfer_curves(rows: dict[str, dict], out: Path) -> list[Path]:
    """For each task whose rows hold learning curves (``TransferConfig.eval_every``): ``curves_<task>.png``, real-env
    success against training steps, and ``train_success_<task>.png``, the success of the training episodes in the env
    each policy trains in; one colour per row, one line per seed, the random policy dashed."""
    paths = []
    for key in (k for k in rows["real env"] if re.fullmatch(r"transfer_[a-z]+_curves", k)):
        task = key.split("_")[1]
        with_curves = {name: r for name, r in rows.items() if key in r}
        paths.append(
            plot_curves(
                {name: r[key] for name, r in with_curves.items()},
                rows["real env"].get(f"transfer_{task}_random"),
                out / f"curves_{task}.png",
            )
        )
        paths.append(
            plot_curves(
                {name: r[f"transfer_{task}_train_success"] for name, r in with_curves.items()},
                None,
                out / f"train_success_{task}.png",
                ylabel="success of training episodes (own env, last 100)",
            )
        )
    return paths


@dataclass
class CliArgs:
    """Agent transfer alone, no fidelity measures: ``python -m worldbench.transfer MODEL ... --map M --out DIR``.

    The runs land where ``python -m worldbench --agents --out X`` keeps them (``X/agents``), so a
    later full benchmark reuses them; ``--json`` (default ``OUT/transfer.json``) holds the rows.
    """

    models: tyro.conf.Positional[tuple[str, ...]]
    """as for python -m worldbench: [NAME=]copy | shift | PATH.pt[?...] | module:factory"""
    map: str | None = None
    """world-map image (default: data/world_map.png)"""
    out: Path = Path("runs/benchmark/agents")
    seeds: tuple[int, ...] = (0,)
    steps: tuple[int, int] = (TransferConfig().steps["near"], TransferConfig().steps["far"])
    """env steps per run on the near and far tasks (drawn: as far): NEAR FAR"""
    tasks: tuple[Literal["near", "far", "drawn"], ...] = TransferConfig.tasks
    """near, far (goal view remembered), drawn (far, the goal's surroundings drawn by the simulator)"""
    jobs: int = 1
    """runs trained at once (worker processes)"""
    device: str = "auto"
    dtype: Literal["auto", "bfloat16", "float32"] = "auto"
    eval_every: int = 0
    """env steps between real-env evaluations during each run: learning curves (curves_<task>.png; 0: only the final
    evaluation)"""
    json: Path | None = None
    """where to write the rows (default: OUT/transfer.json; the table beside it as .md)"""

    def check(self) -> None:
        """Every value, before any work (a ``ValueError``: one ``error:`` line from the command line)."""
        at_least("--jobs", self.jobs, 1)
        at_least("--seeds", self.seeds, 0)
        at_least("--steps", self.steps, 1)
        at_least("--eval-every", self.eval_every, 0)
        if not self.models:
            raise ValueError("name at least one model: [NAME=]copy | shift | PATH.pt[?...] | module:factory")
        if self.map is not None:
            input_file("--map", self.map, "world-map image")


def run(a: CliArgs) -> dict:
    """What the command does: checks every value, path and model before any run, then :func:`transfer`."""
    a.check()
    output_dir("--out", a.out)
    out_json = output_file("--json", a.json or a.out / "transfer.json")
    out_md = output_file("--json", out_json.with_suffix(".md"))
    config = replace(
        TransferConfig(),
        seeds=tuple(a.seeds),
        tasks=tuple(a.tasks),
        steps={"near": a.steps[0], "far": a.steps[1]},
        eval_every=a.eval_every,
    )
    core = WorldCore(a.map)
    try:
        entries = [parse_spec(m, core, a.device, a.dtype) for m in a.models]
    except TypeError as e:  # a factory that is not a simulator
        raise ValueError(str(e)) from e
    res = transfer(entries, a.out, config, a.map, a.jobs, a.device, a.dtype)
    doc = {
        "map": a.map or "data/world_map.png",
        "map_fingerprint": core.fingerprint,
        "steps": config.steps,
        "seeds": list(config.seeds),
        "models": {e.name: e.spec for e in entries},
        "rows": res,
    }
    atomic_write(out_json, lambda f: f.write(json.dumps(doc, indent=2).encode()))
    figures = plot_transfer_curves(res, out_json.parent)
    table = (
        f"# Agent transfer: PPO trained in each simulator and in the real env, evaluated in the real env\n\n"
        f"Map `{doc['map']}`; env steps per run {config.steps}; seeds {list(config.seeds)}; {config.eval_episodes} "
        "real-env evaluation "
        f"episodes per policy. Runs in `{a.out}`.\n\n{transfer_md(res)}\n"
        + "".join(f"\n![{p.stem}]({p.name})\n" for p in figures)
    )
    atomic_write(out_md, lambda f: f.write(table.encode()))
    print(transfer_md(res))
    return res


def main(argv=None) -> dict:
    return run_cli(CliArgs, run, argv, CliArgs.__doc__.split("\n\n")[0])


def cli() -> None:
    """The console script (setup.cfg): ``main`` without its return value, which would become the exit status."""
    main()


if __name__ == "__main__":
    main()
