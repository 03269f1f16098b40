"""The sim-to-real table: random vs PPO trained in WorldMap-v0 vs PPO trained in DreamWorldMap-v0.

``python -m agents.experiment --timesteps 64000 --seeds 0 1 2 --eval-every 16000 --out runs/sim2real``

Equal environment-step budgets, every policy evaluated in the REAL env over ``--eval-episodes``
fixed-seed episodes. Writes ``table.md`` / ``table.json`` and two plots to ``--out``: success rate
in the real env against training steps, real vs dream (``curves.png``), and success of the
training episodes in the env each policy trains in (``train_success.png``, from the runs'
tensorboard logs). Runs already finished (a ``report.json`` in their folder) are reused and interrupted
ones resume from their ``checkpoint.pt``, so an interrupted experiment continues; only runs of exactly
the same settings, map and world model (``agents.training.reusable``): a folder holding anything else
is refused before any work.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from worldgen_core.cli import at_least, input_file, output_dir, run_cli
from worldgen_core.dynamics import TASKS

from .evaluation import evaluate_real, plot_curves, random_policy, scalar_curve
from .training import Args, reusable, task_kwargs, train_or_reuse


@dataclass
class CliArgs:
    """The sim-to-real table: random vs PPO trained in WorldMap-v0 vs PPO trained in DreamWorldMap-v0."""

    timesteps: int = 64_000
    seeds: tuple[int, ...] = (0, 1, 2)
    n_envs: int = 16
    eval_episodes: int = 200
    eval_every: int = 16_000
    world_model: str | None = None
    """world-model checkpoint of the dream (default: the dream's default for the map)"""
    task: str = "near"
    """near | far (worldgen_core.dynamics.TASKS)"""
    map: str | None = None
    """world-map image (default: data/world_map.png)"""
    goal_distance: tuple[int, int] | None = None
    """override the task's goal range: MIN MAX moves"""
    max_episode_steps: int | None = None
    """override the task's episode length"""
    out: Path = Path("runs/sim2real")

    def check(self) -> None:
        """Every value, before any work (a ``ValueError``: one ``error:`` line from the command line)."""
        for name in ("timesteps", "n_envs", "eval_episodes"):
            at_least("--" + name.replace("_", "-"), getattr(self, name), 1)
        at_least("--eval-every", self.eval_every, 0)
        at_least("--seeds", self.seeds, 0)
        if not self.seeds:
            raise ValueError("--seeds needs at least one seed")
        if self.task not in TASKS:
            raise ValueError(f"--task must be one of {sorted(TASKS)}, got {self.task!r}")
        if self.map is not None:
            input_file("--map", self.map, "world-map image")
        if self.world_model is not None:
            input_file("--world-model", self.world_model, "train_world.py checkpoint")


def run(a: CliArgs) -> dict:
    """The table (see the module docstring); every value, path and reusable run checked before any work."""
    a.check()
    output_dir("--out", a.out)
    task = dict(task=a.task, map=a.map, goal_distance=tuple(a.goal_distance) if a.goal_distance else None, max_episode_steps=a.max_episode_steps)
    task_kw = task_kwargs(Args(**task))
    runs = {(seed, name): Args(env=env, timesteps=a.timesteps, n_envs=a.n_envs, seed=seed, out=str(a.out / f"{env}_seed{seed}"),
                               world_model=a.world_model if env == "DreamWorldMap-v0" else None, eval_every=a.eval_every,
                               eval_episodes=a.eval_episodes, progress=False, **task)
            for seed in a.seeds for name, env in (("PPO (real)", "WorldMap-v0"), ("PPO (dream)", "DreamWorldMap-v0"))}
    for args in runs.values():
        reusable(args)  # a folder holding a run of other settings, map or world model: refused before any work
    rows: dict[str, list[dict]] = {"random": [], "PPO (real)": [], "PPO (dream)": []}
    for seed in a.seeds:
        rows["random"].append({**evaluate_real(random_policy(seed), n_episodes=a.eval_episodes, **task_kw), "seed": seed})
        for name in ("PPO (real)", "PPO (dream)"):
            args = runs[seed, name]
            rep = train_or_reuse(args)
            rows[name].append({**rep["ppo_real_eval"], "seed": seed, "train_wall_s": rep["train_wall_s"],
                               "train_env_steps_per_s": rep["train_env_steps_per_s"], "curve": rep["curve"],
                               "train_success": scalar_curve(Path(args.out) / "tb")})
    lines = ["| policy (trained in) | real-env success (mean ± std over seeds) | mean return | mean length | train wall-clock | train env steps/s |",
             "|---|---|---|---|---|---|"]
    for name, rs in rows.items():
        s = np.array([r["success_rate"] for r in rs])
        wall = f"{np.mean([r['train_wall_s'] for r in rs]) / 60:.1f} min" if "train_wall_s" in rs[0] else ""
        fps = f"{np.mean([r['train_env_steps_per_s'] for r in rs]):.0f}" if "train_env_steps_per_s" in rs[0] else ""
        lines.append(f"| {name} | {s.mean():.3f} ± {s.std():.3f} | {np.mean([r['mean_return'] for r in rs]):.3f} | "
                     f"{np.mean([r['mean_length'] for r in rs]):.1f} | {wall} | {fps} |")
    real, dream = (np.mean([r["success_rate"] for r in rows[k]]) for k in ("PPO (real)", "PPO (dream)"))
    lines.append(f"\nDream-trained / real-trained success in the real env: **{dream / max(real, 1e-9):.2f}x** "
                 f"({a.timesteps} env steps each, seeds {list(a.seeds)}, {a.eval_episodes} evaluation episodes per policy; "
                 f"map `{a.map or 'data/world_map.png'}`, task {a.task!r}: {task_kw}).")
    table = "\n".join(lines)
    (a.out / "table.md").write_text(table + "\n\n![learning curves](curves.png)\n![training success](train_success.png)\n")
    (a.out / "table.json").write_text(json.dumps(rows, indent=2))
    plot_curves({k: [r.get("curve") for r in rows[k]] for k in ("PPO (real)", "PPO (dream)")},
                float(np.mean([r["success_rate"] for r in rows["random"]])), a.out / "curves.png")
    plot_curves({k: [r.get("train_success") for r in rows[k]] for k in ("PPO (real)", "PPO (dream)")}, None, a.out / "train_success.png",
                ylabel="success of training episodes (own env, last 100)")
    print(table)
    return rows


def main(argv=None) -> dict:
    return run_cli(CliArgs, run, argv, __doc__.split("\n\n")[0])


if __name__ == "__main__":
    main()
