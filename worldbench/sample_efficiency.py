"""Sample efficiency: real-env success against REAL env steps, model-free PPO against model-based PPO.

``python -m worldbench.sample_efficiency --map M --tasks near far --seeds 0 1 2 --out runs/se``

For every task and seed it runs (or reuses, when its folder holds it finished; resumes, when unfinished):

* **model-free PPO** in the real env (``train_agent.py --env WorldMap-v0``) for ``--ppo-steps`` (200k), evaluated
  in the real env every ``--ppo-eval-every`` steps and at the ``--ppo-eval-at`` steps (the curve's early points);
* **model-based PPO** (:mod:`agents.model_based`) with ``--real-steps`` real env steps (10k), evaluated after every
  round.

Both are evaluated on the same ``--eval-episodes`` real episodes. The headline, per task: the target is 90% of
model-free PPO's final success (the median over seeds at ``--ppo-steps``); each run's *steps to target* is the first
evaluation at or above it (none: not reached); the ratio is the median model-free steps over the median
model-based steps (how many times fewer real steps the model-based agent needs). Writes ``sample_efficiency.md``
(the table), ``sample_efficiency.json`` and ``curves_TASK.png`` (success against real steps, log scale).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from agents import model_based
from agents import training as agent_training
from agents.evaluation import plot_curves
from worldgen_core.cli import at_least, input_file, output_dir, run_cli
from worldgen_core.files import atomic_write
from worldgen_core.world import WorldCore

__all__ = ["Args", "steps_to", "summarise", "run", "main"]


@dataclass
class Args:
    """Sample efficiency: model-free PPO vs model-based PPO, real-env success against real env steps."""

    map: str | None = None
    """world-map image (default: data/world_map.png, which the shipped models know: report it apart)"""
    tasks: tuple[Literal["near", "far"], ...] = ("near", "far")
    seeds: tuple[int, ...] = (0, 1, 2)
    ppo_steps: int = 200_000
    """model-free PPO's real env steps: its final success sets the target"""
    ppo_eval_every: int = 10_000
    ppo_eval_at: tuple[int, ...] = (1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000)
    """model-free PPO's extra evaluations: the early points of its curve"""
    real_steps: int = model_based.Args.real_steps
    """the model-based agent's real env steps"""
    round_episodes: int = model_based.Args.round_episodes
    dream_steps: int = model_based.Args.dream_steps
    """the model-based agent's PPO steps in the dream per round"""
    wm_steps: int = model_based.Args.wm_steps
    """the model-based agent's world-model steps per round"""
    eval_episodes: int = 100
    """real-env episodes per evaluation (both methods)"""
    target: float = 0.9
    """the share of model-free PPO's final success to reach"""
    out: str = "runs/sample_efficiency"
    threads: int | None = None
    progress: bool = False

    def check(self) -> None:
        for name in ("ppo_steps", "ppo_eval_every", "real_steps", "round_episodes", "dream_steps", "wm_steps"):
            at_least(f"--{name.replace('_', '-')}", getattr(self, name), 1)
        at_least("--eval-episodes", self.eval_episodes, 1)
        if not self.tasks or not self.seeds:
            raise ValueError("--tasks and --seeds need at least one value each")
        if not 0 < self.target <= 1:
            raise ValueError(f"--target must be in (0, 1], got {self.target}")
        if self.map is not None:
            input_file("--map", self.map, "world-map image")
        output_dir("--out", self.out)


def steps_to(curve: list, level: float) -> int | None:
    """The first step of ``curve`` ((steps, success) points, in order) whose success is at least ``level``.

    >>> steps_to([(0, 0.1), (1000, 0.5), (2000, 0.7), (3000, 0.6)], 0.6), steps_to([(0, 0.1)], 0.6)
    (2000, None)
    """
    return next((int(s) for s, v, *_ in curve if v >= level), None)


def _median(xs: list) -> float | None:
    """The median, counting a run that never reached the target as beyond every other (None if most did not)."""
    vals = sorted(np.inf if x is None else x for x in xs)
    m = float(np.median(vals))
    return None if not np.isfinite(m) else m


def summarise(free: list[dict], based: list[dict], share: float) -> dict:
    """One task's row from the reports of its model-free (``agents.training``) and model-based runs."""
    curves_free = [[(int(s), float(v)) for s, v in r["curve"]] for r in free]
    finals = [r["ppo_real_eval"]["success_rate"] for r in free]
    target = share * float(np.median(finals))
    curves_based = [[(int(p[0]), float(p[1])) for p in r["curve"]] for r in based]
    steps_free = [steps_to(c, target) for c in curves_free]
    steps_based = [steps_to(c, target) for c in curves_based]
    m_free, m_based = _median(steps_free), _median(steps_based)
    return {
        "ppo_final": finals,
        "target": target,
        "ppo_steps_to_target": steps_free,
        "model_based_steps_to_target": steps_based,
        "model_based_final": [r["final_success_rate"] for r in based],
        "model_based_real_steps": [r["real_steps"] for r in based],
        "model_based_wall_s": [r["wall_s"] for r in based],
        "ppo_wall_s": [r["train_wall_s"] for r in free],
        "ratio": None if m_free is None or not m_based else m_free / m_based,
        "curves_free": curves_free,
        "curves_based": curves_based,
    }


