"""Re-run the original research's ablation table at an equal training budget.

``python -m world_models.ablations --budget 600 --out runs/ablations [--rows ...]``

Every row trains with ``train_world.py`` for the same wall-clock budget on this machine (seconds
of training steps, ``--time-budget``), then is evaluated by :mod:`world_models.evaluate` on the
same fixed-seed transitions. Writes ``table.md`` / ``table.json`` in ``--out``; each row's
command is printed so it can be reproduced alone. Rows already trained (a ``last.pt`` with the
full budget) are not retrained, so an interrupted run continues where it stopped.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from .checkpoint import load_checkpoint

#: name -> (train_world.py flags, sampler steps to evaluate). "seed" is the original research's WorldDiT.
ROWS: dict[str, tuple[list[str], list[int | None]]] = {
    "diffusion": (["--experiment", "diffusion", "--preset", "seed"], [None]),
    "world_base": (["--experiment", "world", "--preset", "seed", "--no-film"], [None]),
    "world_filmcond": (["--experiment", "world", "--preset", "seed"], [None]),
    "world_filmcond_pre": (["--experiment", "world", "--preset", "seed", "--pretrained", "{out}/diffusion/last.pt"], [None]),
    "world_clsfg": (["--experiment", "world", "--preset", "seed", "--cfg"], [None]),
    "world_flow_base": (["--experiment", "world_flow", "--preset", "seed"], [None]),
    "world_flow_clsfg": (["--experiment", "world_flow", "--preset", "seed", "--cfg"], [None]),
    "ours_spatial_flow_cfg": (["--experiment", "world_flow", "--preset", "small", "--cfg"], [None, 1]),
}


def eval_loss(ckpt_path: Path, n: int = 256, seed: int = 0) -> float:
    """The process's loss on ``n`` held-out transitions with fixed noise (EMA weights)."""
    from worldgen_env.envs import WorldCore

    from .data import TransitionSampler, to_tensor
    from .inference import load_world_model

    wm = load_world_model(ckpt_path, device="cpu")
    b = TransitionSampler(WorldCore(), seed=10_000 + seed).sample(n)
    g = torch.Generator().manual_seed(seed)
    cond = {"view": to_tensor(b["view"]), "action": torch.as_tensor(b["action"])} if wm.config.kind == "world" else None
    with torch.no_grad():
        return float(wm.process.loss(wm.model, to_tensor(b["next"]), cond, generator=g))


def train_stats(run: Path) -> dict:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    ea = EventAccumulator(str(run / "tb"))
    ea.Reload()
    loss = [e.value for e in ea.Scalars("losses/train")]
    sps = [e.value for e in ea.Scalars("charts/samples_per_s")]
    return {"train_loss": float(np.mean(loss[-20:])), "train_samples_s": float(np.median(sps))}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--budget", type=float, default=600, help="training seconds per row")
    p.add_argument("--out", type=Path, default=Path("runs/ablations"))
    p.add_argument("--rows", nargs="+", default=list(ROWS), choices=list(ROWS))
    p.add_argument("--n", type=int, default=500, help="evaluation transitions")
    a = p.parse_args(argv)
    results = {}
    for name in a.rows:
        flags, steps_list = ROWS[name]
        run = a.out / name
        cmd = [sys.executable, "train_world.py", *[f.format(out=a.out) for f in flags], "--time-budget", str(a.budget), "--out", str(run), "--no-progress"]
        done = (run / "last.pt").exists() and load_checkpoint(run / "last.pt")["elapsed"] >= a.budget
        print(("skip (trained): " if done else "") + " ".join(cmd), flush=True)
        if not done:
            subprocess.run(cmd + (["--resume"] if (run / "last.pt").exists() else []), check=True)
        stats = {**train_stats(run), "eval_loss": eval_loss(run / "last.pt"), "budget_s": a.budget}
        for steps in steps_list:
            from .evaluate import main as evaluate

            args = [str(run / "last.pt"), "--n", str(a.n), "--no-baselines", "--out", str(run / f"eval_steps{steps}")]
            if steps:
                args += ["--steps", str(steps)]
            if name == "diffusion":
                res = {"note": "unconditional: no one-step metrics"}
            else:
                res = next(iter(evaluate(args).values()))
            results[f"{name}" + (f" ({steps} step)" if steps else "")] = {**stats, **res, "command": " ".join(cmd)}
        (a.out / "table.json").write_text(json.dumps(results, indent=2))
    from .evaluate import markdown_table

    (a.out / "table.md").write_text(markdown_table(results) + "\n")
    print(markdown_table(results))
    return results


if __name__ == "__main__":
    main()
