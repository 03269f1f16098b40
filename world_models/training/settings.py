"""The settings of one training stage (``python -m world_models.training --help``): the core's, and a
group per part (``--place.dim``, ``--adv.weight``, ...), each with its own check.

Runs record their settings flat, as :func:`flat_args` names them (``adv.weight`` -> ``adv_weight``):
``args.json``, a checkpoint's ``train_args`` and ``--resume``'s comparison use those names, so a run
recorded before the settings had groups compares, and resumes, as it did.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field

from world_models.training.adversarial import AdvArgs
from world_models.training.plugins import ColourArgs, CondNoiseArgs
from world_models.training.rollout import RolloutArgs

__all__ = [
    "Args",
    "ArchArgs",
    "PlaceArgs",
    "GuidanceArgs",
    "SampleArgs",
    "EXPERIMENTS",
    "RESUME_MAY_CHANGE",
    "episode_paths",
    "flat_args",
    "recorded_episodes",
]

#: experiment -> (model kind, process), as in the original research.
EXPERIMENTS = {"diffusion": ("dit", "ddpm"), "world": ("world", "ddpm"), "world_flow": ("world", "flow")}

#: Settings (flat names) a ``--resume`` may change: when to stop, how fast to step, what to log. Every
#: other setting (model, process, data, seed, CFG, adversary) must match the run's, or the run would be
#: two runs mixed.
RESUME_MAY_CHANGE = {
    "out",
    "resume",
    "steps",
    "time_budget",
    "lr",
    "place_lr",
    "warmup",
    "grad_clip",
    "bf16",
    "device",
    "threads",
    "progress",
    "log_every",
    "eval_every",
    "ckpt_every",
    "ckpt_seconds",
    "pretrained",
}


@dataclass
class ArchArgs:
    """Overrides of the --preset's architecture (None: the preset's)."""

    conditioning: str | None = None
    """global | spatial"""
    norm: str | None = None
    """rms | layer"""
    film: bool | None = None
    """FiLM (True) or additive (False) block conditioning"""
    stem: str | None = None
    """linear | conv patch embedding"""
    prediction: str | None = None
    """native (eps / velocity) | x1 (clean next view)"""
    copy_kernel: int | None = None
    """size of the learned copy filter (0: off)"""
    copy_pad: str | None = None
    """what the copy filter puts in the revealed strip: replicate (the edge, stretched) | mean"""

    def overrides(self) -> dict:
        """The :func:`world_models.model.dit.preset` keywords these settings change."""
        over = {k: v for k, v in dataclasses.asdict(self).items() if v is not None and k != "film"}
        if self.film is not None:
            over["cond"] = "film" if self.film else "additive"
        return over


@dataclass
class PlaceArgs:
    """A place field over --map (one map only): a vector per 8-px cell, given to the tokens of the next view where the
    known motion puts it; the model's knowledge of what is beyond the view on its map."""

    field: bool = False
    """learn the place field"""
    dim: int = 128
    """the size of each cell's vector (a --pretrained field of fewer dims is kept in the first ones, the new ones start
    at zero)"""
    decoder: bool = False
    """also decode each cell's vector straight to the revealed strip's pixels (a zero-initialised Linear;
    ModelConfig.place_decoder), past the transformer's dim-number bottleneck per token"""
    lr: float = 1e-2
    """the field's learning rate (each cell is in few batches; measured on one H100, 330 s from the shipped model: new
    strip 26.9 / 28.0 / 28.7 dB at 1e-2 / 3e-2 / 1e-1, docs/findings.md)"""

    def check(self, a) -> None:
        if self.decoder and not self.field:
            raise SystemExit("error: --place.decoder decodes the place field's vectors: it needs --place.field")
        if self.field and (a.experiment == "diffusion" or a.extra_maps or self.dim < 1 or not self.lr > 0):
            raise SystemExit(
                "error: --place.field learns one map by place: it needs a WorldDiT (--experiment world or "
                "world_flow), "
                f"no --extra-maps, --place.dim >= 1 and --place.lr > 0; got {a.experiment!r}, {len(a.extra_maps)} "
                "extra map(s), "
                f"{self.dim}, {self.lr}"
            )


@dataclass
class GuidanceArgs:
    """Classifier-free guidance (CFG)."""

    on: bool = False
    """train with condition dropout for classifier-free guidance"""
    dropout: float = 0.1
    """probability of dropping the condition (null action and null view)"""
    scale: float = 1.5
    """default guidance weight stored for sampling (1.0 without --cfg.on)"""

    def check(self, a) -> None:
        if not 0 <= self.dropout < 1:
            raise SystemExit(f"error: --cfg.dropout must be in [0, 1), got {self.dropout}")


@dataclass
class SampleArgs:
    """The sampling defaults stored in the checkpoint."""

    sampler: str | None = None
    """euler | heun | ddpm | ddim; None: the process default"""
    steps: int | None = None
    """number of sampler steps; None: the process default (flow 10, ddpm 50)"""


def _group(cls):
    return field(default_factory=cls)


