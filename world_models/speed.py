"""Model throughput on this machine: ``python -m world_models.speed [--presets ...]``.

For each preset and dtype (fp32, bf16 autocast) prints training samples/s (flow-matching loss,
AdamW step, batch 32 or ``--batch``), inference forwards/s at batch 1, and single-frame generation frames/s with
the sampler settings given (steps x CFG forwards included; CFG runs as one doubled batch).
Numbers are medians of ``--repeats`` timed runs; the ``seed`` preset (the original research's
model) is measured in the same run so ratios are comparable on a noisy machine.
"""

from __future__ import annotations

import contextlib
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from world_models.generative.processes import FlowMatching
from world_models.inference import resolve_device
from world_models.model.dit import PRESETS, build_model, preset
from worldgen_core.cli import check, run_cli


def seconds_per_call(fn, seconds: float, repeats: int) -> float:
    """Median seconds per call of ``fn`` over ``repeats`` runs of about ``seconds`` each (a GPU is
    synchronised before a run's clock starts and before it stops)."""
    sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
    fn()  # warm-up
    per = []
    for _ in range(repeats):
        sync()
        n, t0 = 0, time.perf_counter()
        while True:
            fn()
            n += 1
            if time.perf_counter() - t0 >= seconds:
                break
        sync()
        per.append((time.perf_counter() - t0) / n)
    return statistics.median(per)


def matmul_peak(device, dtype, n: int | None = None, seconds: float = 0.5, repeats: int = 5) -> float:
    """Measured FLOP/s of an ``n x n x n`` matrix product in ``dtype`` on ``device`` (median of ``repeats``)."""
    dev = torch.device(device)
    n = n or (8192 if dev.type == "cuda" else 1024)
    a, b = (torch.randn(n, n, device=dev).to(dtype) for _ in range(2))
    return 2 * n**3 / seconds_per_call(lambda: a @ b, seconds, repeats)


def model_rate(wm, batch: int, seconds: float = 2.0, repeats: int = 3) -> tuple[float, float]:
    """Generated frames/s of ``wm.predict`` at ``batch`` (median of ``repeats``) and its FLOPs per frame."""
    rng = np.random.default_rng(0)
    views, actions = (
        rng.integers(0, 256, (batch, wm.config.img_size, wm.config.img_size, 3), dtype=np.uint8),
        rng.integers(0, 4, batch),
    )
    g = torch.Generator(device=wm.device).manual_seed(0)
    with FlopCounterMode(display=False) as fc:
        wm.predict(views[:1], actions[:1], g)
    return batch / seconds_per_call(lambda: wm.predict(views, actions, g), seconds, repeats), fc.get_total_flops()


def train_step_fn(model, process, x_1: torch.Tensor, cond: dict | None, amp) -> Callable[[], None]:
    """One optimiser step (AdamW) of ``process.loss`` on a fixed batch ``x_1`` (B, C, H, W), for timing."""
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def step():
        with amp():
            loss = process.loss(model, x_1, cond)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def frame_fn(model, process, cond: dict | None, n: int, amp, **sampling) -> Callable[[], None]:
    """Generate ``n`` frames (``cond`` for ``n`` samples, or None) with the sampler settings given, for timing."""

    @torch.inference_mode()
    def frames():
        with amp():
            process.sample(model, cond, n=n, **sampling)

    return frames


def measure(
    name: str,
    bf16: bool,
    steps: int,
    cfg: bool,
    batch: int = 32,
    seconds: float = 2.0,
    repeats: int = 3,
    device="cpu",
    compile: bool = False,
) -> dict:
    torch.manual_seed(0)
    cfg_model = preset(name)
    m = build_model(cfg_model).to(device)
    fm = FlowMatching()
    amp = (lambda: torch.autocast(torch.device(device).type, dtype=torch.bfloat16)) if bf16 else contextlib.nullcontext
    x = torch.randn(batch, 3, 64, 64, device=device)
    cond = {
        "view": torch.randn(batch, 3, 64, 64, device=device),
        "action": torch.randint(0, 4, (batch,), device=device),
    }
    t_train = seconds_per_call(train_step_fn(m, fm, x, cond, amp), seconds, repeats)
    m.eval()
    one = {k: v[:1] for k, v in cond.items()}

    @torch.inference_mode()
    def forward():
        with amp():
            m(x[:1], torch.rand(1, device=device), **one)

    t_fwd = seconds_per_call(forward, seconds / 2, repeats)
    sampling = {"steps": steps, "cfg_scale": 2.0 if cfg else 1.0}
    if compile:  # inference only: compiled training gained ~5% here, not worth its compile time
        m = torch.compile(m)
        for _ in range(3):
            frame_fn(m, fm, one, 1, amp, **sampling)()  # compile for the shapes used (the CFG batch and the plain one)
    t_frame = seconds_per_call(frame_fn(m, fm, one, 1, amp, **sampling), seconds, repeats)
    return {
        "preset": name,
        "dtype": "bf16" if bf16 else "fp32",
        "params_M": sum(p.numel() for p in m.parameters()) / 1e6,
        "train_samples_s": batch / t_train,
        "forwards_s": 1 / t_fwd,
        "frames_s": 1 / t_frame,
        "steps": steps,
        "cfg": cfg,
    }


