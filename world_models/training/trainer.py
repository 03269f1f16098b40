"""One trainer for every experiment: DiT pretraining, WorldDiT with DDPM or flow matching, +/- CFG.

Run as ``python -m world_models.training --help`` (one stage with every setting, :mod:`.settings`;
``train_world.py`` runs the whole recipe, :mod:`world_models.training.recipe`), also under ``torchrun
--nproc_per_node N -m world_models.training ...`` (DistributedDataParallel: NCCL on GPUs, gloo on CPU).
Additions to the training step are plug-ins (:mod:`world_models.training.plugins`).
"""

from __future__ import annotations

import collections
import contextlib
import math
import os
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.optim.swa_utils import AveragedModel
from tqdm.auto import tqdm

from world_models import inference
from world_models.data import EpisodeSampler, TransitionSampler, to_tensor, to_uint8
from world_models.episodes import dataset_files, held_out, load_transitions, recorded_map
from world_models.generative.processes import make_process
from world_models.generative.sampling import SamplingConfig
from world_models.inference import WorldModel, load_state, resolve_device
from world_models.io.checkpoint import first_non_finite, load_checkpoint, save_checkpoint
from world_models.model.dit import ModelConfig, build_model, preset
from world_models.training.adversarial import AdvArgs, AdversarialPlugin
from world_models.training.plugins import ColourArgs, ColourPlugin, CondNoiseArgs, CondNoisePlugin, TrainerPlugin
from world_models.training.rollout import RolloutArgs, RolloutPlugin
from world_models.training.settings import (
    EXPERIMENTS,
    RESUME_MAY_CHANGE,
    ArchArgs,
    Args,
    GuidanceArgs,
    PlaceArgs,
    SampleArgs,
    episode_paths,
    flat_args,
    recorded_episodes,
    recorded_flags,
)
from worldgen_core import dynamics, metrics, simulator
from worldgen_core.cli import os_error, run_cli
from worldgen_core.dynamics import TaskConfig
from worldgen_core.files import file_sha256, sigterm_as_interrupt
from worldgen_core.runs import check_resume_args, claim_run_dir, record_args, release_run_dir
from worldgen_core.world import WorldCore
from worldgen_core.world_map import map_files

__all__ = [
    "Args",
    "ArchArgs",
    "PlaceArgs",
    "GuidanceArgs",
    "SampleArgs",
    "CondNoiseArgs",
    "ColourArgs",
    "AdvArgs",
    "RolloutArgs",
    "EXPERIMENTS",
    "RESUME_MAY_CHANGE",
    "TrainerPlugin",
    "flat_args",
    "make_plugins",
    "train",
]


def _model_config(a: Args, kind: str, core: WorldCore) -> ModelConfig:
    over = a.arch.overrides()
    if a.place.field:
        over["place_rows"], over["place_cols"] = core.place_grid
        over["place_dim"], over["place_decoder"] = a.place.dim, a.place.decoder
    config = preset(a.preset, kind=kind, **over)
    if a.place.field and config.patch != core.task.stride:
        raise SystemExit(
            f"error: --place.field needs the model's patch ({config.patch}) to equal the map's stride "
            f"({core.task.stride}) "
            "so that each token shows one cell"
        )
    return config


class _Dist:
    """torchrun's environment -> process group (NCCL on GPUs, gloo on CPU); a no-op otherwise."""

    def __init__(self, device: str):
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        dev = resolve_device(device)
        if dev.type == "cuda" and self.world > 1:
            dev = torch.device("cuda", self.local_rank)
            torch.cuda.set_device(dev)
        self.device = dev
        if self.world > 1 and not dist.is_initialized():
            dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")

    @property
    def main(self) -> bool:
        return self.rank == 0

    def max_loss(self, x: torch.Tensor) -> float:
        """The largest of the ranks' losses, ``inf`` if any rank's is not finite (one sync)."""
        v = x.detach().float().reshape(1)
        if self.world > 1:  # MAX is not defined for nan: any non-finite rank makes it inf
            v = torch.where(torch.isfinite(v), v, torch.full_like(v, float("inf")))
            dist.all_reduce(v, op=dist.ReduceOp.MAX)
        return float(v.item())

    def close(self):
        if self.world > 1 and dist.is_initialized():
            dist.destroy_process_group()