def _fmt_steps(xs: list) -> str:
    return " / ".join("never" if x is None else f"{x / 1000:g}k" for x in xs)


def _table(a: Args, rows: dict, fingerprint: str) -> str:
    lines = [
        f"# Sample efficiency on `{a.map or 'data/world_map.png'}` (fingerprint {fingerprint})\n",
        f"Real-env success against real env steps, seeds {', '.join(map(str, a.seeds))}: model-free PPO "
        f"({a.ppo_steps} real steps) and model-based PPO ({a.real_steps} real steps). Target: {a.target:.0%} of "
        f"model-free PPO's median final success; steps to target: the first evaluation at or above it "
        f"({a.eval_episodes} real episodes each).\n",
        "| task | PPO final (seeds) | target | PPO steps to target | model-based steps to target | model-based "
        "final | x fewer real steps (medians) | model-based wall-clock |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for task, r in rows.items():
        ratio = "n/a" if r["ratio"] is None else f"**{r['ratio']:.1f}x**"
        lines.append(
            f"| {task} | {' / '.join(f'{v:.2f}' for v in r['ppo_final'])} | {r['target']:.3f} | "
            f"{_fmt_steps(r['ppo_steps_to_target'])} | {_fmt_steps(r['model_based_steps_to_target'])} | "
            f"{' / '.join(f'{v:.2f}' for v in r['model_based_final'])} | {ratio} | "
            f"{np.median(r['model_based_wall_s']) / 60:.0f} min |"
        )
    return "\n".join(lines) + "\n"


def _model_based(a: Args, task: str, seed: int, out: Path) -> dict:
    """The model-based run's report: reused when finished with these settings, resumed when unfinished."""
    mb = model_based.Args(
        task=task,
        map=a.map,
        out=str(out),
        real_steps=a.real_steps,
        round_episodes=a.round_episodes,
        dream_steps=a.dream_steps,
        wm_steps=a.wm_steps,
        seed=seed,
        eval_episodes=a.eval_episodes,
        threads=a.threads,
        progress=a.progress,
    )
    rep = out / "report.json"
    if rep.is_file():
        r = json.loads(rep.read_text())
        if not r["interrupted"] and r["real_steps_asked"] == a.real_steps:
            saved = json.loads((out / "args.json").read_text())
            if {k: v for k, v in saved.items() if k not in model_based.RESUME_MAY_CHANGE} != {
                k: v
                for k, v in json.loads(json.dumps(dataclasses.asdict(mb))).items()
                if k not in model_based.RESUME_MAY_CHANGE
            }:
                raise ValueError(f"{out} holds a model-based run of other settings; pass a new --out")
            return r
    return model_based.run(dataclasses.replace(mb, resume=(out / "loop.pt").is_file()))


def run(a: Args) -> dict:
    a.check()
    out = Path(a.out)
    fingerprint = WorldCore(a.map).fingerprint
    rows = {}
    for task in a.tasks:
        free, based = [], []
        for seed in a.seeds:
            free.append(
                agent_training.train_or_reuse(
                    agent_training.Args(
                        env="WorldMap-v0",
                        task=task,
                        map=a.map,
                        timesteps=a.ppo_steps,
                        seed=seed,
                        eval_every=a.ppo_eval_every,
                        eval_at=a.ppo_eval_at,
                        eval_episodes=a.eval_episodes,
                        out=str(out / task / f"ppo-s{seed}"),
                        progress=a.progress,
                    )
                )
            )
            based.append(_model_based(a, task, seed, out / task / f"model-based-s{seed}"))
        rows[task] = summarise(free, based, a.target)
        plot_curves(
            {"model-free PPO": rows[task]["curves_free"], "model-based PPO": rows[task]["curves_based"]},
            None,
            out / f"curves_{task}.png",
            xlabel="real env steps",
            logx=True,
        )
    atomic_write(out / "sample_efficiency.json", lambda f: f.write(json.dumps(rows, indent=2).encode()))
    text = _table(a, rows, fingerprint)
    atomic_write(out / "sample_efficiency.md", lambda f: f.write(text.encode()))
    print(text)
    return rows


def main(argv=None) -> dict:
    return run_cli(Args, run, argv, Args.__doc__.split("\n\n")[0])


def cli() -> None:
    """The console script (setup.cfg): ``main`` without its return value, which would become the exit status."""
    main()


if __name__ == "__main__":
    main()
