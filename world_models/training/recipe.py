"""The one-command recipe: a world-map image in, a dream-ready world model out.

``python train_world.py --map my_map.png`` runs, inside one time budget, the stages and settings
of the shipped default-map model (worlddit-worldmap v5, ``data/world_model.md``), and ends with
``OUT/world_model.pt``, which ``DreamWorldMap-v0(checkpoint=..., map_path=...)`` and
``python -m worldbench`` load:

1. ``flow``: WorldDiT + flow matching with CFG dropout, logit-normal training times and noise on the
   conditioning view (drift robustness), with a *place field* over the map and its decoder (what is
   where on the map, painted into the revealed strip) and the copy filter's mean fill;
   ``1 - adv_share`` of the budget;
2. ``adversarial``: realism: the one-step sampler sharpened by a discriminator on the revealed band
   and its high-pass residual (:mod:`world_models.training.adversarial`), a loss on the colour of the error
   (:func:`world_models.training.realism.colour_mse`), and training on the model's own 16-step dreams judged
   as whole frames (:mod:`world_models.training.rollout`), from stage 1's EMA weights; ``adv_share`` of the budget;
3. export: EMA weights, one Euler step per frame, no guidance (the dream's setting).

With ``--extra-maps`` (a model of many maps) the place field and the dreams, which are of one map,
are off. With ``--episodes DATASET [DATASET ...]`` (one or more datasets of one map, recorded by
``python -m agents.episodes``) it trains on the datasets' transitions and never opens the map: the place field
learns where the episodes went, and the realism stage runs without the dreams (their targets are the map's views).

Each stage is a :mod:`world_models.training` run in ``OUT/<stage>`` (its own tensorboard
log and ``last.pt``); ``--resume`` continues the stage that was running and skips the finished
ones, and Ctrl-C saves. The batch is 32 on a CPU and 256 on a GPU, so the same command scales to a
GPU. By default it fine-tunes the universal model (``data/universal.pt``) at a lower learning
rate; ``--pretrained None`` trains from scratch, ``--pretrained PATH`` starts from another model.
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from world_models.episodes import recorded_map
from world_models.inference import UNIVERSAL_MODEL, resolve_device
from world_models.io.checkpoint import load_checkpoint
from world_models.io.export import export
from world_models.training import trainer as training
from world_models.training.settings import episode_paths, recorded_episodes
from worldgen_core.cli import run_cli
from worldgen_core.dynamics import TaskConfig
from worldgen_core.files import sigterm_as_interrupt
from worldgen_core.runs import check_resume_args, claim_run_dir, record_args, release_run_dir
from worldgen_core.world import WorldCore
from worldgen_core.world_map import map_files

__all__ = ["Args", "STAGES", "run", "main"]

#: the recipe's stages, in order
STAGES = ("flow", "adversarial")
#: recipe settings a --resume may change
RESUME_MAY_CHANGE = {"out", "resume", "time_budget", "device", "progress", "threads"}


@dataclass
class Args:
    """Train a dream-ready world model for a map in one command (every stage, one time budget)."""

    map: str | None = None
    """your world-map image (default: data/world_map.png)"""
    extra_maps: tuple[str, ...] = ()
    """more map images or folders of images to train on as well (a model for many maps)"""
    episodes: tuple[str, ...] = ()
    """train on the transitions of one or more Minari datasets of one map (python -m agents.episodes) instead of --map,
    never opening the map (the model knows the map the episodes were recorded on)"""
    time_budget: float = 2700.0
    """seconds of training over all stages (the default, 45 min, fits 2 CPU cores; a GPU trains 8x the batch in the same
    time)"""
    out: str = "runs/world"
    """run folder: one sub-folder per stage, world_model.pt at the end; must not hold another run"""
    pretrained: str | None = "universal"
    """start from this world model: universal (data/universal.pt, trained on 65 maps: fine-tuning it beat training from
    scratch on every held-out map at an equal budget, docs/benchmark.md#held-out-maps) | PATH | None (from scratch)"""
    preset: str = "small"
    """model size preset: tiny | small | base (a --pretrained model's weights load where shapes match)"""
    place_field: bool = True
    """learn a place field over --map: the model learns what is where on your map, and dreams it wherever the known
    motion puts the view (world_models.model.dit.ModelConfig.place_rows); off with --extra-maps, a field is of one
    map"""
    place_dim: int = training.PlaceArgs.dim
    """with --place-field: numbers per 8-px cell"""
    place_decoder: bool = True
    """with --place-field: also decode each cell's numbers straight to the revealed strip's pixels (on the default map,
    with --place-dim 128, 60 CPU minutes took the strip from 29.6 to 33.9 dB and C2ST below 60%:
    docs/results/worlddit-worldmap-v5.md)"""
    adv_share: float = 0.3
    """share of the budget for the adversarial stage (0: skip it)"""
    batch_size: int | None = None
    """per-step batch (default: 32 on a CPU, 256 on a GPU)"""
    lr: float | None = None
    """stage 1 learning rate (default: 3e-4 from scratch, 1e-4 from --pretrained); stage 2 uses 1e-4"""
    device: str = "auto"
    """auto (CUDA if available) | cpu | cuda | cuda:N"""
    seed: int = 0
    eval_every: int = 500
    """steps between tensorboard evaluations (image grids, rollouts, PSNR) on --map"""
    threads: int | None = None
    """torch CPU threads (default: torch's choice)"""
    resume: bool = False
    """continue the recipe in --out: the running stage resumes, finished stages are kept"""
    progress: bool = True

    def __post_init__(self) -> None:
        self.episodes = episode_paths(self.episodes)


def recorded(a: Args) -> dict:
    """The recipe's settings as its ``args.json`` (and the exported model's ``recipe``) records them: ``episodes`` as
    a run recorded it before several datasets could be given (none: None, one: its path, several: a list)."""
    return {**dataclasses.asdict(a), "episodes": recorded_episodes(a.episodes)}


def pretrained_path(a: Args) -> str | None:
    """``--pretrained`` as a path: ``universal`` is the shipped universal model."""
    return str(UNIVERSAL_MODEL) if a.pretrained == "universal" else a.pretrained


def _validate(a: Args) -> None:
    if not 0 < a.time_budget < math.inf:
        raise SystemExit(
            f"error: --time-budget must be a finite number of seconds > 0, got {a.time_budget} (Ctrl-C stops the "
            "recipe at any time and saves it; --resume continues it)"
        )
    if not 0 <= a.adv_share < 1:
        raise SystemExit(f"error: --adv-share must be in [0, 1), got {a.adv_share}")
    if a.episodes and (a.map or a.extra_maps):
        raise SystemExit(
            f"error: --episodes trains on the dataset's transitions alone, on the map it names: drop --map {a.map!r} "
            f"and --extra-maps ({len(a.extra_maps)} given)"
        )
    if a.episodes:
        recorded_map(a.episodes)  # a dataset that exists and names its map (a ValueError: one error line)
    if a.map is not None and not Path(a.map).is_file():
        raise SystemExit(f"error: --map {a.map!r} is not a file; pass an image (PNG, JPEG, ...)")
    try:
        map_files(a.extra_maps)
    except (FileNotFoundError, ValueError) as e:
        raise SystemExit(f"error: --extra-maps: {e}") from None
    if a.pretrained is not None and not Path(pretrained_path(a)).is_file():
        raise SystemExit(
            f"error: --pretrained {pretrained_path(a)!r} does not exist; pass a world-model checkpoint (.pt), or None "
            "to train from scratch"
        )
    if a.place_dim < 1:
        raise SystemExit(f"error: --place-dim must be >= 1, got {a.place_dim}")
    if a.batch_size is not None and a.batch_size < 1 or a.lr is not None and not a.lr > 0:
        raise SystemExit(f"error: --batch-size must be >= 1 and --lr > 0, got {a.batch_size} and {a.lr}")


def one_map(a: Args) -> bool:
    """The run learns one map (no --extra-maps): the place field and the dreams are of that map."""
    return not a.extra_maps


def stage_args(a: Args, stage: str, out: Path, start: str | None) -> training.Args:
    """The :mod:`world_models.training` settings of one stage (``start``: weights to begin from).

    The ``adversarial`` stage's settings are those of the shipped model's last stage (tested against
    the ones ``data/world_model.pt`` records)."""
    gpu = resolve_device(a.device).type == "cuda"
    budget = a.time_budget * (a.adv_share if stage == "adversarial" else 1 - a.adv_share)
    batch = a.batch_size or (256 if gpu else 32)
    place = a.place_field and one_map(a)
    common = dict(
        experiment="world_flow",
        preset=a.preset,
        cfg=training.GuidanceArgs(on=True),
        t_sampling="logit_normal",
        map=a.map,
        extra_maps=tuple(a.extra_maps),
        episodes=a.episodes,
        batch_size=batch,
        time_budget=budget,
        seed=a.seed,
        device=a.device,
        eval_every=a.eval_every,
        threads=a.threads,
        progress=a.progress,
        out=str(out / stage),
        pretrained=start,
        place=training.PlaceArgs(field=place, dim=a.place_dim, decoder=place and a.place_decoder),
        resume=(out / stage / "last.pt").exists(),
    )
    if stage == "flow":
        return training.Args(**common, cond=training.CondNoiseArgs(noise=0.05), lr=a.lr or (1e-4 if start else 3e-4))
    dreams = (  # of the map: not from episodes
        training.RolloutArgs(batch=batch, horizon=16, frames=True)
        if one_map(a) and not a.episodes
        else training.RolloutArgs()
    )
    return training.Args(
        **common,
        lr=1e-4,
        colour=training.ColourArgs(weight=30.0),
        adv=training.AdvArgs(weight=1.0, batch=batch, highpass=True),
        rollout=dreams,
    )


def run(a: Args) -> Path:
    """Run (or resume) the recipe; returns the path of the exported world model. The run folder is
    locked while it runs; Ctrl-C or SIGTERM, within a stage or between stages, saves and exits 130."""
    _validate(a)
    sigterm_as_interrupt()
    try:
        return _run(a)
    except KeyboardInterrupt:  # between stages (a stage saves and exits 130 itself)
        print(
            f"interrupted between stages; every finished stage is saved in {a.out}: continue with --resume",
            file=sys.stderr,
        )
        raise SystemExit(130) from None
    finally:
        release_run_dir(a.out)


def _run(a: Args) -> Path:
    out = claim_run_dir(a.out, a.resume)
    saved = out / "args.json"  # the recipe's own settings (each stage keeps its own in its folder)
    changed = None
    if a.resume:
        if not saved.exists():
            raise SystemExit(f"error: --resume but {saved} does not exist; start the recipe without --resume")
        changed = check_resume_args(json.loads(saved.read_text()), recorded(a), RESUME_MAY_CHANGE, str(out))
        maps = None
        for stage in STAGES:  # a finished stage's maps must still be the run's (a running stage checks its own)
            if (out / f"{stage}.pt").exists() and a.episodes:  # the dataset names its map
                training.check_dataset(load_checkpoint(out / f"{stage}.pt"), a.episodes, out)
            elif (out / f"{stage}.pt").exists():
                maps = maps or training.map_fingerprints(
                    [WorldCore(p, TaskConfig()) for p in [a.map, *map_files(a.extra_maps)]]
                )
                training.check_maps(load_checkpoint(out / f"{stage}.pt"), a, maps, out)
    record_args(out, recorded(a), changed)
    t0 = time.perf_counter()
    start = pretrained_path(a)
    stages = [s for s in STAGES if s != "adversarial" or a.adv_share > 0]
    for i, stage in enumerate(stages):
        done = out / f"{stage}.pt"
        if not done.exists():
            sa = stage_args(a, stage, out, start)
            print(
                f"[recipe] stage {i + 1}/{len(stages)}: {stage}, {sa.time_budget:.0f}s, batch {sa.batch_size}, lr "
                f"{sa.lr:g}"
                f"{', from ' + start if start else ''}{' (resumed)' if sa.resume else ''}",
                flush=True,
            )
            export(training.train(sa), done)  # training.train saves on Ctrl-C and exits 130: --resume continues here
        start = str(done)
    history = {}
    for stage in stages:
        ck = load_checkpoint(out / f"{stage}.pt")
        history[stage] = {
            "step": ck["step"],
            "elapsed": ck["elapsed"],
            "batch_size": ck["train_args"]["batch_size"],
            "lr": ck["train_args"]["lr"],
        }
    final = export(
        start,
        out / "world_model.pt",
        steps=1,
        cfg_scale=1.0,
        extra={"recipe": {"args": recorded(a), "stages": history}},
        overwrite=True,
    )  # the folder is this run's (claim_run_dir): its world_model.pt is its own
    map_path = recorded_map(a.episodes).map_name if a.episodes else a.map
    print(
        f"[recipe] done in {time.perf_counter() - t0:.0f}s: {final} ({final.stat().st_size / 1e6:.1f} MB). Dream in it "
        "with "
        f"gym.make('DreamWorldMap-v0', checkpoint={str(final)!r}{', map_path=' + repr(map_path) if map_path else ''}); "
        f"score it with python -m worldbench {final}{' --map ' + map_path if map_path else ''}",
        flush=True,
    )
    return final


def main(argv: list[str] | None = None) -> Path:
    return run_cli(Args, run, argv, __doc__.split("\n\n")[0])


def cli() -> None:
    """The console script (setup.cfg): ``main`` without its return value, which would become the exit status."""
    main()


if __name__ == "__main__":
    main()