def ema_with_warmup(decay: float):
    """EMA update for ``AveragedModel`` whose decay ramps up as ``min(decay, (1 + n) / (10 + n))``.

    With a fixed decay of 0.999 the average would still be mostly the initial weights for the
    first thousand steps, which makes early evaluations (and short runs) meaningless.
    """

    @torch.no_grad()
    def update(ema_params, params, num_averaged):
        n = float(num_averaged)
        d = min(decay, (1 + n) / (10 + n))
        torch._foreach_lerp_(ema_params, params, 1 - d)

    return update


class Divergence:
    """Tells a diverged loss: not finite, or over ``factor`` times the median of the last ``window``.

    An update can explode the weights while every value stays finite (``--lr 1e9``: the loss goes
    0.86 -> 9e17 -> 2e32 -> nan), so finiteness alone would let exploded weights be saved as the
    "last good" checkpoint. A denoising loss on images in [-1, 1] never grows a thousandfold in
    healthy training. ``floor``: medians below it count as it (a map with nothing to learn has a
    loss near 0, from which any growth would be a thousandfold).
    """

    def __init__(self, factor: float = 1000.0, window: int = 100, floor: float = 0.01):
        self.factor, self.floor, self.recent = factor, floor, collections.deque(maxlen=window)

    def __call__(self, loss: float) -> str | None:
        """None if ``loss`` is healthy (and remembered), else why it is not."""
        if not math.isfinite(loss):
            return f"loss became {loss}"
        if self.recent:
            med = statistics.median(self.recent)
            if loss > self.factor * max(med, self.floor):
                return (
                    f"loss jumped to {loss:.3g}, over {self.factor:g}x its recent median {med:.3g} (training diverged)"
                )
        self.recent.append(loss)
        return None


def _rng_state(sampler: TransitionSampler) -> dict:
    st = {"torch": torch.get_rng_state(), "numpy_data": sampler.state, "python": random.getstate()}
    if torch.cuda.is_available():
        st["cuda"] = torch.cuda.get_rng_state_all()
    return st


def _set_rng_state(st: dict, sampler: TransitionSampler) -> None:
    torch.set_rng_state(st["torch"])
    sampler.state = st["numpy_data"]
    random.setstate(st["python"])
    if "cuda" in st and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(st["cuda"])


def init_from_pretrained(model: torch.nn.Module, path: str) -> tuple[list[str], list[str]]:
    """Copy tensors of a checkpoint (EMA weights if present) into ``model`` where names and shapes match.

    A patch embedding with more input channels (spatial WorldDiT: noisy target + view) receives
    the pretrained weights in its first channels; a wider place field (``place_dim``) receives the
    pretrained field in its first dimensions, the rest zero (so the model starts unchanged).
    Returns (loaded, skipped) names.
    """
    ck = load_checkpoint(path)
    src = ck.get("ema") or ck["model"]
    own = model.state_dict()
    loaded, skipped = [], []
    for k, v in src.items():
        if k in own and own[k].shape == v.shape:
            own[k] = v
            loaded.append(k)
        elif (
            k in own
            and k.endswith("patch_embed.proj.weight")
            and own[k].shape[1] > v.shape[1]
            and own[k].shape[2:] == v.shape[2:]
        ):
            own[k] = own[k].clone()
            own[k][:, : v.shape[1]] = v
            loaded.append(k)
        elif (
            k in ("place_field", "place_proj.weight")
            and k in own
            and own[k].shape[:-1] == v.shape[:-1]
            and own[k].shape[-1] > v.shape[-1]
        ):
            own[k] = torch.zeros_like(own[k]) if k == "place_field" else own[k].clone()
            own[k][..., : v.shape[-1]] = v
            loaded.append(k)
        else:
            skipped.append(k)
    model.load_state_dict(own)
    return loaded, skipped


