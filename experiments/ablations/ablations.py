"""Re-run the original research's ablation table at an equal training budget.

``python -m world_models.ablations --budget 600 --out runs/ablations [--rows ...]`` (equal wall clock)
``python -m world_models.ablations --budget-steps 3000 --batch-size 64 --device cuda --jobs 7`` (equal samples)

Every row trains with ``python -m world_models.training`` for the same budget: wall-clock seconds of training on
the machine it runs on (``--budget``) or optimiser steps of the same batch size, i.e. training
samples seen (``--budget-steps``; comparable across machines), then is evaluated by
:mod:`world_models.evaluate` on the same fixed-seed transitions. ``--jobs`` trains independent
rows side by side (a GPU is far from full with one of these small models). ``--cpu-speed``
re-measures the speed columns of a finished table on this machine's CPU from each row's model
config (speed does not depend on the weights). Writes ``table.md`` / ``table.json`` in ``--out``
and a KID-vs-sampler-steps plot (DDIM vs flow matching); each row's command is printed so it can
be reproduced alone. Rows already trained are not retrained, so an interrupted run continues.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from world_models.data import TransitionSampler, to_tensor
from world_models.evaluate import main as evaluate
from world_models.evaluate import markdown_table
from world_models.generative.processes import make_process
from world_models.inference import load_world_model, resolve_device
from world_models.io.checkpoint import load_checkpoint
from world_models.model.dit import ModelConfig, build_model
from world_models.speed import frame_fn, seconds_per_call, train_step_fn
from worldgen_core.world import WorldCore

#: name -> (world_models.training flags, sampler steps to evaluate). "seed" is the original research's WorldDiT.
ROWS: dict[str, tuple[list[str], list[int | None]]] = {
    "diffusion": (["--experiment", "diffusion", "--preset", "seed"], [None]),
    "world_base": (["--experiment", "world", "--preset", "seed", "--film", "False"], [None]),
    "world_filmcond": (["--experiment", "world", "--preset", "seed"], [None]),
    "world_filmcond_pre": (["--experiment", "world", "--preset", "seed", "--pretrained", "{out}/diffusion/last.pt"], [None]),
    "world_clsfg": (["--experiment", "world", "--preset", "seed", "--cfg"], [None]),
    "world_flow_base": (["--experiment", "world_flow", "--preset", "seed"], [None]),
    "world_flow_clsfg": (["--experiment", "world_flow", "--preset", "seed", "--cfg"], [None]),
    "ours_spatial_flow_cfg": (["--experiment", "world_flow", "--preset", "small", "--cfg", "--cfg-scale", "1.0", "--t-sampling", "logit_normal"], [10, 1]),
}


def eval_loss(ckpt_path: Path, n: int = 256, seed: int = 0) -> float:
    """The process's loss on ``n`` held-out transitions with fixed noise (EMA weights)."""


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


def _trained(run: Path, a) -> bool:
    if not (run / "last.pt").exists():
        return False
    ck = load_checkpoint(run / "last.pt")
    return ck["step"] >= a.budget_steps if a.budget_steps else ck["elapsed"] >= a.budget


def _command(name: str, a) -> list[str]:
    flags = [f.format(out=a.out) for f in ROWS[name][0]]
    budget = ["--steps", str(a.budget_steps)] if a.budget_steps else ["--time-budget", str(a.budget)]
    return [sys.executable, "-m", "world_models.training", *flags, *budget, "--batch-size", str(a.batch_size), "--device", a.device,
            "--out", str(a.out / name), "--no-progress"]


def train_rows(names: list[str], a) -> None:
    """Train ``names`` with up to ``a.jobs`` processes at once; rows that start from another row's
    checkpoint (``{out}`` in their flags) wait for the independent ones."""
    independent = [n for n in names if not any("{out}" in f for f in ROWS[n][0])]
    for phase in (independent, [n for n in names if n not in independent]):
        running: dict[str, subprocess.Popen] = {}
        for name in phase:
            cmd, run = _command(name, a), a.out / name
            if _trained(run, a):
                print("skip (trained): " + " ".join(cmd), flush=True)
                continue
            print(" ".join(cmd), flush=True)
            run.mkdir(parents=True, exist_ok=True)
            with open(run / "train.log", "a") as log:
                running[name] = subprocess.Popen(cmd + (["--resume"] if (run / "last.pt").exists() else []), stdout=log, stderr=subprocess.STDOUT)
            while len(running) >= a.jobs:
                _reap(running, a.out)
        while running:
            _reap(running, a.out)


def _reap(running: dict[str, subprocess.Popen], out: Path) -> None:
    """Wait a moment; drop finished processes; stop with the log's path if one failed."""
    time.sleep(0.5)
    for name, proc in list(running.items()):
        if proc.poll() is not None:
            del running[name]
            if proc.returncode:
                raise SystemExit(f"error: training row {name!r} failed (exit {proc.returncode}); see {out / name / 'train.log'}")


def cpu_speed(results: dict, seconds: float = 2.0, repeats: int = 3) -> None:
    """Replace the speed columns by this machine's CPU figures (random weights of each row's config)."""
    for name, r in results.items():
        if "config" in r:
            r.update(row_speed(r, seconds, repeats))
            print(f"{name}: {r['train_samples_s']:.1f} train samples/s, {r.get('frames_per_s_b1', float('nan')):.1f} frames/s (B=1) on CPU", flush=True)


