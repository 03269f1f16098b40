"""Sampler settings: one frozen config, resolved in one place (as DIAMOND's ``DiffusionSamplerConfig``).

A checkpoint stores its default :class:`SamplingConfig` (``ckpt["sampling"]``); the trainer,
``export``, ``load_world_model``, the dream env and the evaluation all get theirs from
:meth:`SamplingConfig.resolve`: the overrides given (``None``: keep), over the stored settings,
over the process's defaults, checked against the process.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

__all__ = ["SamplingConfig"]


@dataclass(frozen=True)
class SamplingConfig:
    """``sampler`` (a name in ``process.samplers``), ``steps`` (solver steps per frame, >= 1),
    ``cfg_scale`` (classifier-free guidance weight; 1.0: off).

    >>> from world_models.generative.processes import FlowMatching
    >>> SamplingConfig.resolve(FlowMatching(), {"sampler": "euler", "steps": 1, "cfg_scale": 1.0}, steps=4)
    SamplingConfig(sampler='euler', steps=4, cfg_scale=1.0)
    """

    sampler: str
    steps: int
    cfg_scale: float = 1.0

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def resolve(
        cls,
        process,
        base: SamplingConfig | dict | None = None,
        *,
        sampler: str | None = None,
        steps: int | None = None,
        cfg_scale: float | None = None,
    ) -> SamplingConfig:
        """``sampler``/``steps``/``cfg_scale`` where given, else ``base``'s (a config or a checkpoint's
        dict), else ``process``'s defaults; a clear ``ValueError`` for settings the process cannot run."""
        b = base.to_dict() if isinstance(base, SamplingConfig) else dict(base or {})
        sampler = sampler if sampler is not None else b.get("sampler", process.default_sampler)
        steps = steps if steps is not None else b.get("steps", process.default_steps)
        cfg_scale = cfg_scale if cfg_scale is not None else b.get("cfg_scale", 1.0)
        if sampler not in process.samplers:
            raise ValueError(
                f"sampler must be one of {process.samplers} for this {process.name} model, got {sampler!r}"
            )
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
            raise ValueError(f"steps must be an int >= 1 (sampler steps per generated frame), got {steps!r}")
        if (
            isinstance(cfg_scale, bool)
            or not isinstance(cfg_scale, (int, float, np.number))
            or not math.isfinite(cfg_scale)
        ):
            raise ValueError(f"cfg_scale must be a finite number (1.0: no guidance), got {cfg_scale!r}")
        return cls(str(sampler), int(steps), float(cfg_scale))