def make_plugins(
    a: Args, model: torch.nn.Module, core: WorldCore, device: torch.device, seed: int = 0
) -> list[TrainerPlugin]:
    """The plug-ins the settings ask for, in the order of their rows and loss terms: ``--cond.noise`` the noise on the
    conditioning view, ``--colour.weight`` the colour loss, ``--adv.weight`` the adversary (its own rows:
    ``--adv.batch``),
    ``--rollout.batch`` the dreams (judged by the same adversary, or with ``--rollout.frames`` by one of their own)."""
    plugins: list[TrainerPlugin] = []
    if a.cond.noise > 0:
        plugins.append(CondNoisePlugin(a.cond.noise))
    if a.colour.weight > 0:
        plugins.append(ColourPlugin(a.colour.weight))
    judged, last = a.adv.weight > 0, model.last_layer()
    shared = a.adv.make(device, model.config.channels) if judged and (a.adv.batch > 0 or not a.rollout.frames) else None
    own_rows = shared is not None and a.adv.batch > 0  # the band discriminator judges rows of its own
    if own_rows:
        plugins.append(AdversarialPlugin(shared, a.adv.batch, last))
    if a.rollout.batch > 0 and a.rollout.frames:  # its own discriminator, on whole views (checked: --adv.weight > 0)
        frames = a.adv.make(device, model.config.channels, band=core.task.view_size)
        plugins.append(RolloutPlugin(core, a.rollout.batch, a.rollout.horizon, seed, frames, frames=True, last=last))
    elif a.rollout.batch > 0:
        plugins.append(
            RolloutPlugin(
                core, a.rollout.batch, a.rollout.horizon, seed, shared, owns_adversary=not own_rows, last=last
            )
        )
    return plugins


def train(a: Args) -> Path:
    """Run (or resume) training; returns the path of the last checkpoint. The run folder is locked
    while it runs (:func:`worldgen_core.runs.claim_run_dir`)."""
    try:
        return _train(a)
    finally:
        release_run_dir(a.out)


def map_fingerprints(cores: list[WorldCore]) -> list[str]:
    """Which maps a run trains on (``WorldCore.fingerprint`` of each, in order): a resume checks them."""
    return [c.fingerprint for c in cores]


def check_maps(ck: dict, a, maps: list[str], where: Path) -> None:
    """Refuse a resume whose map files changed since the checkpoint ``ck`` (same path, other pixels or size); ``a``:
    settings with ``map`` and ``extra_maps`` (this module's or the recipe's)."""
    saved = ck.get("maps") or (
        [ck["place_map"]] if ck.get("place_map") else None
    )  # older checkpoints: the place field's map
    ta = ck.get("train_args") or {}
    if saved is None or ta.get("map") != a.map or list(ta.get("extra_maps") or ()) != list(a.extra_maps):
        return  # no fingerprints, or other map paths: the settings' check (check_resume_args) names the flag
    names = [a.map or "data/world_map.png", *map(str, map_files(a.extra_maps))]
    changed = [n for n, x, y in zip(names, saved, maps) if x != y]
    if changed or len(saved) != len(maps):
        raise SystemExit(
            f"error: --resume: the map {changed[0] if changed else ', '.join(names)!r} is not the one the run in "
            f"{where} "
            "was trained on (its pixels or size changed since); a model trained on both would claim to know a map it "
            "has not learnt. Resume with the original map file, or start a new run with a new --out"
        )


def dataset_fingerprint(path: str) -> dict:
    """What a run trained from episodes keeps of its dataset (a checkpoint's ``episodes``): its id and the sha256
    of its data file; a resume checks them."""
    meta, h5 = dataset_files(path)
    return {"dataset_id": h5.parent.parent.name, "sha256": file_sha256(h5)}


def dataset_fingerprints(episodes: tuple[str, ...]) -> dict | list[dict]:
    """A checkpoint's ``episodes``: :func:`dataset_fingerprint` of its one dataset, a list of them for several."""
    prints = [dataset_fingerprint(p) for p in episode_paths(episodes)]
    return prints[0] if len(prints) == 1 else prints