def row_speed(r: dict, seconds: float = 2.0, repeats: int = 3, batch: int = 32) -> dict:
    """Training samples/s (batch 32, bf16 autocast, AdamW) and, for conditional rows, frames/s at
    B=1 and B=64 with the row's sampler settings, for the model config ``r["config"]``."""

    torch.manual_seed(0)
    model = build_model(ModelConfig.from_dict(r["config"]))
    process = make_process(r["process"])
    world = r["config"]["kind"] == "world"
    amp = lambda: torch.autocast("cpu", dtype=torch.bfloat16)

    def cond(b):
        return {"view": torch.randn(b, 3, 64, 64), "action": torch.randint(0, 4, (b,))} if world else None

    out = {"train_samples_s": batch / seconds_per_call(train_step_fn(model, process, torch.randn(batch, 3, 64, 64), cond(batch), amp), seconds, repeats)}
    model.eval()
    if "frames_per_s_b1" in r:
        for b in (1, 64):
            frames = frame_fn(model, process, cond(b), b, amp, sampler=r["sampler"], steps=r["steps"], cfg_scale=r["cfg_scale"])
            out[f"frames_per_s_b{b}"] = b / seconds_per_call(frames, seconds, repeats if b == 1 else 1)
    return out


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--budget", type=float, default=600, help="training seconds per row (wall clock on this machine)")
    p.add_argument("--budget-steps", type=int, default=None, help="optimiser steps per row instead (equal samples seen: steps x batch)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--device", default="auto", help="training and evaluation device (auto: CUDA if available)")
    p.add_argument("--jobs", type=int, default=1, help="rows trained at the same time")
    p.add_argument("--out", type=Path, default=Path("runs/ablations"))
    p.add_argument("--rows", nargs="+", default=list(ROWS), choices=list(ROWS))
    p.add_argument("--n", type=int, default=500, help="evaluation transitions")
    p.add_argument("--kid-steps", type=int, nargs="+", default=[1, 2, 5, 10, 25, 50, 100],
                   help="sampler steps of the KID-vs-steps comparison (DDIM world_clsfg vs flow world_flow_clsfg)")
    p.add_argument("--cpu-speed", action="store_true", help="only re-measure the speed columns of --out/table.json on this CPU")
    a = p.parse_args(argv)

    if a.cpu_speed:
        results = json.loads((a.out / "table.json").read_text())
        cpu_speed(results)
        return _write(a.out, results, f"speed columns: this machine's CPU ({torch.get_num_threads()} threads, bf16 autocast)")
    a.device = str(resolve_device(a.device))
    a.out.mkdir(parents=True, exist_ok=True)
    train_rows(a.rows, a)
    results = {}
    budget = f"{a.budget_steps} steps x batch {a.batch_size} = {a.budget_steps * a.batch_size} samples" if a.budget_steps else f"{a.budget:g} s"
    for name in a.rows:
        run = a.out / name
        ck = load_checkpoint(run / "last.pt")
        stats = {**train_stats(run), "eval_loss": eval_loss(run / "last.pt"), "budget": budget, "elapsed_s": ck["elapsed"],
                 "config": ck["config"], "process": ck["process"], "command": " ".join(_command(name, a)[1:])}
        for steps in ROWS[name][1]:
            key = name + (f" ({steps} step)" if steps else "")
            if name == "diffusion":
                results[key] = {**stats, "note": "unconditional: no one-step metrics"}
                continue
            args = [str(run / "last.pt"), "--n", str(a.n), "--no-baselines", "--device", a.device, "--out", str(run / f"eval_steps{steps}")]
            if steps:
                args += ["--steps", str(steps)]
            res = next(iter(evaluate(args).values()))
            s = ck["sampling"]
            results[key] = {**stats, **res, "sampler": s["sampler"], "steps": steps or int(s["steps"]), "cfg_scale": float(s["cfg_scale"])}
        (a.out / "table.json").write_text(json.dumps(results, indent=2))
    if {"world_clsfg", "world_flow_clsfg"} <= set(a.rows):
        evaluate([str(a.out / "world_clsfg" / "last.pt"), "--steps", *map(str, a.kid_steps), "--compare", str(a.out / "world_flow_clsfg" / "last.pt"),
                  "--compare-steps", *map(str, a.kid_steps), "--n", str(a.n), "--rollouts", "8", "--no-baselines", "--device", a.device,
                  "--out", str(a.out / "kid_vs_steps")])
    return _write(a.out, results, f"trained and evaluated on {a.device}")


def _write(out: Path, results: dict, where: str) -> dict:

    (out / "table.json").write_text(json.dumps(results, indent=2))
    extra = "| | train loss | eval loss | train samples/s | budget |\n|---|---|---|---|---|\n" + "".join(
        f"| {k} | {r['train_loss']:.4f} | {r['eval_loss']:.4f} | {r['train_samples_s']:.1f} | {r['budget']} |\n" for k, r in results.items())
    text = f"{where}\n\n{markdown_table(results)}\n\n{extra}"
    (out / "table.md").write_text(text)
    print(text)
    return results


if __name__ == "__main__":
    main()
