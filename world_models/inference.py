"""A trained world model ready to predict next views: ``load_world_model(path)``."""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from world_models.data import to_tensor, to_uint8
from world_models.generative.processes import Process, make_process
from world_models.generative.sampling import SamplingConfig
from world_models.io.checkpoint import CheckpointError, load_checkpoint
from world_models.model.dit import DiT, ModelConfig, build_model
from worldgen_core.assets import data_path

__all__ = [
    "WorldModel",
    "model_predictor",
    "load_world_model",
    "resolve_device",
    "resolve_dtype",
    "fast_dtype",
    "DTYPES",
    "load_state",
    "SHIPPED_MODEL",
    "UNIVERSAL_MODEL",
]

#: The shipped world model, trained on the default map (README: its training commands).
SHIPPED_MODEL = data_path("world_model.pt")
#: The universal world model, trained on the default map and 64 procedural maps of varied styles;
#: the recipe fine-tunes it by default (``train_world.py --pretrained``).
UNIVERSAL_MODEL = data_path("universal.pt")


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; otherwise ``torch.device(device)``."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise ValueError(f"device {device!r} is not a torch device; use 'auto', 'cpu', 'cuda' or 'cuda:N'") from e
    if dev.type == "cuda":
        n = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if n == 0:
            raise ValueError(
                f"device {str(device)!r} asks for a CUDA GPU, but torch sees none (torch.cuda.is_available() is "
                "False); "
                "use device 'auto' or 'cpu'"
            )
        if dev.index is not None and dev.index >= n:
            raise ValueError(f"device {str(device)!r}: there are {n} CUDA GPU(s), numbered 0..{n - 1}")
    elif dev.type not in ("cpu", "mps"):
        raise ValueError(f"device {str(device)!r} is not supported here; use 'auto', 'cpu' or 'cuda[:N]'")
    return dev


def fast_dtype(device: str | torch.device = "auto") -> torch.dtype:
    """The faster autocast dtype for generation on ``device``: bfloat16 on a CUDA GPU that supports
    it and on a CPU with AMX tiles (bf16 matrix units), float32 elsewhere. Measured on an AVX-512 CPU
    without AMX (docs/findings.md#speed): a bf16 matmul runs at half the fp32 rate (166 vs 306 GFLOP/s).
    Decided from the hardware alone, so a machine always picks the same (reproducible runs)."""
    dev = resolve_device(device)
    if dev.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float32
    amx = getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    return torch.bfloat16 if dev.type == "cpu" and amx() else torch.float32


#: dtype names accepted by the dream env, worldbench and the agent CLI; "auto" is :func:`fast_dtype`
DTYPES = {
    "auto": None,
    "float32": torch.float32,
    "bfloat16": torch.bfloat16,
    "fp32": torch.float32,
    "bf16": torch.bfloat16,
}


def resolve_dtype(dtype: str | torch.dtype, device: str | torch.device = "auto") -> torch.dtype:
    """A dtype name from :data:`DTYPES` (or a torch dtype) -> the torch dtype (``"auto"``: :func:`fast_dtype`)."""
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {sorted(DTYPES)}, got {dtype!r}")
    return DTYPES[dtype] or fast_dtype(device)


def load_state(model: torch.nn.Module, state: dict, what: str) -> None:
    """``load_state_dict`` with an error that says which tensors do not fit."""
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        raise CheckpointError(
            f"{what}: the weights do not fit the model its config describes ({str(e).splitlines()[0][:300]})"
        ) from e