def check_dataset(ck: dict, episodes: tuple[str, ...], where: Path) -> None:
    """Refuse a resume whose ``--episodes`` datasets (none: trained on a map) are not the ones of the checkpoint
    ``ck``: the data of any of them changed since, at the same path (other paths are refused by the settings' check),
    or one of the two trained on a map."""
    episodes = episode_paths(episodes)
    saved = ck.get("episodes")
    saved = None if saved is None else [saved] if isinstance(saved, dict) else list(saved)
    if (saved is None) != (not episodes):
        raise SystemExit(
            f"error: --resume: the run in {where} was trained "
            + (
                "on a map, not from --episodes"
                if saved is None
                else f"from --episodes {' '.join(repr(s['dataset_id']) for s in saved)}"
            )
            + "; resume it as it was started, or start a new run with a new --out"
        )
    if saved is None or (ck.get("train_args") or {}).get("episodes") != recorded_episodes(episodes):
        return  # no dataset, or other paths: the settings' check (check_resume_args) names the flag
    for path, s in zip(episodes, saved):
        if s["sha256"] != dataset_fingerprint(path)["sha256"]:
            raise SystemExit(
                f"error: --resume: the dataset {path!r} is not the one the run in {where} was trained on (its data "
                "changed since); a model trained on both would mix two datasets. Resume with the original dataset, "
                "or start a new run with a new --out"
            )


def _seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _build(
    a: Args, config: ModelConfig, device: torch.device
) -> tuple[torch.nn.Module, torch.optim.Optimizer, AveragedModel]:
    """The model, its optimiser (the place field learns at its own rate: each cell is in few batches) and its EMA."""
    model = build_model(config).to(device)
    groups = [{"params": [p for n, p in model.named_parameters() if n != "place_field"], "base_lr": a.lr}]
    if config.place_rows:
        groups.append({"params": [model.place_field], "base_lr": a.place.lr, "weight_decay": 0.0})
    opt = torch.optim.AdamW(groups, lr=a.lr, betas=(0.9, 0.99), weight_decay=a.weight_decay)
    ema = AveragedModel(model, multi_avg_fn=ema_with_warmup(a.ema), use_buffers=True)
    return model, opt, ema


def _sampling(a: Args, process) -> SamplingConfig:
    try:
        return SamplingConfig.resolve(
            process, sampler=a.sample.sampler, steps=a.sample.steps, cfg_scale=a.cfg.scale if a.cfg.on else 1.0
        )
    except ValueError as e:
        raise SystemExit(f"error: --sample.sampler/--sample.steps/--cfg.scale: {e}") from e


def _rows(plugins: list[TrainerPlugin]) -> list[slice]:
    """Each plug-in's rows: the first rows of the batch, after the previous plug-in's."""
    starts = np.cumsum([0, *(p.rows for p in plugins)])
    return [slice(int(s), int(s) + p.rows) for s, p in zip(starts, plugins)]


class Checkpointer:
    """Writes the run's state to ``path`` (atomically): refuses weights that are not finite (they would not
    be 'good'); a failed write (a full disk) keeps the last good checkpoint and says so. ``fixed``: what
    every checkpoint of the run holds (configuration, process, sampling, maps, settings).

    The loop calls it when a checkpoint falls due after an update, but only once the next step's loss
    has come out finite: an update can explode the weights without a non-finite value anywhere, and
    the checkpoint a failure names as the last good one must not hold them."""

    def __init__(
        self, path: Path, model, ema, opt, plugins: list[TrainerPlugin], sampler: TransitionSampler, fixed: dict
    ):
        self.path, self.model, self.ema, self.opt, self.plugins, self.sampler, self.fixed = (
            path,
            model,
            ema,
            opt,
            plugins,
            sampler,
            fixed,
        )
        self.step: int | None = None  # the step of the last good checkpoint

    def __call__(self, step: int, elapsed: float, rng: dict | None = None) -> Path:
        bad = first_non_finite(self.model.state_dict()) or first_non_finite(self.ema.module.state_dict())
        if bad:
            raise FloatingPointError(
                f"the weights are not finite at step {step} ({bad}, ...); not saved. The last good "
                f"checkpoint is {self.path} (step {self.step}). Try a lower --lr, then --resume."
            )
        ckpt = {
            **self.fixed,
            "model": self.model.state_dict(),
            "ema": self.ema.module.state_dict(),
            "ema_n": int(self.ema.n_averaged.item()),
            "optimizer": self.opt.state_dict(),
            "step": step,
            "elapsed": elapsed,
            "rng": rng or _rng_state(self.sampler),
            **{p.name: p.state_dict() for p in self.plugins if p.keeps_state},
        }
        try:
            save_checkpoint(self.path, ckpt)
        except OSError as e:  # a full disk, a folder gone read-only: the previous file is untouched (atomic write)
            kept = (
                f"the last good checkpoint {self.path} (step {self.step}) is kept as it was; free some space, then "
                "--resume"
                if self.step is not None
                else "no checkpoint was written, so the folder holds no run yet: free some space, then "
                "run the same command again"
            )
            raise SystemExit(f"error: could not write the checkpoint at step {step} ({os_error(e)}); {kept}") from None
        self.step = step
        return self.path