@dataclass
class Args:
    """Model throughput on this machine: training samples/s, forwards/s, frames/s per preset and dtype."""

    presets: tuple[str, ...] = ("tiny", "small", "base", "seed")
    """model size presets to measure"""
    steps: int = 2
    """Euler steps per generated frame for the non-seed presets"""
    seed_steps: int = 10
    """Euler steps per frame for the seed preset (the original's setting)"""
    cfg: bool = True
    """generate with classifier-free guidance (non-seed presets; --no-cfg: without)"""
    seconds: float = 2.0
    """seconds per timed run"""
    repeats: int = 3
    """timed runs per number (their median)"""
    device: str = "cpu"
    compile: bool = False
    """torch.compile the model for the frames/s column"""
    batch: int = 32
    """training batch size"""


def main(argv: list[str] | None = None) -> list[dict]:
    return run_cli(Args, run, argv, __doc__.split("\n\n")[0])


def run(a: Args) -> list[dict]:
    """Measure as ``a`` says (:class:`Args`); returns one row per preset and dtype."""
    unknown = [n for n in a.presets if n not in PRESETS]
    check(a.presets and not unknown, f"--presets must name presets among {sorted(PRESETS)}, got {list(a.presets)}")
    check(
        min(a.steps, a.seed_steps, a.repeats, a.batch) >= 1,
        f"--steps, --seed-steps, --repeats and --batch must be >= 1, "
        f"got {a.steps}, {a.seed_steps}, {a.repeats} and {a.batch}",
    )
    check(0 < a.seconds < math.inf, f"--seconds must be a finite number > 0, got {a.seconds}")
    resolve_device(a.device)  # a bad or absent device: its own message
    rows = []
    print(f"{'preset':<7}{'dtype':<6}{'params':>8}{'train samples/s':>17}{'fwd/s (B=1)':>13}{'frames/s':>10}  sampler")
    for name in a.presets:
        for bf16 in (False, True):
            steps, cfg = (a.seed_steps, True) if name == "seed" else (a.steps, a.cfg)
            r = measure(
                name,
                bf16,
                steps,
                cfg,
                batch=a.batch,
                seconds=a.seconds,
                repeats=a.repeats,
                device=a.device,
                compile=a.compile,
            )
            rows.append(r)
            print(
                f"{name:<7}{r['dtype']:<6}{r['params_M']:>7.2f}M{r['train_samples_s']:>17.1f}{r['forwards_s']:>13.1f}{r['frames_s']:>10.2f}"
                f"  euler x{steps}{' + CFG' if cfg else ''}",
                flush=True,
            )
    seed = {r["dtype"]: r for r in rows if r["preset"] == "seed"}
    if seed and any(r["preset"] == "small" for r in rows):
        best_seed_train = max(r["train_samples_s"] for r in seed.values())
        best_seed_frame = max(r["frames_s"] for r in seed.values())
        s = max((r for r in rows if r["preset"] == "small"), key=lambda r: r["train_samples_s"])
        f = max((r for r in rows if r["preset"] == "small"), key=lambda r: r["frames_s"])
        print(
            f"small vs seed (each at its faster dtype): training {s['train_samples_s'] / best_seed_train:.1f}x, "
            f"single-frame generation {f['frames_s'] / best_seed_frame:.1f}x"
        )
    return rows


if __name__ == "__main__":
    main()
