"""The trainer's plug-ins: additions to the training step, each with its own settings (a group of
``python -m world_models.training --help``) and their check.

* :class:`TrainerPlugin`: the protocol (every hook a no-op by default).
* :class:`CondNoisePlugin` (``--cond.noise``): Gaussian noise on the conditioning view.
* :class:`ColourPlugin` (``--colour.weight``): a loss on the colour part of the error.
* the adversary (:mod:`world_models.training.adversarial`, ``--adv.*``) and the dreams
  (:mod:`world_models.training.rollout`, ``--rollout.*``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from world_models.training.realism import colour_mse

__all__ = ["TrainerPlugin", "CondNoiseArgs", "CondNoisePlugin", "ColourArgs", "ColourPlugin"]


class TrainerPlugin:
    """An addition to the training step, kept off the main path.

    A plug-in owns ``rows`` extra rows of each batch (the first ones, after the previous plug-ins';
    ``rows``: its slice of them), may write their data (``fill``: the sampler's numpy batch, before
    it becomes tensors), may change the conditioning view of the whole batch (``condition``), may
    set its rows' training times and condition dropout (``prepare``), adds a term to the loss
    (``loss``: the term or None, and scalars to log), runs after each optimiser step
    (``after_step``), and, if ``keeps_state``, keeps its state in the checkpoint under ``name``.
    """

    name: str = ""
    rows: int = 0
    keeps_state: bool = False

    def fill(self, batch: dict[str, np.ndarray], rows: slice) -> None:
        """Write this plug-in's rows of the sampler's batch (default: the sampler's transitions)."""

    def condition(self, view: torch.Tensor) -> torch.Tensor:
        """The conditioning views (B, C, H, W) the model is given (default: unchanged)."""
        return view

    def prepare(self, t: torch.Tensor, drop: torch.Tensor | None, rows: slice) -> None:
        """Set this plug-in's rows' training times ``t`` and condition dropout ``drop`` in place."""

    def loss(
        self, loss: torch.Tensor, x1_hat: torch.Tensor, x_1: torch.Tensor, action: torch.Tensor, rows: slice
    ) -> tuple[torch.Tensor | None, dict]:
        """A term added to the process's ``loss`` (None: none) and scalars to log; ``x1_hat``: the
        model's clean-view estimate of the whole batch, ``x_1`` the targets."""
        return None, {}

    def after_step(self, x_1: torch.Tensor, action: torch.Tensor, rows: slice) -> dict[str, float]:
        """Run after each optimiser step; returns scalars to log."""
        return {}

    def distribute(self) -> None:
        """Under torchrun: wrap what the plug-in trains in DistributedDataParallel."""

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, st: dict) -> None:
        """Restore :meth:`state_dict`'s state."""


@dataclass
class CondNoiseArgs:
    """Noise on the conditioning view (drift robustness, as DIAMOND)."""

    noise: float = 0.0
    """max std of Gaussian noise added to the conditioning view: each row draws its std uniformly in [0, max) (0:
    off)"""

    def check(self, a) -> None:
        if not 0 <= self.noise < float("inf"):
            raise SystemExit(f"error: --cond.noise must be a finite number >= 0, got {self.noise}")


class CondNoisePlugin(TrainerPlugin):
    """Adds ``std * N(0, 1)`` to every conditioning view, ``std ~ U[0, max_std)`` per row."""

    name = "cond_noise"

    def __init__(self, max_std: float):
        self.max_std = max_std

    def condition(self, view: torch.Tensor) -> torch.Tensor:
        return view + self.max_std * torch.rand(view.shape[0], 1, 1, 1, device=view.device) * torch.randn_like(view)


@dataclass
class ColourArgs:
    """A loss on the colour of the error (world_models.training.realism.colour_mse)."""

    weight: float = 0.0
    """weight of an extra loss on the colour part of the clean-view estimate's error (the error minus its per-pixel
    channel mean), so that what the model cannot know it gets wrong in brightness, as the map's own grain varies, not in
    colour (0: off)"""

    def check(self, a) -> None:
        if not self.weight >= 0:
            raise SystemExit(f"error: --colour.weight must be >= 0, got {self.weight}")


class ColourPlugin(TrainerPlugin):
    """``weight * colour_mse(x1_hat, x_1)`` over the whole batch."""

    name = "colour"

    def __init__(self, weight: float):
        self.weight = weight

    def loss(self, loss, x1_hat, x_1, action, rows):
        colour = colour_mse(x1_hat, x_1)
        return self.weight * colour, {"losses/colour": colour.detach()}  # read at log steps only
