"""Dream env-steps/s of two or more models measured alternately (this machine's timing drifts by about +-10% over
minutes, so models timed in turns compare better than separate runs): the median per model and, for the second model
against the first, the ratio of the medians and the median of the paired ratios.

    python experiments/dream_speed/speed_alt.py v4=v4.pt v5=data/world_model.pt      (N=64, 5 turns of 3 s, 2 threads)
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

import torch
import tyro

from worldbench.cost import time_vector
from worldbench.models import parse_spec
from worldgen_core.cli import at_least, check, run_cli
from worldgen_core.world import WorldCore


@dataclass
class CliArgs:
    models: tyro.conf.Positional[tuple[str, ...]]
    """two or more worldbench model specs, NAME=PATH.pt ..."""
    envs: int = 64
    """sub-envs of DreamWorldMap-v0"""
    seconds: float = 3.0
    """seconds per timing"""
    repeats: int = 5
    """turns: every model is timed once per turn"""
    device: str = "auto"
    threads: int = 2
    """torch CPU threads"""


def run(a: CliArgs) -> dict:
    check(len(a.models) >= 2, f"name two or more models to compare, got {len(a.models)}")
    for flag, v in (("--envs", a.envs), ("--repeats", a.repeats), ("--threads", a.threads)):
        at_least(flag, v, 1)
    check(a.seconds > 0, f"--seconds must be > 0, got {a.seconds}")
    torch.set_num_threads(a.threads)
    core = WorldCore()
    entries = [parse_spec(m, core, a.device) for m in a.models]
    res: dict[str, list[float]] = {e.name: [] for e in entries}
    for rep in range(a.repeats):
        for e in entries:
            res[e.name].append(time_vector("DreamWorldMap-v0", a.envs, a.seconds, {"model": e.make()}))
            print(rep, e.name, round(res[e.name][-1], 1), flush=True)
    for name, v in res.items():
        print(name, "median", round(statistics.median(v), 1), [round(x) for x in v])
    first, second = list(res)[:2]
    ratio = statistics.median(res[second]) / statistics.median(res[first])
    paired = statistics.median(b / a for a, b in zip(res[first], res[second]))
    print("ratio", second, "/", first, round(ratio, 3), "paired:", round(paired, 3))
    return {"steps_per_s": res, "ratio": ratio, "paired_ratio": paired}


def main(argv: list[str] | None = None) -> dict:
    return run_cli(CliArgs, run, argv, __doc__.split("\n\n")[0])


if __name__ == "__main__":
    main()