def _resume(a: Args, ckpt: Checkpointer, out: Path, maps: list[str], d: _Dist) -> tuple[int, float, dict]:
    """Load the run's last checkpoint into ``ckpt``'s model, EMA, optimiser, plug-ins and random streams;
    returns its step, its seconds trained and the settings this call changes."""
    if not ckpt.path.exists():
        raise SystemExit(f"error: --resume but {ckpt.path} does not exist; start the run without --resume")
    ck = load_checkpoint(ckpt.path)
    check_dataset(ck, a.episodes, out)
    check_maps(ck, a, maps, out)
    if ck["config"] != ckpt.fixed["config"] or ck["process"] != ckpt.fixed["process"]:
        raise SystemExit(
            f"error: {ckpt.path} was trained with another model/process ({ck['process']}, {ck['config']}); "
            "resume with the same --experiment/--preset/--arch.* overrides, or use a new --out"
        )
    changed = check_resume_args(
        ck.get("train_args") or {}, ckpt.fixed["train_args"], RESUME_MAY_CHANGE, str(out), recorded_flags(a)
    )
    load_state(ckpt.model, ck["model"], str(ckpt.path))
    load_state(ckpt.ema.module, ck["ema"], str(ckpt.path))
    ckpt.ema.n_averaged.fill_(ck["ema_n"])
    base_lr = [g["base_lr"] for g in ckpt.opt.param_groups]
    ckpt.opt.load_state_dict(ck["optimizer"])
    for group, lr in zip(ckpt.opt.param_groups, base_lr):  # this run's rates (--lr may change on resume)
        group["base_lr"] = lr
    step = ck["step"]
    for p in ckpt.plugins:
        if p.keeps_state and ck.get(p.name) is not None:
            p.load_state_dict(ck[p.name])
        elif p.keeps_state and d.main:
            print(f"{ckpt.path} has no {p.name} state: the {p.name} starts anew")
    if d.world == 1:
        _set_rng_state(ck["rng"], ckpt.sampler)
    else:  # other ranks' streams are not saved: reseed them deterministically from the step
        torch.manual_seed(a.seed + d.rank + 7919 * step)
        ckpt.sampler.rng = np.random.default_rng(a.seed + 1000 * d.rank + 7919 * step)
    if d.main:
        print(f"resumed {ckpt.path} at step {step} ({ck['elapsed']:.0f}s trained)")
    return step, ck["elapsed"], changed


def _batch(
    a: Args, sampler: TransitionSampler, plugins: list[TrainerPlugin], rows: list[slice], process, place: bool, device
):
    """One training batch, the plug-ins' rows first: targets, condition (None for a DiT), actions,
    condition dropout (None without CFG) and training times."""
    B = a.batch_size + sum(p.rows for p in plugins)
    batch = sampler.sample(B)
    for p, r in zip(plugins, rows):
        p.fill(batch, r)
    x_1 = to_tensor(batch["next"], device)
    view = to_tensor(batch["view"], device)
    action = torch.as_tensor(batch["action"], device=device)
    for p in plugins:
        view = p.condition(view)
    world = EXPERIMENTS[a.experiment][0] == "world"
    cond = {"view": view, "action": action} if world else None
    if place:  # the next view's cell
        cond["place"] = torch.as_tensor(batch["next_pos"], device=device)
    drop = (torch.rand(B, device=device) < a.cfg.dropout) if (a.cfg.on and world) else None
    t = process.sample_t(B, device)
    for p, r in zip(plugins, rows):
        p.prepare(t, drop, r)
    return x_1, cond, action, drop, t


def _start_from(path: str, model: torch.nn.Module, ema: AveragedModel, verbose: bool) -> None:
    """--pretrained: the model (and its EMA) from ``path``'s tensors where they fit."""
    loaded, skipped = init_from_pretrained(model, path)
    ema.module.load_state_dict(model.state_dict())
    if verbose:
        print(f"initialised {len(loaded)} tensors from {path}; {len(skipped)} did not match: {skipped[:8]}")


