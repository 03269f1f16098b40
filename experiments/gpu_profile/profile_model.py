"""A torch profile of one world model's predictions at a large batch: which kernels and copies the time goes to
(docs/gpu.md: the device-to-host copy of a strided tensor took 48% of the GPU time at batch 4096).

    python experiments/gpu_profile/profile_model.py --device cuda --batch 4096 > profile.txt
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from torch.profiler import ProfilerActivity, profile

from world_models.inference import SHIPPED_MODEL, load_world_model
from worldgen_core.cli import at_least, input_file, run_cli


@dataclass
class CliArgs:
    model: str = str(SHIPPED_MODEL)
    """a world-model checkpoint"""
    device: str = "cuda"
    dtype: str = "auto"
    """autocast dtype (auto: bfloat16 on a GPU or a CPU with AMX, else float32)"""
    batch: int = 4096
    """views per prediction"""
    warmup: int = 3
    calls: int = 5
    """profiled predictions"""
    rows: int = 18
    """table rows, by total device time (CPU time on a CPU)"""


def run(a: CliArgs) -> str:
    input_file("--model", a.model, "checkpoint")
    for flag, v in (("--batch", a.batch), ("--calls", a.calls), ("--rows", a.rows)):
        at_least(flag, v, 1)
    at_least("--warmup", a.warmup, 0)
    wm = load_world_model(a.model, device=a.device, dtype=a.dtype)
    rng = np.random.default_rng(0)
    views, actions = rng.integers(0, 256, (a.batch, 64, 64, 3), dtype=np.uint8), rng.integers(0, 4, a.batch)
    for _ in range(a.warmup):
        wm.predict(views, actions)
    cuda = wm.device.type == "cuda"
    with profile(activities=[ProfilerActivity.CPU, *([ProfilerActivity.CUDA] if cuda else [])]) as p:
        for _ in range(a.calls):
            wm.predict(views, actions)
    table = p.key_averages().table(
        sort_by="cuda_time_total" if cuda else "cpu_time_total", row_limit=a.rows, max_name_column_width=40
    )
    print(table)
    return table


def main(argv: list[str] | None = None) -> str:
    return run_cli(CliArgs, run, argv, __doc__.split("\n\n")[0])


if __name__ == "__main__":
    main()
