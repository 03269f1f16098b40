"""Benchmark world models on a map whose every pixel is known: ``python -m worldbench [MODEL ...]``.

MODEL: ``copy``, ``shift``, ``oracle``, a checkpoint (``PATH.pt``, optionally ``PATH.pt?steps=10&cfg=1.5``)
or ``module:factory`` (your own simulator, :mod:`worldgen_core.simulator`); ``NAME=MODEL`` names a
row. Default: ``copy shift shipped=data/world_model.pt``.

Writes ``leaderboard.md`` / ``leaderboard.json``, ``psnr_curves.png`` (rollout PSNR against steps,
loop-closure PSNR against k, streaks along the motion on straight walks against steps), ``c2st.png``, ``strips.png`` and
``loop.gif`` to ``--out``.
``--agents`` adds agent transfer (:mod:`worldbench.transfer`): PPO trained inside each learned
simulator and in the real env, evaluated in the real env, on the near, far and drawn tasks (the
far task without the goal view in the dream's memory: the one that needs the world's content;
about 30 minutes per model on 2 CPU cores; runs are kept in ``--out``/agents and reused).
``--explain`` adds what gives each model away: C2ST on the bands and frames reduced to brightness,
colour noise and layout (:func:`worldbench.c2st.explain`). ``--episodes DATASET`` (an episode dataset of the
map, ``python -m agents.episodes``) splits the new-strip PSNR (and, with at least 100 bands each side, the C2ST on
revealed bands) between the one-step transitions whose revealed strip the dataset's views showed (seen) and those
whose strip they never showed (unseen): what a model trained from those episodes knows of the places it was shown
against the places it must invent. ``--calibrate`` instead shows what C2ST sees: real against
real, noise, blur, lost contrast and
``shift``'s streaks.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import torch
import tyro

from world_models.baselines import shift_baseline
from world_models.episodes import covered_cells, load_transitions
from worldgen_core import dynamics as dyn
from worldgen_core.cli import at_least, input_file, output_dir, run_cli
from worldgen_core.metrics import new_bands
from worldgen_core.world import WorldCore

from . import c2st as c2st_mod
from . import runners
from .bench import MIN_SPLIT_BANDS, QUICK, STREAK_STEPS, BenchConfig, config_dict, evaluate_entry, seen_split
from .models import parse_spec
from .report import leaderboard_md, write_report
from .transfer import QUICK_TRANSFER, TransferConfig, transfer

DEFAULT_MODELS = ("copy", "shift", "shipped=data/world_model.pt")


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
            print(
                f"{what:<14} {name:<32} {100 * r['accuracy']:5.1f}% [{100 * r['ci_low']:.1f}-{100 * r['ci_high']:.1f}]",
                flush=True,
            )
    return out


@dataclass
class CliArgs:
    """Benchmark world models on a map whose every pixel is known (``python -m worldbench --help``)."""

    models: tyro.conf.Positional[tuple[str, ...]] = DEFAULT_MODELS
    """[NAME=]copy | shift | oracle | PATH.pt[?steps=N&cfg=W&sampler=NAME&memory=0|1&place=0|1] | module:factory"""
    out: Path = Path("runs/benchmark")
    map: str | None = None
    """world-map image (default: data/world_map.png)"""
    quick: bool = False
    """smoke-run sizes: every code path, noisy numbers, seconds per model"""
    seed: int = 0
    device: str = "auto"
    dtype: Literal["auto", "bfloat16", "float32"] = "auto"
    """autocast dtype of checkpoint models (auto: bfloat16 on a GPU or a CPU with AMX, else float32)"""
    calibrate: bool = False
    """instead: what C2ST sees (real vs real, noise, blur, contrast, streaks)"""
    explain: bool = False
    """also C2ST on brightness, colour noise and layout alone: what gives each model away"""
    agents: bool = False
    """also agent transfer: PPO in each learned simulator vs in the real env, near, far and drawn tasks"""
    agent_seeds: tuple[int, ...] = (0,)
    agent_steps: tuple[int, int] | None = None
    """env steps per agent-transfer run on the near and far tasks: NEAR FAR (drawn: as far; default: 30000 100000)"""
    agent_jobs: int = 1
    """agent-transfer runs trained at once (worker processes: many cores or a GPU)"""
    threads: int | None = None
    """torch CPU threads"""
    episodes: str | None = None
    """an episode dataset of --map (python -m agents.episodes): also the new-strip PSNR (and C2ST) on the transitions
    whose revealed strip its views showed (seen) and on those whose strip they never showed (unseen)"""

    def check(self) -> None:
        """Every value, before any work (a ``ValueError``: one ``error:`` line from the command line)."""
        at_least("--seed", self.seed, 0)
        at_least("--agent-seeds", self.agent_seeds, 0)
        at_least("--agent-jobs", self.agent_jobs, 1)
        if self.agent_steps is not None:
            at_least("--agent-steps", self.agent_steps, 1)
        if self.threads is not None:
            at_least("--threads", self.threads, 1)
        if self.map is not None:
            input_file("--map", self.map, "world-map image")
        if self.episodes is not None and self.calibrate:
            raise ValueError("--episodes splits the benchmark's rows; --calibrate has none: drop one of them")
        if not self.models and not self.calibrate:
            raise ValueError("name at least one model (default: copy shift shipped=data/world_model.pt)")


def _episodes(path: str, core: WorldCore, config: BenchConfig) -> tuple:
    """The cells the dataset ``path`` (of ``core``'s map, else a ``ValueError``) covered, and what the benchmark's
    one-step transitions are to it: (covered grid, meta dict with the dataset's coverage and the seen/unseen counts)."""
    data = load_transitions(path, core)
    covered = covered_cells(data, core)
    starts, acts = runners.transitions(core, config.n_transitions, config.seed)  # the ones evaluate_entry draws
    seen, unseen = seen_split(core, starts, acts[:, 0], covered)
    return covered, {
        "path": str(path),
        "dataset_id": data.metadata.get("dataset_id"),
        "dataset_transitions": len(data),
        "coverage": float(covered.mean()),
        "cells_covered": int(covered.sum()),
        "cells": int(covered.size),
        "n_transitions": config.n_transitions,
        "n_new_seen": int(seen.sum()),
        "n_new_unseen": int(unseen.sum()),
        "c2st_split": bool(min(seen.sum(), unseen.sum()) >= MIN_SPLIT_BANDS),
    }


def _episodes_line(e: dict) -> str:
    """The report's line on the episode dataset: its coverage and how the one-step transitions split."""
    line = (
        f" Episodes `{e['path']}` ({e['dataset_transitions']} transitions) cover {100 * e['coverage']:.1f}% of the "
        f"map's cells ({e['cells_covered']} of {e['cells']}); of the {e['n_transitions']} one-step transitions, "
        f"{e['n_new_seen']} reveal a strip of cells its views all showed (seen) and {e['n_new_unseen']} a strip of "
        "cells they never showed (unseen; the rest, partly shown, are in neither): new strip dB seen / unseen."
    )
    if e["c2st_split"]:
        return line + " C2ST new strip seen / unseen: on the revealed bands of each side."
    return line + (
        f" No C2ST seen / unseen: a side has fewer than {MIN_SPLIT_BANDS} revealed bands "
        f"({e['n_new_seen']} seen, {e['n_new_unseen']} unseen), too few for a critic."
    )


def _checked_entries(a: CliArgs, core: WorldCore) -> list:
    """Every model spec parsed and made once (checkpoints loaded, factories called) before any work."""
    try:
        entries = [parse_spec(m, core, a.device, a.dtype) for m in a.models]
    except TypeError as e:  # check_simulator: not a simulator
        raise ValueError(str(e)) from e
    for e in entries:
        try:
            e.make()  # a factory that fails, or returns no simulator, fails now, not mid-benchmark
        except Exception as err:  # noqa: BLE001 - whatever a user's factory raises
            raise ValueError(
                f"model {e.name!r} ({e.spec}) cannot be made: {type(err).__name__}: {err}; nothing was run"
            ) from err
    names = [e.name for e in entries]
    if len(set(names)) != len(names):
        raise ValueError(f"two models share a name ({names}); name them NAME=MODEL")
    return entries


def run(a: CliArgs) -> dict:
    """What the command does: checks every value, path and model before any work; a model that fails
    mid-run loses only its own row (the others are reported, the failure named)."""
    a.check()
    output_dir("--out", a.out)
    if a.threads:
        torch.set_num_threads(a.threads)
    config = replace(QUICK if a.quick else BenchConfig(), seed=a.seed, c2st_explain=a.explain)
    core = WorldCore(a.map)
    if a.calibrate:
        cal = calibrate(core, 64 if a.quick else 1000, a.seed, config.c2st_steps)
        (a.out / "c2st_calibration.json").write_text(json.dumps(cal, indent=2))
        return cal
    covered, split = _episodes(a.episodes, core, config) if a.episodes is not None else (None, None)
    entries = _checked_entries(a, core)
    results, curves, arts, failed = {}, {}, {}, {}
    for e in entries:
        t0 = time.perf_counter()
        try:
            results[e.name], curves[e.name], arts[e.name] = evaluate_entry(e, core, config, covered)
        except Exception as err:  # noqa: BLE001 - any model's own failure: its row is lost, not the others'
            failed[e.name] = f"{type(err).__name__}: {err}"
            print(f"{e.name}: failed ({failed[e.name]}); going on with the other models", flush=True)
            continue
        r = results[e.name]
        print(
            f"{e.name}: known {r['psnr_known']:.2f} new {r['psnr_new']:.2f} roll@16 {r['rollout_psnr@16']:.2f} "
            f"loop back (worst k) {r['loop_line_back_min']:.1f}/{r['loop_square_back_min']:.1f} "
            f"C2ST new {100 * r['c2st_new_accuracy']:.1f}% roll@16 {100 * r['c2st_roll16_accuracy']:.1f}% "
            f"streaks@16 colour {r['streaks_chroma@16']:.2f}x luma {r['streaks_luma@16']:.2f}x "
            f"({time.perf_counter() - t0:.0f} s)",
            flush=True,
        )
    why = "; ".join(f"{n!r}: {m}" for n, m in failed.items())
    if not results:
        raise ValueError(f"every model failed ({why}); nothing was written")
    entries = [e for e in entries if e.name in results]
    meta = {
        "models": {e.name: e.spec for e in entries},
        "sha256": {e.name: e.digest for e in entries if e.digest},
        "model_names": {e.name: e.model for e in entries if e.model},
        "failed": failed,
        "map": a.map or "data/world_map.png",
        "map_fingerprint": core.fingerprint,
        "config": config_dict(config),
        "torch_threads": torch.get_num_threads(),
        "date": time.strftime("%Y-%m-%d"),
        "description": (
            f"Map `{a.map or 'data/world_map.png'}`, seed "
            f"{config.seed}{' (--quick: smoke-run sizes)' if a.quick else ''}: "
            f"{config.n_transitions} one-step transitions, {config.n_rollouts} open-loop rollouts of {config.horizon} "
            "random moves, "
            f"{config.n_loops} loops per kind and k, C2ST on {config.n_transitions} revealed bands and on the frames "
            "at step 16 "
            f"of {config.c2st_rollouts} rollouts (the median of {config.c2st_repeats} critics, each trained on its own "
            "half and tested on the other; "
            "the range over critics in brackets; 50% = indistinguishable); streaks: stripes along the motion at the "
            "end of "
            f"{config.n_walks} straight walks of {STREAK_STEPS} moves, as a ratio to the true frames' (1 = the map's "
            "own). "
            f"PSNR in dB against the true views; "
            f"dream env-steps/s at N={config.speed_envs} on this machine ({torch.get_num_threads()} torch threads)."
            + (f" Failed, so not in the table: {why}." if failed else "")
            + (_episodes_line(split) if split else "")
        ),
    }
    if split:
        meta["episodes"] = split
    if a.agents:
        transfer_config = replace(QUICK_TRANSFER if a.quick else TransferConfig(), seeds=tuple(a.agent_seeds))
        if a.agent_steps:
            transfer_config = replace(transfer_config, steps={"near": a.agent_steps[0], "far": a.agent_steps[1]})
        meta["transfer"] = transfer(
            entries=[e for e in entries if e.spec != "oracle"],
            out=a.out / "agents",
            config=transfer_config,
            map_path=a.map,
            jobs=a.agent_jobs,
            device=a.device,
            dtype=a.dtype,
        )
        meta["transfer_description"] = (
            f"Env steps per run: {transfer_config.steps}; extractors {transfer_config.extractor}; seeds "
            f"{list(transfer_config.seeds)}; "
            f"{transfer_config.eval_episodes} real-env evaluation episodes per policy. Runs in `{a.out / 'agents'}`."
        )
    files = write_report(a.out, results, curves, arts, meta)
    print(leaderboard_md(results))
    print(f"report: {files['md']}")
    if failed:
        raise ValueError(
            f"{len(failed)} of {len(failed) + len(results)} models failed ({why}); the others are in {files['md']}"
        )
    return results


def main(argv=None) -> dict:
    return run_cli(CliArgs, run, argv, __doc__)


def cli() -> None:
    """The console script (setup.cfg): ``main`` without its return value, which would become the exit status."""
    main()


if __name__ == "__main__":
    main()