@dataclass
class Args:
    """Train a DiT / WorldDiT on transitions drawn from a world map (or recorded in episodes: --episodes)."""

    experiment: str = "world_flow"
    """diffusion (unconditional DiT, DDPM) | world (WorldDiT, DDPM) | world_flow (WorldDiT, flow matching)"""
    out: str = "runs/world_flow"
    """run folder: checkpoints (last.pt), tensorboard logs, args.json"""
    preset: str = "small"
    """model size preset: tiny | small | base | seed (the original research's model)"""
    t_sampling: str = "uniform"
    """flow matching training times: uniform | logit_normal"""
    pretrained: str | None = None
    """initialise from this checkpoint (e.g. a DiT from --experiment diffusion) where tensor shapes match"""
    map: str | None = None
    """world-map image (default: data/world_map.png); evaluations run on it"""
    extra_maps: tuple[str, ...] = ()
    """more world-map images or folders of images to train on with --map (a model for many maps); each transition's map
    is drawn in proportion to its number of view positions"""
    episodes: tuple[str, ...] = ()
    """train on the transitions of one or more Minari datasets of one map (python -m agents.episodes) instead of --map,
    never opening the map: the place field is sized from the map's size the datasets record, and learns where
    their episodes went; the last 2 episodes are held out for the evaluations"""
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
    arch: ArchArgs = _group(ArchArgs)
    place: PlaceArgs = _group(PlaceArgs)
    cfg: GuidanceArgs = _group(GuidanceArgs)
    sample: SampleArgs = _group(SampleArgs)
    cond: CondNoiseArgs = _group(CondNoiseArgs)
    colour: ColourArgs = _group(ColourArgs)
    adv: AdvArgs = _group(AdvArgs)
    rollout: RolloutArgs = _group(RolloutArgs)

    def __post_init__(self) -> None:
        self.episodes = episode_paths(self.episodes)

    def check(self) -> None:
        """One ``error:`` line (SystemExit) for the first bad setting: the core's, then each group's."""
        if self.experiment not in EXPERIMENTS:
            raise SystemExit(f"error: --experiment must be one of {sorted(EXPERIMENTS)}, got {self.experiment!r}")
        if self.steps is None and self.time_budget is None:
            raise SystemExit("error: give --steps N and/or --time-budget SECONDS so the run knows when to stop")
        if self.batch_size < 1 or self.lr <= 0:
            raise SystemExit(f"error: --batch-size must be >= 1 and --lr > 0, got {self.batch_size} and {self.lr}")
        if (
            self.steps is not None
            and self.steps < 1
            or self.time_budget is not None
            and not 0 < self.time_budget < math.inf
        ):
            raise SystemExit(
                f"error: --steps must be >= 1 and --time-budget a finite number of seconds > 0, got {self.steps} and "
                f"{self.time_budget} (Ctrl-C stops any run and saves it)"
            )
        if self.ckpt_every < 1 or self.log_every < 1 or self.eval_every < 0:
            raise SystemExit(
                f"error: --ckpt-every and --log-every must be >= 1 and --eval-every >= 0, got {self.ckpt_every}, "
                f"{self.log_every}, {self.eval_every}"
            )
        if self.episodes and (self.map or self.extra_maps):
            raise SystemExit(
                f"error: --episodes trains on the dataset's transitions alone, on the map it names: drop --map "
                f"{self.map!r} and --extra-maps ({len(self.extra_maps)} given)"
            )
        if self.episodes and self.rollout.batch > 0:
            raise SystemExit(
                f"error: --rollout.batch {self.rollout.batch} dreams on the map (its targets are the map's views), "
                "which --episodes never opens: use --rollout.batch 0"
            )
        for group in (self.cfg, self.place, self.cond, self.colour, self.adv, self.rollout):
            group.check(self)


#: groups whose settings are recorded under their own names (``arch.norm`` -> ``norm``)
_BARE = {"arch"}
#: the few other settings whose recorded name is not GROUP_FIELD
_RECORDED_AS = {("cfg", "on"): "cfg", ("sample", "sampler"): "sampler"}


def _recorded(a: Args):
    """(recorded name, command-line flag, value) of every setting."""
    for k, v in dataclasses.asdict(a).items():
        if isinstance(v, dict):
            for f, x in v.items():
                yield (f if k in _BARE else _RECORDED_AS.get((k, f), f"{k}_{f}")), f"--{k}.{f}".replace("_", "-"), x
        else:
            yield k, "--" + k.replace("_", "-"), v


def flat_args(a: Args) -> dict:
    """The settings as runs record them (args.json, a checkpoint's ``train_args``) and ``--resume``
    compares them: one flat dict, ``adv.weight`` as ``adv_weight``, ``cfg.on`` as ``cfg``; ``episodes`` only when
    given, one dataset as its path and several as a list of paths (a run on a map, or from one dataset, records what it
    did before several could be given)."""
    flat = {name: recorded_episodes(v) if name == "episodes" else v for name, _, v in _recorded(a)}
    return {name: v for name, v in flat.items() if not (name == "episodes" and v is None)}


def episode_paths(episodes) -> tuple[str, ...]:
    """``--episodes`` as a tuple of paths: one path (a string) is one dataset.

    >>> episode_paths("a"), episode_paths(["a", "b"]), episode_paths(None)
    (('a',), ('a', 'b'), ())
    """
    if isinstance(episodes, (str, os.PathLike)):
        return (str(episodes),)
    return tuple(str(p) for p in episodes or ())


def recorded_episodes(episodes: tuple[str, ...]) -> str | list[str] | None:
    """``--episodes`` as runs record it: None for none, one dataset's path as a string, several as a list.

    >>> recorded_episodes(()), recorded_episodes(("a",)), recorded_episodes(("a", "b"))
    (None, 'a', ['a', 'b'])
    """
    paths = list(episode_paths(episodes))
    return None if not paths else paths[0] if len(paths) == 1 else paths


def recorded_flags(a: Args) -> dict[str, str]:
    """Recorded name -> the flag that sets it (``adv_band`` -> ``--adv.band``), for messages.

    >>> recorded_flags(Args())["adv_band"], recorded_flags(Args())["cfg"], recorded_flags(Args())["copy_pad"]
    ('--adv.band', '--cfg.on', '--arch.copy-pad')
    """
    return {name: flag for name, flag, _ in _recorded(a)}
