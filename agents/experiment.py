"""The sim-to-real table: random vs PPO trained in WorldMap-v0 vs PPO trained in DreamWorldMap-v0.

``python -m agents.experiment --timesteps 64000 --seeds 0 1 2 --eval-every 16000 --out runs/sim2real``

Equal environment-step budgets, every policy evaluated in the REAL env over ``--eval-episodes``
fixed-seed episodes. Writes ``table.md`` / ``table.json`` and two plots to ``--out``: success rate
in the real env against training steps, real vs dream (``curves.png``), and success of the
training episodes in the env each policy trains in (``train_success.png``, from the runs'
tensorboard logs). Runs already finished (a ``report.json`` in their folder) are reused and interrupted
ones resume from their ``checkpoint.pt``, so an interrupted experiment continues.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from .evaluation import evaluate_real, plot_curves, random_policy, scalar_curve
from .training import Args, task_kwargs, train


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--timesteps", type=int, default=64_000)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--n-envs", type=int, default=16)
    p.add_argument("--eval-episodes", type=int, default=200)
    p.add_argument("--eval-every", type=int, default=16_000)
    p.add_argument("--world-model", default=None)
    p.add_argument("--task", default="near", help="near | far (worldgen_core.dynamics.TASKS)")
    p.add_argument("--map", default=None, help="world-map image (default: data/world_map.png)")
    p.add_argument("--goal-distance", type=int, nargs=2, default=None, metavar=("MIN", "MAX"), help="override the task's goal range")
    p.add_argument("--max-episode-steps", type=int, default=None, help="override the task's episode length")
    p.add_argument("--out", type=Path, default=Path("runs/sim2real"))
    a = p.parse_args(argv)
    task = dict(task=a.task, map=a.map, goal_distance=tuple(a.goal_distance) if a.goal_distance else None, max_episode_steps=a.max_episode_steps)
    task_kw = task_kwargs(Args(**task))
    rows: dict[str, list[dict]] = {"random": [], "PPO (real)": [], "PPO (dream)": []}
    for seed in a.seeds:
        rows["random"].append({**evaluate_real(random_policy(seed), n_episodes=a.eval_episodes, **task_kw), "seed": seed})
        for name, env in (("PPO (real)", "WorldMap-v0"), ("PPO (dream)", "DreamWorldMap-v0")):
            out = a.out / f"{env}_seed{seed}"
            if (out / "report.json").exists():
                rep = json.loads((out / "report.json").read_text())
            else:
                rep = train(Args(env=env, timesteps=a.timesteps, n_envs=a.n_envs, seed=seed, out=str(out), world_model=a.world_model,
                                 eval_every=a.eval_every, eval_episodes=a.eval_episodes, progress=False,
                                 resume=(out / "checkpoint.pt").exists(), **task))
            rows[name].append({**rep["ppo_real_eval"], "seed": seed, "train_wall_s": rep["train_wall_s"],
                               "train_env_steps_per_s": rep["train_env_steps_per_s"], "curve": rep["curve"],
                               "train_success": scalar_curve(out / "tb")})
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
                 f"({a.timesteps} env steps each, seeds {a.seeds}, {a.eval_episodes} evaluation episodes per policy; "
                 f"map `{a.map or 'data/world_map.png'}`, task {a.task!r}: {task_kw}).")
    table = "\n".join(lines)
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "table.md").write_text(table + "\n\n![learning curves](curves.png)\n![training success](train_success.png)\n")
    (a.out / "table.json").write_text(json.dumps(rows, indent=2))
    plot_curves({k: [r.get("curve") for r in rows[k]] for k in ("PPO (real)", "PPO (dream)")},
                float(np.mean([r["success_rate"] for r in rows["random"]])), a.out / "curves.png")
    plot_curves({k: [r.get("train_success") for r in rows[k]] for k in ("PPO (real)", "PPO (dream)")}, None, a.out / "train_success.png",
                ylabel="success of training episodes (own env, last 100)")
    print(table)
    return rows


if __name__ == "__main__":
    main()
