"""Benchmark world models on a map whose every pixel is known: ``python -m worldbench [MODEL ...]``.

MODEL: ``copy``, ``shift``, ``oracle``, a checkpoint (``PATH.pt``, optionally ``PATH.pt?steps=10&cfg=1.5``)
or ``module:factory`` (your own simulator, :mod:`worldgen_core.simulator`); ``NAME=MODEL`` names a
row. Default: ``copy shift shipped=data/world_model.pt``.

Writes ``leaderboard.md`` / ``leaderboard.json``, ``psnr_curves.png`` (rollout PSNR against steps,
loop-closure PSNR against k, streaks along the motion on straight walks against steps), ``c2st.png``, ``strips.png`` and ``loop.gif`` to ``--out``.
``--agents`` adds agent transfer (:mod:`worldbench.transfer`): PPO trained inside each learned
simulator and in the real env, evaluated in the real env, on the near, far and drawn tasks (the
far task without the goal view in the dream's memory: the one that needs the world's content;
about 30 minutes per model on 2 CPU cores; runs are kept in ``--out``/agents and reused).
``--explain`` adds what gives each model away: C2ST on the bands and frames reduced to brightness,
colour noise and layout (:func:`worldbench.c2st.explain`). ``--calibrate`` instead shows what C2ST sees: real against real, noise, blur, lost contrast and
``shift``'s streaks.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import torch

from world_models.baselines import shift_baseline
from world_models.evaluate import new_bands
from worldgen_core import dynamics as dyn
from worldgen_core.world import WorldCore

from . import c2st as c2st_mod
from . import runners
from .bench import QUICK, STREAK_STEPS, BenchConfig, config_dict, evaluate_entry
from .models import parse_spec
from .report import leaderboard_md, write_report
from .transfer import QUICK_TRANSFER, TransferConfig, transfer


def calibrate(core: WorldCore, n: int, seed: int, steps: int) -> dict:
    """C2ST on revealed bands and on whole frames: real vs real and vs known defects."""
    out = {}
    sa, aa = runners.transitions(core, n, seed)
    sb, ab = runners.transitions(core, n, seed + 1)
    na, nb = core.views(dyn.move(sa, aa[:, 0], core.grid)), core.views(dyn.move(sb, ab[:, 0], core.grid))
    bands_a, bands_b = new_bands(na, aa[:, 0]), new_bands(nb, ab[:, 0])
    streaked = new_bands(shift_baseline(core.views(sb), ab[:, 0], core.task.stride), ab[:, 0])
    for what, (ra, rb, st) in {"revealed band": (bands_a, bands_b, streaked), "whole frame": (na, nb, None)}.items():
        for name, r in c2st_mod.calibrate(ra, rb, st, seed, steps).items():
            out[f"{what}: {name}"] = r
            print(f"{what:<14} {name:<32} {100 * r['accuracy']:5.1f}% [{100 * r['ci_low']:.1f}-{100 * r['ci_high']:.1f}]", flush=True)
    return out


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n\n", 1)[1])
    p.add_argument("models", nargs="*", default=["copy", "shift", "shipped=data/world_model.pt"])
    p.add_argument("--out", type=Path, default=Path("runs/benchmark"))
    p.add_argument("--map", default=None, help="world-map image (default: data/world_map.png)")
    p.add_argument("--quick", action="store_true", help="smoke-run sizes: every code path, noisy numbers, seconds per model")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--dtype", default="auto", choices=["auto", "bfloat16", "float32"],
                   help="autocast dtype of checkpoint models (auto: bfloat16 on a GPU or a CPU with AMX, else float32)")
    p.add_argument("--calibrate", action="store_true", help="instead: what C2ST sees (real vs real, noise, blur, contrast, streaks)")
    p.add_argument("--explain", action="store_true", help="also C2ST on brightness, colour noise and layout alone: what gives each model away")
    p.add_argument("--agents", action="store_true", help="also agent transfer: PPO in each learned simulator vs in the real env, near, far and drawn tasks")
    p.add_argument("--agent-seeds", type=int, nargs="+", default=[0])
    p.add_argument("--agent-steps", type=int, nargs=2, default=None, metavar=("NEAR", "FAR"),
                   help="env steps per agent-transfer run on the near and far tasks (drawn: as far; default: 30000 100000)")
    p.add_argument("--agent-jobs", type=int, default=1, help="agent-transfer runs trained at once (worker processes: many cores or a GPU)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    a = p.parse_args(argv)
    if a.agent_jobs < 1 or a.agent_steps and min(a.agent_steps) < 1:
        p.error(f"--agent-jobs and --agent-steps must be >= 1, got {a.agent_jobs} and {a.agent_steps}")
    if a.threads:
        torch.set_num_threads(a.threads)
    cfg = replace(QUICK if a.quick else BenchConfig(), seed=a.seed, c2st_explain=a.explain)
    try:
        core = WorldCore(a.map)
        if a.calibrate:
            cal = calibrate(core, 64 if a.quick else 1000, a.seed, cfg.c2st_steps)
            a.out.mkdir(parents=True, exist_ok=True)
            (a.out / "c2st_calibration.json").write_text(json.dumps(cal, indent=2))
            return cal
        entries = [parse_spec(m, core, a.device, a.dtype) for m in a.models]
    except (ValueError, FileNotFoundError, TypeError) as e:
        raise SystemExit(f"error: {e}") from e
    names = [e.name for e in entries]
    if len(set(names)) != len(names):
        raise SystemExit(f"error: two models share a name ({names}); name them NAME=MODEL")
    results, curves, arts = {}, {}, {}
    for e in entries:
        t0 = time.perf_counter()
        results[e.name], curves[e.name], arts[e.name] = evaluate_entry(e, core, cfg)
        r = results[e.name]
        print(f"{e.name}: known {r['psnr_known']:.2f} new {r['psnr_new']:.2f} roll@16 {r['rollout_psnr@16']:.2f} "
              f"loop back (worst k) {r['loop_line_back_min']:.1f}/{r['loop_square_back_min']:.1f} "
              f"C2ST new {100 * r['c2st_new_accuracy']:.1f}% roll@16 {100 * r['c2st_roll16_accuracy']:.1f}% "
              f"streaks@16 colour {r['streaks_chroma@16']:.2f}x luma {r['streaks_luma@16']:.2f}x "
              f"({time.perf_counter() - t0:.0f} s)", flush=True)
    meta = {"models": {e.name: e.spec for e in entries}, "map": a.map or "data/world_map.png", "config": config_dict(cfg),
            "torch_threads": torch.get_num_threads(), "date": time.strftime("%Y-%m-%d"),
            "description": (f"Map `{a.map or 'data/world_map.png'}`, seed {cfg.seed}{' (--quick: smoke-run sizes)' if a.quick else ''}: "
                            f"{cfg.n_transitions} one-step transitions, {cfg.n_rollouts} open-loop rollouts of {cfg.horizon} random moves, "
                            f"{cfg.n_loops} loops per kind and k, C2ST on {cfg.n_transitions} revealed bands and on the frames at step 16 "
                            f"of {cfg.c2st_rollouts} rollouts (the median of {cfg.c2st_repeats} critics, each trained on its own half and tested on the other; "
                            f"the range over critics in brackets; 50% = indistinguishable); streaks: stripes along the motion at the end of "
                            f"{cfg.n_walks} straight walks of {STREAK_STEPS} moves, as a ratio to the true frames' (1 = the map's own). "
                            f"PSNR in dB against the true views; "
                            f"dream env-steps/s at N={cfg.speed_envs} on this machine ({torch.get_num_threads()} torch threads).")}
    if a.agents:
        tcfg = replace(QUICK_TRANSFER if a.quick else TransferConfig(), seeds=tuple(a.agent_seeds))
        if a.agent_steps:
            tcfg = replace(tcfg, steps={"near": a.agent_steps[0], "far": a.agent_steps[1]})
        meta["transfer"] = transfer(entries=[e for e in entries if e.spec != "oracle"], out=a.out / "agents", cfg=tcfg, map_path=a.map,
                                    jobs=a.agent_jobs, device=a.device, dtype=a.dtype)
        meta["transfer_description"] = (f"Env steps per run: {tcfg.steps}; extractors {tcfg.extractor}; seeds {list(tcfg.seeds)}; "
                                        f"{tcfg.eval_episodes} real-env evaluation episodes per policy. Runs in `{a.out / 'agents'}`.")
    files = write_report(a.out, results, curves, arts, meta)
    print(leaderboard_md(results))
    print(f"report: {files['md']}")
    return results


if __name__ == "__main__":
    main()