@dataclass
class WorldModel:
    """A model, its process and its default sampler settings.

    ``predict(views, actions)`` maps uint8 views (B, H, W, 3) and actions (B,) to the generated next
    views, uint8 (B, H, W, 3): one batched model call per sampler step (two halves of one batch
    when CFG is on).
    """

    model: DiT
    process: Process
    config: ModelConfig
    sampling: SamplingConfig
    device: torch.device
    dtype: torch.dtype = torch.float32
    place_map: str | None = None  # the fingerprint of the map its place field knows (WorldCore.fingerprint)
    path: str | None = None  # the checkpoint it was loaded from (for messages)
    _warned: set = field(default_factory=set, repr=False, compare=False)  # maps it has warned about

    @property
    def has_place(self) -> bool:
        """Whether the model has a place field (knows one map by place)."""
        return self.config.place_rows > 0

    def knows(self, core) -> bool:
        """Whether the model's place field is of ``core``'s map (so predictions should get cells).
        A model with a field learnt on another map warns, once per map, that it dreams without it there."""
        if not self.has_place:
            return False
        if self.place_map is not None and self.place_map == core.fingerprint:
            return True
        if core.fingerprint not in self._warned:
            self._warned.add(core.fingerprint)
            warnings.warn(
                f"world model {self.path or '(in memory)'!r} has a place field learnt on another map "
                f"(fingerprint {self.place_map}), not on {getattr(core, 'map_name', 'this map')!r} "
                f"({core.fingerprint}): it dreams there from the view alone, without its field",
                stacklevel=2,
            )
        return False

    @property
    def sampler(self) -> str:
        return self.sampling.sampler

    @property
    def steps(self) -> int:
        return self.sampling.steps

    @property
    def cfg_scale(self) -> float:
        return self.sampling.cfg_scale

    def autocast(self):
        if self.dtype == torch.float32:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def resolve(self, sampling: SamplingConfig | None = None, **overrides) -> SamplingConfig:
        """This model's sampler settings with ``overrides`` (``sampler``, ``steps``, ``cfg_scale``; None: keep)."""
        return SamplingConfig.resolve(self.process, sampling or self.sampling, **overrides)

    @torch.inference_mode()
    def predict(
        self,
        views: np.ndarray,
        actions: np.ndarray,
        generator: torch.Generator | None = None,
        *,
        sampling: SamplingConfig | None = None,
        sampler: str | None = None,
        steps: int | None = None,
        cfg_scale: float | None = None,
        cells: np.ndarray | None = None,
    ) -> np.ndarray:
        """``sampling`` (default: the checkpoint's), or single settings overriding it. ``cells``
        (B, 2): the next views' cells, for a model with a place field on the map it knows
        (None: the field is left out)."""
        if self.config.kind != "world":
            raise ValueError("this checkpoint holds an unconditional DiT; predict() needs a WorldDiT checkpoint")
        sampling = sampling or self.sampling  # resolved (and checked) when the model or the caller made it
        if sampler is not None or steps is not None or cfg_scale is not None:
            sampling = self.resolve(sampling, sampler=sampler, steps=steps, cfg_scale=cfg_scale)
        cond = {
            "view": to_tensor(views, self.device),
            "action": torch.as_tensor(np.asarray(actions), dtype=torch.long, device=self.device),
        }
        if cells is not None:
            if not self.has_place:
                raise ValueError(
                    "cells= was given, but this world model has no place field; predict(views, actions) without cells"
                )
            cond["place"] = torch.as_tensor(np.asarray(cells), dtype=torch.long, device=self.device)
        with self.autocast():
            x = self.process.sample(
                self.model,
                cond,
                sampler=sampling.sampler,
                steps=sampling.steps,
                cfg_scale=sampling.cfg_scale,
                generator=generator,
            )
        if not torch.isfinite(x).all():
            raise FloatingPointError(
                f"world model {self.path or '(in memory)'!r} predicted views with NaN or inf values "
                f"({sampling.sampler} x{sampling.steps}, cfg {sampling.cfg_scale}, {self.dtype}); they would show as "
                f"black frames. Try another checkpoint{'' if self.dtype == torch.float32 else ', or dtype float32'}"
            )
        return to_uint8(x)


def model_predictor(
    wm: WorldModel,
    sampler: str | None = None,
    steps: int | None = None,
    cfg_scale: float | None = None,
    seed: int = 0,
    batch: int = 64,
    generator: torch.Generator | None = None,
):
    """``wm`` as a predictor of next views, ``predict(views, actions[, cells]) -> next views`` (uint8 (B, H, W, 3)), the
    function :class:`worldgen_core.simulator.PredictorSimulator` and :func:`worldgen_core.simulator.dream_views` step:
    batches of ``batch``; the next views' cells as an optional third argument (a model with a place field). Noise
    from ``generator``, or from a CPU generator seeded with ``seed``."""
    g = generator if generator is not None else torch.Generator().manual_seed(seed)

    def predict(views, actions, cells=None):
        outs = [
            wm.predict(
                views[i : i + batch],
                actions[i : i + batch],
                g,
                sampler=sampler,
                steps=steps,
                cfg_scale=cfg_scale,
                cells=None if cells is None else cells[i : i + batch],
            )
            for i in range(0, len(views), batch)
        ]
        return np.concatenate(outs)

    return predict


def load_world_model(
    path: str | Path,
    device: str | torch.device = "auto",
    use_ema: bool = True,
    dtype: str | torch.dtype = torch.float32,
    compile: bool = False,
) -> WorldModel:
    """Rebuild the model a checkpoint describes (its config travels inside it), in eval mode.

    ``use_ema``: load the EMA weights when the checkpoint has them (the better sampler).
    ``dtype``: autocast dtype of generation (a torch dtype or a name from :data:`DTYPES`).
    ``compile``: ``torch.compile`` the model (first calls take tens of seconds to compile; on
    this 2-core CPU single-frame generation then runs ~1.8x faster).
    """
    ckpt = load_checkpoint(path)
    config = ModelConfig.from_dict(ckpt["config"])
    model = build_model(config)
    state = ckpt.get("ema") if use_ema and ckpt.get("ema") is not None else ckpt["model"]
    load_state(model, state, f"checkpoint {str(path)!r}")
    dev = resolve_device(device)
    dtype = resolve_dtype(dtype, dev)
    model.to(dev).eval().requires_grad_(False)
    if compile:
        model = torch.compile(model)
    process = make_process(ckpt["process"])
    try:
        sampling = SamplingConfig.resolve(process, ckpt["sampling"])
    except ValueError as e:
        raise CheckpointError(
            f"checkpoint {str(path)!r}: its stored sampler settings do not fit its process: {e}"
        ) from e
    return WorldModel(model, process, config, sampling, dev, dtype, ckpt.get("place_map"), str(path))
