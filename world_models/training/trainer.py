"""One trainer for every experiment: DiT pretraining, WorldDiT with DDPM or flow matching, +/- CFG.

Run as ``python -m world_models.training --help`` (one stage with every setting; ``train_world.py``
runs the whole recipe, :mod:`world_models.training.recipe`), also under ``torchrun --nproc_per_node N -m
world_models.training ...`` (DistributedDataParallel: NCCL on GPUs, gloo on CPU).
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import math
import os
import random
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
import torch.distributed as dist
from torch.optim.swa_utils import AveragedModel
from tqdm.auto import tqdm

from world_models import inference
from world_models.data import TransitionSampler, to_tensor, to_uint8
from world_models.generative.processes import make_process
from world_models.generative.sampling import SamplingConfig
from world_models.inference import WorldModel, load_state, resolve_device
from world_models.io.checkpoint import first_non_finite, load_checkpoint, save_checkpoint
from world_models.model.dit import ModelConfig, build_model, preset
from world_models.training.adversarial import AdversarialPlugin, Adversary
from world_models.training.realism import colour_mse
from world_models.training.rollout import RolloutPlugin
from worldgen_core import dynamics, metrics, simulator
from worldgen_core.cli import os_error, run_cli
from worldgen_core.dynamics import TaskConfig
from worldgen_core.files import sigterm_as_interrupt
from worldgen_core.runs import check_resume_args, claim_run_dir, record_args, release_run_dir
from worldgen_core.world import WorldCore
from worldgen_core.world_map import map_files

__all__ = ["Args", "EXPERIMENTS", "TrainerPlugin", "make_plugins", "train"]

#: Settings a ``--resume`` may change: when to stop, how fast to step, what to log. Every other
#: setting (model, process, data, seed, CFG, adversary) must match the run's, or the run would be
#: two runs mixed.
RESUME_MAY_CHANGE = {"out", "resume", "steps", "time_budget", "lr", "place_lr", "warmup", "grad_clip", "bf16", "device", "threads",
                     "progress", "log_every", "eval_every", "ckpt_every", "ckpt_seconds", "pretrained"}

#: experiment -> (model kind, process), as in the original research.
EXPERIMENTS = {"diffusion": ("dit", "ddpm"), "world": ("world", "ddpm"), "world_flow": ("world", "flow")}


@dataclass
class Args:
    """Train a DiT / WorldDiT on transitions drawn from a world map."""

    experiment: str = "world_flow"
    """diffusion (unconditional DiT, DDPM) | world (WorldDiT, DDPM) | world_flow (WorldDiT, flow matching)"""
    out: str = "runs/world_flow"
    """run folder: checkpoints (last.pt), tensorboard logs, args.json"""
    preset: str = "small"
    """model size preset: tiny | small | base | seed (the original research's model)"""
    conditioning: str | None = None
    """override the preset: global | spatial"""
    norm: str | None = None
    """override the preset: rms | layer"""
    film: bool | None = None
    """override the preset: FiLM (True) or additive (False) block conditioning"""
    stem: str | None = None
    """override the preset: linear | conv patch embedding"""
    prediction: str | None = None
    """override the preset: native (eps / velocity) | x1 (clean next view)"""
    copy_kernel: int | None = None
    """override the preset: size of the learned copy filter (0: off)"""
    copy_pad: str | None = None
    """override the preset: what the copy filter puts in the revealed strip: replicate (the edge, stretched) | mean"""
    place_field: bool = False
    """learn a place field over --map (one map only): a vector per 8-px cell, given to the tokens of the next
    view where the known motion puts it; the model's knowledge of what is beyond the view on its map"""
    place_dim: int = 128
    """with --place-field: the size of each cell's vector (a --pretrained field of fewer dims is kept in the first
    ones, the new ones start at zero)"""
    place_decoder: bool = False
    """with --place-field: also decode each cell's vector straight to the revealed strip's pixels (a zero-initialised
    Linear; ModelConfig.place_decoder), past the transformer's dim-number bottleneck per token"""
    place_lr: float = 1e-2
    """with --place-field: the field's learning rate (each cell is in few batches; measured on one H100, 330 s from the
    shipped model: new strip 26.9 / 28.0 / 28.7 dB at 1e-2 / 3e-2 / 1e-1, docs/findings.md)"""
    t_sampling: str = "uniform"
    """flow matching training times: uniform | logit_normal"""
    cfg: bool = False
    """train with condition dropout for classifier-free guidance"""
    cfg_dropout: float = 0.1
    """probability of dropping the condition (null action and null view) when --cfg"""
    cfg_scale: float = 1.5
    """default guidance weight stored for sampling when --cfg (1.0 otherwise)"""
    sampler: str | None = None
    """default sampler stored in the checkpoint (euler | heun | ddpm | ddim); None: the process default"""
    sample_steps: int | None = None
    """default number of sampler steps; None: the process default (flow 10, ddpm 50)"""
    pretrained: str | None = None
    """initialise from this checkpoint (e.g. a DiT from --experiment diffusion) where tensor shapes match"""
    map: str | None = None
    """world-map image (default: data/world_map.png); evaluations run on it"""
    extra_maps: tuple[str, ...] = ()
    """more world-map images or folders of images to train on with --map (a model for many maps); each
    transition's map is drawn in proportion to its number of view positions"""
    batch_size: int = 32
    """per-process batch size"""
    lr: float = 3e-4
    weight_decay: float = 0.0
    warmup: int = 200
    """linear learning-rate warm-up steps"""
    steps: int | None = None
    """stop after this many optimiser steps"""
    time_budget: float | None = None
    """stop after this many seconds of training (wall clock, summed over resumes)"""
    seed: int = 0
    device: str = "auto"
    """auto (CUDA if available) | cpu | cuda | cuda:N"""
    bf16: bool = True
    """bfloat16 autocast on CPU and CUDA"""
    ema: float = 0.999
    """EMA decay of the weights used for sampling"""
    grad_clip: float = 1.0
    cond_noise: float = 0.0
    """max std of Gaussian noise added to the conditioning view (drift robustness, as DIAMOND)"""
    colour_weight: float = 0.0
    """weight of an extra loss on the colour part of the clean-view estimate's error (world_models.training.realism.colour_mse:
    the error minus its per-pixel channel mean), so that what the model cannot know it gets wrong in brightness, as
    the map's own grain varies, not in colour (0: off)"""
    adv_weight: float = 0.0
    """adversarial fine-tuning of the one-step sampler (world_models.training.adversarial; flow only): size of
    the adversarial term relative to the flow loss, adaptive as in VQGAN (0: off)"""
    adv_batch: int = 32
    """with --adv-weight: extra samples per step drawn at t = 0, whose one-step samples the discriminator judges
    (0 with --rollout-batch: the discriminator judges the dreams' rows only)"""
    adv_band: int = 24
    """with --adv-weight: width (px) of the revealed band the discriminator sees"""
    adv_lr: float = 2e-4
    """with --adv-weight: the discriminator's learning rate"""
    adv_spectral: bool = True
    """with --adv-weight: spectral norm on the discriminator's convs"""
    adv_highpass: bool = True
    """with --adv-weight: the discriminator also sees the bands' high-pass residual (x - its 3x3 blur, x8), so that
    speckle, streaks and grain weigh as much as layout for its 1-Lipschitz convs"""
    adv_chroma: bool = False
    """with --adv-weight: the discriminator also sees the high-pass residual of the chromaticity (rgb / its mean, x32), where
    a generator's per-channel errors show and brightness grain does not; on RGB and its high-pass it cannot see them"""
    adv_r1: float = 0.0
    """with --adv-weight: R1 gradient penalty on real bands (0: off; the usual stabiliser without spectral norm)"""
    rollout_batch: int = 0
    """train on the model's own rollouts (world_models.training.rollout; flow only): this many dreams run beside training, each
    a row of every batch: its dreamed view as the condition, the true map (and its remembered tiles) as the target, at
    t = 0; the dream advances by the row's one-step sample. With --adv-weight the discriminator judges these rows too"""
    rollout_horizon: int = 16
    """with --rollout-batch: moves per dream before it restarts from a real view (staggered: every depth in every batch)"""
    rollout_frames: bool = False
    """with --rollout-batch and --adv-weight: a discriminator of its own judges the whole dreamed frames (memory and the new
    strip) against the true frames at their cells, instead of the shared one judging revealed bands"""
    log_every: int = 25
    eval_every: int = 500
    """steps between evaluations (image grids, rollouts, PSNR) in tensorboard"""
    ckpt_every: int = 200
    """steps between checkpoints (also every ckpt_seconds)"""
    ckpt_seconds: float = 300.0
    resume: bool = False
    """continue the run in --out from its last checkpoint"""
    threads: int | None = None
    """torch CPU threads (default: torch's choice)"""
    progress: bool = True


def _model_config(a: Args, kind: str, core: WorldCore) -> ModelConfig:
    over = {k: v for k, v in dict(conditioning=a.conditioning, norm=a.norm, stem=a.stem, prediction=a.prediction, copy_kernel=a.copy_kernel,
                                   copy_pad=a.copy_pad).items() if v is not None}
    if a.film is not None:
        over["cond"] = "film" if a.film else "additive"
    if a.place_field:
        over["place_rows"], over["place_cols"] = core.place_grid
        over["place_dim"] = a.place_dim
        over["place_decoder"] = a.place_decoder
    config = preset(a.preset, kind=kind, **over)
    if a.place_field and config.patch != core.task.stride:
        raise SystemExit(f"error: --place-field needs the model's patch ({config.patch}) to equal the map's stride ({core.task.stride}) "
                         "so that each token shows one cell")
    return config


def _validate(a: Args) -> None:
    if a.experiment not in EXPERIMENTS:
        raise SystemExit(f"error: --experiment must be one of {sorted(EXPERIMENTS)}, got {a.experiment!r}")
    if a.steps is None and a.time_budget is None:
        raise SystemExit("error: give --steps N and/or --time-budget SECONDS so the run knows when to stop")
    if a.batch_size < 1 or a.lr <= 0:
        raise SystemExit(f"error: --batch-size must be >= 1 and --lr > 0, got {a.batch_size} and {a.lr}")
    if not 0 <= a.cfg_dropout < 1:
        raise SystemExit(f"error: --cfg-dropout must be in [0, 1), got {a.cfg_dropout}")
    if a.adv_weight < 0 or (a.adv_weight > 0 and a.experiment != "world_flow"):
        raise SystemExit(f"error: --adv-weight must be >= 0, and > 0 only with --experiment world_flow (its one-step "
                         f"sampler is what it sharpens); got {a.adv_weight} with {a.experiment!r}")
    if not a.colour_weight >= 0 or a.adv_chroma and not a.adv_weight > 0:
        raise SystemExit(f"error: --colour-weight must be >= 0 and --adv-chroma needs --adv-weight > 0 (it is an input of the "
                         f"discriminator); got {a.colour_weight} and --adv-weight {a.adv_weight}")
    if a.steps is not None and a.steps < 1 or a.time_budget is not None and not 0 < a.time_budget < math.inf:
        raise SystemExit(f"error: --steps must be >= 1 and --time-budget a finite number of seconds > 0, got {a.steps} and {a.time_budget} "
                         "(Ctrl-C stops any run and saves it)")
    if a.ckpt_every < 1 or a.log_every < 1 or a.eval_every < 0:
        raise SystemExit(f"error: --ckpt-every and --log-every must be >= 1 and --eval-every >= 0, got {a.ckpt_every}, {a.log_every}, {a.eval_every}")
    if a.place_decoder and not a.place_field:
        raise SystemExit("error: --place-decoder decodes the place field's vectors: it needs --place-field")
    if a.place_field and (a.experiment == "diffusion" or a.extra_maps or a.place_dim < 1 or not a.place_lr > 0):
        raise SystemExit(f"error: --place-field learns one map by place: it needs a WorldDiT (--experiment world or world_flow), "
                         f"no --extra-maps, --place-dim >= 1 and --place-lr > 0; got {a.experiment!r}, {len(a.extra_maps)} extra map(s), "
                         f"{a.place_dim}, {a.place_lr}")
    if a.adv_weight > 0 and (a.adv_batch < (0 if a.rollout_batch else 1) or not 8 <= a.adv_band <= 64):
        raise SystemExit(f"error: --adv-batch must be >= 1 (>= 0 with --rollout-batch) and --adv-band in [8, 64], got {a.adv_batch} and {a.adv_band}")
    if a.rollout_frames and not (a.rollout_batch > 0 and a.adv_weight > 0):
        raise SystemExit(f"error: --rollout-frames is a discriminator on the dreams' frames: it needs --rollout-batch > 0 and --adv-weight > 0, "
                         f"got {a.rollout_batch} and {a.adv_weight}")
    if a.rollout_batch < 0 or (a.rollout_batch and (a.experiment != "world_flow" or a.extra_maps or a.rollout_horizon < 1)):
        raise SystemExit(f"error: --rollout-batch must be >= 0, and > 0 only with --experiment world_flow (its one-step sample advances "
                         f"the dreams), one map (no --extra-maps) and --rollout-horizon >= 1; got {a.rollout_batch} with {a.experiment!r}, "
                         f"{len(a.extra_maps)} extra map(s), horizon {a.rollout_horizon}")


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
                return f"loss jumped to {loss:.3g}, over {self.factor:g}x its recent median {med:.3g} (training diverged)"
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
        elif k in own and k.endswith("patch_embed.proj.weight") and own[k].shape[1] > v.shape[1] and own[k].shape[2:] == v.shape[2:]:
            own[k] = own[k].clone()
            own[k][:, : v.shape[1]] = v
            loaded.append(k)
        elif k in ("place_field", "place_proj.weight") and k in own and own[k].shape[:-1] == v.shape[:-1] and own[k].shape[-1] > v.shape[-1]:
            own[k] = torch.zeros_like(own[k]) if k == "place_field" else own[k].clone()
            own[k][..., : v.shape[-1]] = v
            loaded.append(k)
        else:
            skipped.append(k)
    model.load_state_dict(own)
    return loaded, skipped


class TrainerPlugin(Protocol):
    """An addition to the training step, kept off the main path (the adversary is one:
    :class:`world_models.training.adversarial.AdversarialPlugin`).

    A plug-in owns ``rows`` extra rows of each batch (``rows``: its slice of them), may write their
    data (``fill``: the sampler's numpy batch, before it becomes tensors), may set their training
    times and condition dropout (``prepare``), adds a term to the loss (``loss``: returns the term
    and scalars to log), runs after each optimiser step (``after_step``), and keeps its own state in
    the checkpoint under ``name``.
    """

    name: str
    rows: int

    def fill(self, batch: dict[str, np.ndarray], rows: slice) -> None: ...

    def prepare(self, t: torch.Tensor, drop: torch.Tensor | None, rows: slice) -> None: ...

    def loss(self, loss: torch.Tensor, x1_hat: torch.Tensor, action: torch.Tensor, rows: slice, last: torch.Tensor) -> tuple[torch.Tensor, dict]: ...

    def after_step(self, x_1: torch.Tensor, action: torch.Tensor, rows: slice) -> dict[str, float]: ...

    def distribute(self) -> None: ...

    def state_dict(self) -> dict: ...

    def load_state_dict(self, st: dict) -> None: ...


def make_plugins(a: Args, device: torch.device, config: ModelConfig, core: WorldCore, seed: int = 0) -> list[TrainerPlugin]:
    """The plug-ins the settings ask for: ``--adv-weight > 0`` the adversary (its own rows: ``--adv-batch``),
    ``--rollout-batch > 0`` the dreams (judged by the same adversary, if any)."""
    def adversary(band: int) -> Adversary | None:
        return Adversary(device, band, a.adv_weight, a.adv_lr, config.channels, r1=a.adv_r1, spectral=a.adv_spectral,
                         highpass=a.adv_highpass, chroma=a.adv_chroma) if a.adv_weight > 0 else None

    plugins: list[TrainerPlugin] = []
    shared = adversary(a.adv_band) if a.adv_batch > 0 or not a.rollout_frames else None  # the band discriminator, if anyone uses it
    if shared is not None and a.adv_batch > 0:
        plugins.append(AdversarialPlugin(shared, a.adv_batch))
    if a.rollout_batch > 0:
        if a.rollout_frames:  # its own discriminator, on whole views (validated: --adv-weight > 0)
            plugins.append(RolloutPlugin(core, a.rollout_batch, a.rollout_horizon, seed, adversary(core.task.view_size), frames=True))
        else:
            plugins.append(RolloutPlugin(core, a.rollout_batch, a.rollout_horizon, seed, shared, owns_adversary=not plugins))
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
    saved = ck.get("maps") or ([ck["place_map"]] if ck.get("place_map") else None)  # older checkpoints: the place field's map
    ta = ck.get("train_args") or {}
    if saved is None or ta.get("map") != a.map or list(ta.get("extra_maps") or ()) != list(a.extra_maps):
        return  # no fingerprints, or other map paths: the settings' check (check_resume_args) names the flag
    names = [a.map or "data/world_map.png", *map(str, map_files(a.extra_maps))]
    changed = [n for n, x, y in zip(names, saved, maps) if x != y]
    if changed or len(saved) != len(maps):
        raise SystemExit(f"error: --resume: the map {changed[0] if changed else ', '.join(names)!r} is not the one the run in {where} "
                         "was trained on (its pixels or size changed since); a model trained on both would claim to know a map it "
                         "has not learnt. Resume with the original map file, or start a new run with a new --out")


def _train(a: Args) -> Path:
    _validate(a)
    if a.threads:
        torch.set_num_threads(a.threads)
    kind, process_name = EXPERIMENTS[a.experiment]
    d = _Dist(a.device)
    device = d.device
    out = claim_run_dir(a.out, a.resume, lock=d.main)  # every rank checks before the main one writes anything
    if d.world > 1:
        dist.barrier()
    ckpt_path = out / "last.pt"
    changed = None

    # ---- seeding: one block; each process draws different batches
    random.seed(a.seed + d.rank)
    np.random.seed(a.seed + d.rank)
    torch.manual_seed(a.seed + d.rank)

    process = make_process(process_name, **({"t_sampling": a.t_sampling} if process_name == "flow" else {}))
    core = WorldCore(a.map, TaskConfig())
    config = _model_config(a, kind, core)
    extra = [WorldCore(p, TaskConfig()) for p in map_files(a.extra_maps)]
    maps = map_fingerprints([core, *extra])  # which maps the run trains on: checkpoints keep it, a resume checks it
    sampler = TransitionSampler([core, *extra], seed=a.seed + 1000 * d.rank)
    model = build_model(config).to(device)
    groups = [{"params": [p for n, p in model.named_parameters() if n != "place_field"], "base_lr": a.lr}]
    if config.place_rows:  # the place field learns at its own rate: each cell is in few batches
        groups.append({"params": [model.place_field], "base_lr": a.place_lr, "weight_decay": 0.0})
    opt = torch.optim.AdamW(groups, lr=a.lr, betas=(0.9, 0.99), weight_decay=a.weight_decay)
    ema = AveragedModel(model, multi_avg_fn=ema_with_warmup(a.ema), use_buffers=True)
    try:
        sampling = SamplingConfig.resolve(process, sampler=a.sampler, steps=a.sample_steps, cfg_scale=a.cfg_scale if a.cfg else 1.0)
    except ValueError as e:
        raise SystemExit(f"error: --sampler/--sample-steps/--cfg-scale: {e}") from e
    step, elapsed = 0, 0.0
    plugins = make_plugins(a, device, config, core, seed=a.seed + 2000 + d.rank)
    rows, n_extra = {}, 0  # each plug-in's rows: the first rows of the batch, after the previous plug-in's
    for p in plugins:
        rows[p.name], n_extra = slice(n_extra, n_extra + p.rows), n_extra + p.rows

    if a.resume:
        if not ckpt_path.exists():
            raise SystemExit(f"error: --resume but {ckpt_path} does not exist; start the run without --resume")
        ck = load_checkpoint(ckpt_path)
        check_maps(ck, a, maps, out)
        if ck["config"] != config.to_dict() or ck["process"] != process_name:
            raise SystemExit(f"error: {ckpt_path} was trained with another model/process ({ck['process']}, {ck['config']}); "
                             "resume with the same --experiment/--preset/overrides, or use a new --out")
        changed = check_resume_args(ck.get("train_args") or {}, dataclasses.asdict(a), RESUME_MAY_CHANGE, str(out))
        load_state(model, ck["model"], str(ckpt_path))
        load_state(ema.module, ck["ema"], str(ckpt_path))
        ema.n_averaged.fill_(ck["ema_n"])
        opt.load_state_dict(ck["optimizer"])
        for group, g in zip(opt.param_groups, groups):  # this run's rates (--lr may change on resume)
            group["base_lr"] = g["base_lr"]
        step, elapsed = ck["step"], ck["elapsed"]
        for p in plugins:
            if ck.get(p.name) is not None:
                p.load_state_dict(ck[p.name])
            elif d.main:
                print(f"{ckpt_path} has no {p.name} state: the {p.name} starts anew")
        if d.world == 1:
            _set_rng_state(ck["rng"], sampler)
        else:  # other ranks' streams are not saved: reseed them deterministically from the step
            torch.manual_seed(a.seed + d.rank + 7919 * step)
            sampler.rng = np.random.default_rng(a.seed + 1000 * d.rank + 7919 * step)
        if d.main:
            print(f"resumed {ckpt_path} at step {step} ({elapsed:.0f}s trained)")
    elif a.pretrained:
        loaded, skipped = init_from_pretrained(model, a.pretrained)
        ema.module.load_state_dict(model.state_dict())
        if d.main:
            print(f"initialised {len(loaded)} tensors from {a.pretrained}; {len(skipped)} did not match: {skipped[:8]}")

    net = torch.nn.parallel.DistributedDataParallel(model) if d.world > 1 else model
    if d.world > 1:
        for p in plugins:
            p.distribute()
    amp_dtype = torch.bfloat16 if a.bf16 else torch.float32
    amp = (lambda: torch.autocast(device.type, dtype=amp_dtype)) if a.bf16 else contextlib.nullcontext
    writer = None
    if d.main:
        from torch.utils.tensorboard import SummaryWriter

        record_args(out, dataclasses.asdict(a), changed, step if a.resume else None)
        writer = SummaryWriter(str(out / "tb"), purge_step=step if a.resume else None)
        n_params = sum(p.numel() for p in model.parameters())
        print(f"{a.experiment}: {process.name} + {config.kind} ({a.preset}, {n_params / 1e6:.2f}M params, {config.conditioning}) "
              f"on {device}, world size {d.world}, batch {a.batch_size}/process, {1 + len(extra)} map(s) -> {out}")
    eval_batch = TransitionSampler(core, seed=12345).sample(8)

    saved = {"step": None}

    def checkpoint(rng: dict | None = None) -> Path:
        """Write the current state; refuses weights that are not finite (they would not be 'good')."""
        bad = first_non_finite(model.state_dict()) or first_non_finite(ema.module.state_dict())
        if bad:
            raise FloatingPointError(f"the weights are not finite at step {step} ({bad}, ...); not saved. The last good "
                                     f"checkpoint is {ckpt_path} (step {saved['step']}). Try a lower --lr, then --resume.")
        ckpt = {"config": config.to_dict(), "process": process_name, "sampling": sampling.to_dict(), "model": model.state_dict(),
                **({"place_map": core.fingerprint} if config.place_rows else {}), "maps": maps,
                "ema": ema.module.state_dict(), "ema_n": int(ema.n_averaged.item()), "optimizer": opt.state_dict(),
                "step": step, "elapsed": elapsed, "rng": rng or _rng_state(sampler), "train_args": dataclasses.asdict(a),
                **{p.name: p.state_dict() for p in plugins}}
        try:
            path = save_checkpoint(ckpt_path, ckpt)
        except OSError as e:  # a full disk, a folder gone read-only: the previous file is untouched (atomic write)
            kept = (f"the last good checkpoint {ckpt_path} (step {saved['step']}) is kept as it was; free some space, then --resume"
                    if saved["step"] is not None else "no checkpoint was written, so the folder holds no run yet: free some space, then "
                    "run the same command again")
            raise SystemExit(f"error: could not write the checkpoint at step {step} ({os_error(e)}); {kept}") from None
        saved["step"] = step
        return path

    def done() -> bool:
        return (a.steps is not None and step >= a.steps) or (a.time_budget is not None and elapsed >= a.time_budget)

    sigterm_as_interrupt()
    # A checkpoint falls due after an update, but is written only once the next step's loss has
    # come out finite: an update can explode the weights without a non-finite value anywhere, and
    # the checkpoint a failure names as the last good one must not hold them. A new run writes
    # its step-0 state, so that checkpoint always exists.
    if d.main:
        if a.resume:
            saved["step"] = step
        else:
            checkpoint()
    ckpt_due = False
    diverged = Divergence()
    bar = tqdm(total=a.steps, initial=step, disable=not (d.main and a.progress), dynamic_ncols=True, mininterval=1.0)
    last_ckpt_t = time.perf_counter()
    t_log, n_log = time.perf_counter(), 0
    try:
        while not done():
            t0 = time.perf_counter()
            rng_before = _rng_state(sampler) if ckpt_due else None  # the state this step's batch is drawn from
            B = a.batch_size + n_extra  # plug-ins' rows first (e.g. the adversary's one-step samples)
            batch = sampler.sample(B)
            for p in plugins:
                p.fill(batch, rows[p.name])
            x_1 = to_tensor(batch["next"], device)
            view = to_tensor(batch["view"], device)
            action = torch.as_tensor(batch["action"], device=device)
            if a.cond_noise > 0:
                view = view + a.cond_noise * torch.rand(B, 1, 1, 1, device=device) * torch.randn_like(view)
            cond = {"view": view, "action": action} if kind == "world" else None
            if config.place_rows:  # the next view's cell
                cond["place"] = torch.as_tensor(batch["next_pos"], device=device)
            drop = (torch.rand(B, device=device) < a.cfg_dropout) if (a.cfg and kind == "world") else None
            t = process.sample_t(B, device)
            for p in plugins:
                p.prepare(t, drop, rows[p.name])
            for group in opt.param_groups:
                group["lr"] = group["base_lr"] * min(1.0, (step + 1) / max(1, a.warmup))
            plugin_logs: dict = {}
            with amp():
                loss, x1_hat = process.loss(net, x_1, cond, drop, t=t, return_x1=True)
                total = loss
                if a.colour_weight > 0:
                    colour = colour_mse(x1_hat, x_1)
                    total = total + a.colour_weight * colour
                    plugin_logs["losses/colour"] = colour.detach()  # read at log steps only, as the plug-ins' logs
                for p in plugins:
                    extra, logs = p.loss(loss, x1_hat, action, rows[p.name], model.final.linear.weight)
                    total = total + extra
                    plugin_logs.update(logs)
            why = diverged(d.max_loss(total))
            if why:
                bar.close()
                raise FloatingPointError(f"{why} at step {step}; stopping. The last good checkpoint is {ckpt_path} (step "
                                         f"{saved['step']}). Try a lower --lr, --grad-clip, or --no-bf16, then --resume.")
            if ckpt_due:
                if d.main:
                    checkpoint(rng_before)
                ckpt_due = False
            opt.zero_grad(set_to_none=True)
            total.backward()
            gnorm = torch.nn.utils.clip_grad_norm_(model.parameters(), a.grad_clip)
            opt.step()
            for p in plugins:
                with amp():
                    plugin_logs.update(p.after_step(x_1, action, rows[p.name]))
            ema.update_parameters(model)
            step += 1
            elapsed += time.perf_counter() - t0
            n_log += B * d.world
            bar.update(1)
            if d.main and (step % a.log_every == 0 or step == 1):
                sps = n_log / max(time.perf_counter() - t_log, 1e-9)
                bar.set_postfix(loss=f"{loss.item():.4f}", samples_s=f"{sps:.0f}")
                writer.add_scalar("losses/train", loss.item(), step)
                writer.add_scalar("charts/learning_rate", opt.param_groups[0]["lr"], step)
                writer.add_scalar("charts/samples_per_s", sps, step)
                writer.add_scalar("charts/grad_norm", float(gnorm), step)
                writer.add_scalar("charts/elapsed_s", elapsed, step)
                for k, v in plugin_logs.items():
                    writer.add_scalar(k, float(v), step)
                t_log, n_log = time.perf_counter(), 0
            if d.main and a.eval_every and step % a.eval_every == 0:
                _log_eval(writer, ema.module, process, core, eval_batch, sampling, device, amp_dtype, step)
            now = time.perf_counter()
            if step % a.ckpt_every == 0 or now - last_ckpt_t > a.ckpt_seconds:
                ckpt_due = True
                last_ckpt_t = now
    except KeyboardInterrupt:
        if d.main:
            checkpoint()
            print(f"interrupted at step {step}: checkpoint written to {ckpt_path}; continue with --resume", file=sys.stderr)
        d.close()
        raise SystemExit(130) from None
    finally:
        bar.close()
    path = ckpt_path
    if d.main:
        checkpoint()
        if a.eval_every:
            _log_eval(writer, ema.module, process, core, eval_batch, sampling, device, amp_dtype, step)
        writer.close()
        print(f"done: step {step}, {elapsed:.0f}s; checkpoint {ckpt_path}")
    d.close()
    return path


def _log_eval(writer, model, process, core, batch, sampling, device, amp_dtype, step):
    """Images, and worldbench's measures under worldbench's names (``worldgen_core.metrics``: the same functions), for tensorboard:
    one step on ``batch``, and 2 open-loop dreams of 6 random moves stepped as the dream env steps them (a blocked move keeps the view)."""
    model.eval()
    wm = WorldModel(model, process, model.config, sampling, device, amp_dtype)
    if model.config.kind == "world":
        place = model.config.place_rows > 0  # its field is of this map (the --map it trains on)
        predict = inference.model_predictor(wm)
        gen = predict(batch["view"], batch["action"], *((batch["next_pos"],) if place else ()))
        scalars = metrics.one_step(gen, batch["next"], batch["action"], core.task.stride)
        rng = np.random.default_rng(0)
        pos = np.stack([rng.integers(0, core.grid[0], 2), rng.integers(0, core.grid[1], 2)], 1)
        true = fake = [core.views(pos)]
        for action in rng.integers(0, 4, (6, 2)):
            pos, prev = dynamics.move(pos, action, core.grid), pos
            true, fake = true + [core.views(pos)], fake + [simulator.dream_views(predict, prev, pos, fake[-1], action, place)]
        scalars |= {f"rollout_psnr@{k}": metrics.psnr(fake[k], true[k]) for k in (1, 6)}
        scalars |= {f"{k}_roll@6": v for k, v in metrics.drift(fake[6], true[6]).items()}
        for k, v in scalars.items():
            writer.add_scalar(f"eval/{k}", v, step)
        writer.add_image("images/current_truth_generated", metrics.image_grid([batch["view"], batch["next"], gen]), step, dataformats="HWC")
        true, fake = np.stack(true, 1), np.stack(fake, 1)
        writer.add_image("images/rollout_truth_vs_generated", metrics.image_grid([true[0], fake[0], true[1], fake[1]]), step, dataformats="HWC")
    else:
        with torch.no_grad(), wm.autocast():
            x = process.sample(model, None, n=8, generator=torch.Generator().manual_seed(0), **sampling.to_dict())
        writer.add_image("images/samples", metrics.image_grid([to_uint8(x)]), step, dataformats="HWC")
    model.train()


def main(argv: list[str] | None = None) -> Path:
    """``python -m world_models.training --help``: one training stage with every setting (``train_world.py`` runs the whole recipe)."""
    return run_cli(Args, train, argv, __doc__.split("\n\n")[0])


if __name__ == "__main__":
    main()
