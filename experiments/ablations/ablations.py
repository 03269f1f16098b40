"""Re-run the original research's ablation table at an equal training budget.

    python experiments/ablations/ablations.py --budget 600 --out runs/ablations [--rows ...]             (equal wall
    clock)
    python experiments/ablations/ablations.py --budget-steps 3000 --batch-size 64 --device cuda --jobs 7  (equal
    samples)

Every row trains with ``python -m world_models.training`` (its flags: ROWS below) for the same budget: wall-clock
seconds of training on the machine it runs on (``--budget``) or optimiser steps of the same batch size, i.e. training
samples seen (``--budget-steps``; comparable across machines). The conditional rows are then measured by the benchmark's
command line, ``python -m worldbench`` (one run, every row at its sampler steps, in ``--out``/bench), and the table is
built from its ``leaderboard.json``. ``--jobs`` trains independent rows side by side (a GPU is far from full with one of
these small models). ``--cpu-speed`` re-measures the speed columns of a finished table on this machine's CPU from each
row's model config (speed does not depend on the weights). Writes ``table.md`` / ``table.json`` in ``--out`` and a
KID-vs-sampler-steps plot (DDIM ``world_clsfg`` against flow matching ``world_flow_clsfg``; ``--kid-steps``); each row's
command is printed so it can be reproduced alone. Rows already trained are not retrained, so an interrupted run
continues.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from world_models.data import TransitionSampler, to_tensor
from world_models.generative.processes import make_process
from world_models.inference import load_world_model, resolve_device
from world_models.io.checkpoint import load_checkpoint
from world_models.model.dit import ModelConfig, build_model
from world_models.speed import frame_fn, seconds_per_call, train_step_fn
from worldbench.report import leaderboard_md
from worldgen_core.cli import at_least, check, run_cli
from worldgen_core.files import atomic_write
from worldgen_core.world import WorldCore

#: name -> (flags of ``python -m world_models.training``, sampler steps the benchmark runs the row at; None: the
#: checkpoint's own). "seed" is the original research's WorldDiT. ``{out}`` is ``--out``. Every trainer flag the
#: ablations use is in this table (the budget, batch, device and output flags are added in ``_command``).
ROWS: dict[str, tuple[list[str], list[int | None]]] = {
    "diffusion": (
        ["--experiment", "diffusion", "--preset", "seed"],
        [],
    ),  # unconditional: pretraining for world_filmcond_pre, not a simulator
    "world_base": (["--experiment", "world", "--preset", "seed", "--arch.film", "False"], [None]),
    "world_filmcond": (["--experiment", "world", "--preset", "seed"], [None]),
    "world_filmcond_pre": (
        ["--experiment", "world", "--preset", "seed", "--pretrained", "{out}/diffusion/last.pt"],
        [None],
    ),
    "world_clsfg": (["--experiment", "world", "--preset", "seed", "--cfg.on"], [None]),
    "world_flow_base": (["--experiment", "world_flow", "--preset", "seed"], [None]),
    "world_flow_clsfg": (["--experiment", "world_flow", "--preset", "seed", "--cfg.on"], [None]),
    "ours_spatial_flow_cfg": (
        [
            "--experiment",
            "world_flow",
            "--preset",
            "small",
            "--cfg.on",
            "--cfg.scale",
            "1.0",
            "--t-sampling",
            "logit_normal",
        ],
        [10, 1],
    ),
}
#: the KID-vs-steps comparison: label -> row
KID_ROWS = {"DDIM": "world_clsfg", "flow": "world_flow_clsfg"}


@dataclass
class CliArgs:
    budget: float = 600
    """training seconds per row (wall clock on this machine)"""
    budget_steps: int | None = None
    """optimiser steps per row instead (equal samples seen: steps x batch)"""
    batch_size: int = 32
    device: str = "auto"
    """training and benchmark device (auto: CUDA if available)"""
    jobs: int = 1
    """rows trained at the same time"""
    out: Path = Path("runs/ablations")
    rows: tuple[str, ...] = tuple(ROWS)
    """rows to train and measure (of ROWS)"""
    preset: str | None = None
    """train every row at this model preset instead of its own (tiny: a smoke run of the whole table)"""
    quick: bool = False
    """the benchmark at its smoke-run sizes (noisy numbers, seconds per model)"""
    sampler_steps: int | None = None
    """sampler steps of the rows measured at their checkpoint's own setting (default: the checkpoint's, DDIM x50 or
    Euler x10); 1 makes a quick smoke run"""
    kid_steps: tuple[int, ...] = (1, 2, 5, 10, 25, 50, 100)
    """sampler steps of the KID-vs-steps comparison (DDIM world_clsfg vs flow world_flow_clsfg; empty: none)"""
    cpu_speed: bool = False
    """only re-measure the speed columns of --out/table.json on this CPU"""
    speed_seconds: float = 2.0
    """with --cpu-speed: seconds per timed repeat"""


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


def _trained(run: Path, a: CliArgs) -> bool:
    if not (run / "last.pt").exists():
        return False
    ck = load_checkpoint(run / "last.pt")
    return ck["step"] >= a.budget_steps if a.budget_steps else ck["elapsed"] >= a.budget


def _flags(name: str, a: CliArgs) -> list[str]:
    flags = [f.format(out=a.out) for f in ROWS[name][0]]
    if a.preset:
        flags[flags.index("--preset") + 1] = a.preset
    return flags


def _command(name: str, a: CliArgs) -> list[str]:
    budget = ["--steps", str(a.budget_steps)] if a.budget_steps else ["--time-budget", str(a.budget)]
    return [
        sys.executable,
        "-m",
        "world_models.training",
        *_flags(name, a),
        *budget,
        "--batch-size",
        str(a.batch_size),
        "--device",
        a.device,
        "--out",
        str(a.out / name),
        "--no-progress",
    ]


def train_rows(names: list[str], a: CliArgs) -> None:
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
                running[name] = subprocess.Popen(
                    cmd + (["--resume"] if (run / "last.pt").exists() else []), stdout=log, stderr=subprocess.STDOUT
                )
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
                raise SystemExit(
                    f"error: training row {name!r} failed (exit {proc.returncode}); see {out / name / 'train.log'}"
                )


def benchmark(specs: dict[str, str], out: Path, a: CliArgs) -> dict:
    """``python -m worldbench NAME=SPEC ... --out OUT``: the results of its ``leaderboard.json``, by name."""
    cmd = [
        sys.executable,
        "-m",
        "worldbench",
        *(f"{k}={v}" for k, v in specs.items()),
        "--out",
        str(out),
        "--device",
        a.device,
        *(["--quick"] if a.quick else []),
    ]
    print(" ".join(cmd), flush=True)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "bench.log", "w") as log:
        code = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT).returncode
    if code:
        raise SystemExit(f"error: the benchmark failed (exit {code}); see {out / 'bench.log'}")
    results = json.loads((out / "leaderboard.json").read_text())["results"]
    missing = set(specs) - set(results)
    check(not missing, f"the benchmark in {out} has no results for {sorted(missing)}")
    return results


def kid_vs_steps(a: CliArgs) -> dict[str, list[float]]:
    """KID-rand of the revealed strips against sampler steps, DDIM against flow matching; plotted to
    kid_vs_steps.png."""
    specs = {
        f"{label}@{s}": f"{a.out / row / 'last.pt'}?steps={s}" for label, row in KID_ROWS.items() for s in a.kid_steps
    }
    res = benchmark(specs, a.out / "kid_vs_steps", a)
    curves = {label: [res[f"{label}@{s}"]["kid_rand_new"] for s in a.kid_steps] for label in KID_ROWS}
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    for label, kids in curves.items():
        ax.plot(a.kid_steps, kids, "o-", label=f"{label} ({KID_ROWS[label]})")
    ax.set(xscale="log", xlabel="sampler steps", ylabel="KID-rand, revealed strips", title="KID against sampler steps")
    ax.legend()
    fig.tight_layout()
    fig.savefig(a.out / "kid_vs_steps.png", dpi=120)
    plt.close(fig)
    return curves


def cpu_speed(results: dict, seconds: float = 2.0, repeats: int = 3) -> None:
    """Replace the speed columns by this machine's CPU figures (random weights of each row's config)."""
    for name, r in results.items():
        if "config" in r:
            r.update(row_speed(r, seconds, repeats))
            print(
                f"{name}: {r['train_samples_s']:.1f} train samples/s, {r.get('frames_per_s_b1', float('nan')):.1f} "
                "frames/s (B=1) on CPU",
                flush=True,
            )


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

    out = {
        "train_samples_s": batch
        / seconds_per_call(
            train_step_fn(model, process, torch.randn(batch, 3, 64, 64), cond(batch), amp), seconds, repeats
        )
    }
    model.eval()
    if world:
        for b in (1, 64):
            frames = frame_fn(
                model, process, cond(b), b, amp, sampler=r["sampler"], steps=r["steps"], cfg_scale=r["cfg_scale"]
            )
            out[f"frames_per_s_b{b}"] = b / seconds_per_call(frames, seconds, repeats if b == 1 else 1)
    return out


def run(a: CliArgs) -> dict:
    unknown = sorted(set(a.rows) - set(ROWS))
    check(not unknown, f"--rows: unknown rows {unknown}; choose from {list(ROWS)}")
    for flag, v in (
        ("--batch-size", a.batch_size),
        ("--jobs", a.jobs),
        ("--sampler-steps", a.sampler_steps or 1),
        *(("--kid-steps", s) for s in a.kid_steps),
    ):
        at_least(flag, v, 1)
    if a.cpu_speed:
        results = json.loads((a.out / "table.json").read_text())
        cpu_speed(results, a.speed_seconds)
        return _write(
            a.out, results, f"speed columns: this machine's CPU ({torch.get_num_threads()} threads, bf16 autocast)"
        )
    a.device = str(resolve_device(a.device))
    rows = list(a.rows)
    needs = sorted({f.split("/")[1] for n in rows for f in ROWS[n][0] if "{out}" in f} - set(rows))
    rows += needs  # a row that starts from another row's checkpoint brings that row along
    a.out.mkdir(parents=True, exist_ok=True)
    train_rows(rows, a)
    budget = (
        f"{a.budget_steps} steps x batch {a.batch_size} = {a.budget_steps * a.batch_size} samples"
        if a.budget_steps
        else f"{a.budget:g} s"
    )
    stats, specs = {}, {}
    for name in rows:
        run_dir = a.out / name
        ck = load_checkpoint(run_dir / "last.pt")
        s = ck["sampling"]
        stats[name] = {
            **train_stats(run_dir),
            "eval_loss": eval_loss(run_dir / "last.pt"),
            "budget": budget,
            "elapsed_s": ck["elapsed"],
            "config": ck["config"],
            "process": ck["process"],
            "command": " ".join(_command(name, a)[1:]),
        }
        for steps in ROWS[name][1]:
            key = name + (f"@{steps}" if steps else "")
            steps = steps or a.sampler_steps or int(s["steps"])
            specs[key] = f"{run_dir / 'last.pt'}?steps={steps}"
            stats[key] = {**stats[name], "sampler": s["sampler"], "steps": steps, "cfg_scale": float(s["cfg_scale"])}
    bench = benchmark(specs, a.out / "bench", a) if specs else {}
    results = {
        k: {**stats[k], **bench.get(k, {"note": "unconditional: not a simulator, not benchmarked"})}
        for k in [*specs, *(n for n in rows if not ROWS[n][1])]
    }
    if a.kid_steps and set(KID_ROWS.values()) <= set(rows):
        results_kid = kid_vs_steps(a)
        _write_text(a.out / "kid_vs_steps.json", json.dumps({"steps": list(a.kid_steps), **results_kid}, indent=2))
    return _write(
        a.out,
        results,
        f"trained on {a.device}; measured by python -m worldbench ({'--quick' if a.quick else 'full sizes'})",
    )


def _sampler(r: dict) -> str:
    return f"{r['sampler']} x{r['steps']}" if "sampler" in r else ""


def _write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda f: f.write(text.encode()))


def _write(out: Path, results: dict, where: str) -> dict:
    _write_text(out / "table.json", json.dumps(results, indent=2))
    bench = {k: r for k, r in results.items() if "psnr_new" in r}
    extra = (
        "| | sampler | train loss | eval loss | train samples/s | frames/s B=1 | budget "
        "|\n|---|---|---|---|---|---|---|\n"
        + "".join(
            f"| {k} | {_sampler(r)} | {r['train_loss']:.4f} | {r['eval_loss']:.4f} | {r['train_samples_s']:.1f} | "
            f"{r.get('frames_per_s_b1', float('nan')):.1f} | {r['budget']} |\n"
            for k, r in results.items()
        )
    )
    text = f"{where}\n\n{leaderboard_md(bench) if bench else ''}\n\n{extra}"
    _write_text(out / "table.md", text)
    print(text)
    return results


def main(argv: list[str] | None = None) -> dict:
    return run_cli(CliArgs, run, argv, __doc__.split("\n\n")[0])


if __name__ == "__main__":
    main()