def _warm_up(opt: torch.optim.Optimizer, step: int, warmup: int) -> None:
    """Linear learning-rate warm-up of every parameter group to its ``base_lr``."""
    for group in opt.param_groups:
        group["lr"] = group["base_lr"] * min(1.0, (step + 1) / max(1, warmup))


def _log_scalars(writer, step: int, scalars: dict) -> None:
    for k, v in scalars.items():
        writer.add_scalar(k, float(v), step)


def _open_log(a: Args, out: Path, step: int, changed: dict | None):
    from torch.utils.tensorboard import SummaryWriter

    record_args(out, flat_args(a), changed, step if a.resume else None)
    return SummaryWriter(str(out / "tb"), purge_step=step if a.resume else None)


def _train(a: Args) -> Path:
    a.check()
    if a.threads:
        torch.set_num_threads(a.threads)
    kind, process_name = EXPERIMENTS[a.experiment]
    d = _Dist(a.device)
    device = d.device
    _seed(a.seed + d.rank)  # each process draws different batches

    process = make_process(process_name, **({"t_sampling": a.t_sampling} if process_name == "flow" else {}))
    if a.episodes:  # the dataset's transitions and its metadata's map: never the map image
        core, sampler, evaluation = _from_episodes(a, d)
        cores, maps = [core], [core.fingerprint]
    else:
        cores = [WorldCore(a.map, TaskConfig()), *(WorldCore(p, TaskConfig()) for p in map_files(a.extra_maps))]
        # the maps the run trains on: checkpoints keep them, a resume checks them
        core, maps = cores[0], map_fingerprints(cores)
        sampler = TransitionSampler(cores, seed=a.seed + 1000 * d.rank)
    config = _model_config(a, kind, core)
    model, opt, ema = _build(a, config, device)
    sampling = _sampling(a, process)
    plugins = make_plugins(a, model, core, device, seed=a.seed + 2000 + d.rank)
    rows = _rows(plugins)
    # every setting, map and dataset is checked: now the run folder (every rank checks before the main one writes)
    out = claim_run_dir(a.out, a.resume, lock=d.main)
    if d.world > 1:
        dist.barrier()
    ckpt = Checkpointer(
        out / "last.pt",
        model,
        ema,
        opt,
        plugins,
        sampler,
        {
            "config": config.to_dict(),
            "process": process_name,
            "sampling": sampling.to_dict(),
            "maps": maps,
            "train_args": flat_args(a),
            **({"place_map": core.fingerprint} if config.place_rows else {}),
            **({"episodes": dataset_fingerprints(a.episodes)} if a.episodes else {}),
        },
    )
    step, elapsed, changed = 0, 0.0, None
    if a.resume:
        step, elapsed, changed = _resume(a, ckpt, out, maps, d)
    elif a.pretrained:
        _start_from(a.pretrained, model, ema, d.main)

    net = torch.nn.parallel.DistributedDataParallel(model) if d.world > 1 else model
    for p in plugins if d.world > 1 else ():
        p.distribute()
    amp_dtype = torch.bfloat16 if a.bf16 else torch.float32
    amp = (lambda: torch.autocast(device.type, dtype=amp_dtype)) if a.bf16 else contextlib.nullcontext
    writer = _open_log(a, out, step, changed) if d.main else None
    if d.main:
        print(
            f"{a.experiment}: {process.name} + {config.kind} ({a.preset}, "
            f"{sum(p.numel() for p in model.parameters()) / 1e6:.2f}M params, "
            f"{config.conditioning}) on {device}, world size {d.world}, batch {a.batch_size}/process, {len(cores)} "
            f"map(s) -> {out}"
        )
    if not a.episodes:
        evaluation = TransitionSampler(core, seed=12345).sample(8), None
    if d.main and a.eval_every and evaluation is None:
        print("no evaluation in tensorboard: the dataset has no 2 episodes of 6 steps or more to hold out")

    sigterm_as_interrupt()
    if d.main and a.resume:  # a new run writes its step-0 state, so that a last good checkpoint always exists
        ckpt.step = step
    elif d.main:
        ckpt(step, elapsed)
    ckpt_due, diverged = False, Divergence()
    bar = tqdm(total=a.steps, initial=step, disable=not (d.main and a.progress), dynamic_ncols=True, mininterval=1.0)
    last_ckpt_t = t_log = time.perf_counter()
    n_log = 0
    try:
        while not (
            (a.steps is not None and step >= a.steps) or (a.time_budget is not None and elapsed >= a.time_budget)
        ):
            t0 = time.perf_counter()
            rng_before = _rng_state(sampler) if ckpt_due else None  # the state this step's batch is drawn from
            x_1, cond, action, drop, t = _batch(a, sampler, plugins, rows, process, bool(config.place_rows), device)
            _warm_up(opt, step, a.warmup)
            logs: dict = {}  # the plug-ins' scalars, read at log steps only
            with amp():
                loss, x1_hat = process.loss(net, x_1, cond, drop, t=t, return_x1=True)
                total = loss
                for p, r in zip(plugins, rows):
                    term, more = p.loss(loss, x1_hat, x_1, action, r)
                    total = total if term is None else total + term
                    logs.update(more)
            why = diverged(d.max_loss(total))
            if why:
                raise FloatingPointError(
                    f"{why} at step {step}; stopping. The last good checkpoint is {ckpt.path} (step "
                    f"{ckpt.step}). Try a lower --lr, --grad-clip, or --no-bf16, then --resume."
                )
            if ckpt_due and d.main:  # due after the last update, written now that its loss came out finite
                ckpt(step, elapsed, rng_before)
            ckpt_due = False
            opt.zero_grad(set_to_none=True)
            total.backward()
            gnorm = torch.nn.utils.clip_grad_norm_(model.parameters(), a.grad_clip)
            opt.step()
            for p, r in zip(plugins, rows):
                with amp():
                    logs.update(p.after_step(x_1, action, r))
            ema.update_parameters(model)
            step += 1
            elapsed += time.perf_counter() - t0
            n_log += x_1.shape[0] * d.world
            bar.update(1)
            if d.main and (step % a.log_every == 0 or step == 1):
                sps = n_log / max(time.perf_counter() - t_log, 1e-9)
                bar.set_postfix(loss=f"{loss.item():.4f}", samples_s=f"{sps:.0f}")
                _log_scalars(
                    writer,
                    step,
                    {
                        "losses/train": loss.detach(),
                        "charts/learning_rate": opt.param_groups[0]["lr"],
                        "charts/samples_per_s": sps,
                        "charts/grad_norm": gnorm,
                        "charts/elapsed_s": elapsed,
                        **logs,
                    },
                )
                t_log, n_log = time.perf_counter(), 0
            if d.main and a.eval_every and evaluation and step % a.eval_every == 0:
                _log_eval(
                    writer, ema.module, process, core, evaluation[0], sampling, device, amp_dtype, step, evaluation[1]
                )
            now = time.perf_counter()
            if step % a.ckpt_every == 0 or now - last_ckpt_t > a.ckpt_seconds:
                ckpt_due, last_ckpt_t = True, now
    except KeyboardInterrupt:
        if d.main:
            ckpt(step, elapsed)
            print(
                f"interrupted at step {step}: checkpoint written to {ckpt.path}; continue with --resume",
                file=sys.stderr,
            )
        d.close()
        raise SystemExit(130) from None
    finally:
        bar.close()
    if d.main:
        ckpt(step, elapsed)
        if a.eval_every and evaluation:
            _log_eval(
                writer, ema.module, process, core, evaluation[0], sampling, device, amp_dtype, step, evaluation[1]
            )
        writer.close()
        print(f"done: step {step}, {elapsed:.0f}s; checkpoint {ckpt.path}")
    d.close()
    return ckpt.path


def _map_rollouts(core: WorldCore) -> tuple[list, np.ndarray, list]:
    """2 rollouts of 6 random moves on the map, to dream in the evaluation: the cells (7 of (2, 2)), the actions (6, 2)
    and the true views (7 of (2, v, v, 3))."""
    rng = np.random.default_rng(0)
    pos = np.stack([rng.integers(0, core.grid[0], 2), rng.integers(0, core.grid[1], 2)], 1)
    cells = [pos]
    actions = rng.integers(0, 4, (6, 2))
    for action in actions:
        cells.append(dynamics.move(cells[-1], action, core.grid))
    return cells, actions, [core.views(c) for c in cells]


def _episode_rollouts(data, mask: np.ndarray, stride: int) -> tuple[list, np.ndarray, list]:
    """:func:`_map_rollouts` from the first 6 steps of the 2 episodes ``mask`` holds (:func:`held_out`)."""
    starts = np.flatnonzero(mask & np.r_[True, data.episodes[1:] != data.episodes[:-1]])[:2]
    steps = starts[None] + np.arange(6)[:, None]  # (6, 2)
    cells = [data.positions[starts] // stride, *(data.next_positions[i] // stride for i in steps)]
    return cells, data.actions[steps], [data.views[starts], *(data.next_views[i] for i in steps)]


def _from_episodes(a: Args, d: _Dist):
    """``--episodes``: the recorded map (from the metadata; several datasets must be of one map), the sampler over
    the datasets' transitions and the evaluation's batch and rollouts from the last 2 episodes, held out (None when
    there are none to hold out)."""
    core = recorded_map(a.episodes)
    if (core.task.view_size, core.task.stride) != (TaskConfig().view_size, TaskConfig().stride):
        raise SystemExit(
            f"error: --episodes {' '.join(map(repr, a.episodes))} has {core.task.view_size}-px views moved by "
            f"{core.task.stride} px; "
            f"the world models take {TaskConfig().view_size} and {TaskConfig().stride}"
        )
    data = load_transitions(a.episodes)
    test = held_out(data)  # whatever --eval-every says (it may change on a resume; the training data may not)
    sampler = EpisodeSampler(data, core.task.stride, seed=a.seed + 1000 * d.rank, keep=~test)
    if not test.any():
        return core, sampler, None
    batch = EpisodeSampler(data, core.task.stride, seed=12345, keep=test).sample(8)
    return core, sampler, (batch, _episode_rollouts(data, test, core.task.stride))


def _log_eval(writer, model, process, core, batch, sampling, device, amp_dtype, step, rollouts=None):
    """Images, and worldbench's measures under worldbench's names (``worldgen_core.metrics``: the same functions), for
    tensorboard:
    one step on ``batch``, and 2 open-loop dreams of ``rollouts`` (cells, actions, true views; default: 6 random moves
    on ``core``'s map, :func:`_map_rollouts`) stepped as the dream env steps them (a blocked move keeps the view)."""
    model.eval()
    wm = WorldModel(model, process, model.config, sampling, device, amp_dtype)
    if model.config.kind == "world":
        place = model.config.place_rows > 0  # its field is of this map (the --map it trains on)
        predict = inference.model_predictor(wm)
        gen = predict(batch["view"], batch["action"], *((batch["next_pos"],) if place else ()))
        scalars = metrics.one_step(gen, batch["next"], batch["action"], core.task.stride)
        cells, actions, true = rollouts or _map_rollouts(core)
        fake = [true[0]]
        for k, action in enumerate(actions):
            fake.append(simulator.dream_views(predict, cells[k], cells[k + 1], fake[-1], action, place))
        scalars |= {f"rollout_psnr@{k}": metrics.psnr(fake[k], true[k]) for k in (1, 6)}
        scalars |= {f"{k}_roll@6": v for k, v in metrics.drift(fake[6], true[6]).items()}
        for k, v in scalars.items():
            writer.add_scalar(f"eval/{k}", v, step)
        writer.add_image(
            "images/current_truth_generated",
            metrics.image_grid([batch["view"], batch["next"], gen]),
            step,
            dataformats="HWC",
        )
        true, fake = np.stack(true, 1), np.stack(fake, 1)
        writer.add_image(
            "images/rollout_truth_vs_generated",
            metrics.image_grid([true[0], fake[0], true[1], fake[1]]),
            step,
            dataformats="HWC",
        )
    else:
        with torch.no_grad(), wm.autocast():
            x = process.sample(model, None, n=8, generator=torch.Generator().manual_seed(0), **sampling.to_dict())
        writer.add_image("images/samples", metrics.image_grid([to_uint8(x)]), step, dataformats="HWC")
    model.train()


def main(argv: list[str] | None = None) -> Path:
    """``python -m world_models.training --help``: one training stage with every setting (``train_world.py`` runs the
    whole recipe)."""
    return run_cli(Args, train, argv, __doc__.split("\n\n")[0])


if __name__ == "__main__":
    main()
