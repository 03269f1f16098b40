"""Transitions (view_t, action, view_t+1) generated on the fly from a map, through the env's dynamics."""

from __future__ import annotations

import numpy as np
import torch

from worldgen_core import dynamics as dyn
from worldgen_core.world import WorldCore

__all__ = ["TransitionSampler", "to_tensor", "to_uint8"]


def to_tensor(views: np.ndarray, device="cpu") -> torch.Tensor:
    """uint8 (B, H, W, C) -> float32 (B, C, H, W) in [-1, 1]."""
    assert views.ndim == 4 and views.shape[-1] == 3, f"views must be (B, H, W, 3) uint8, got {views.shape}"
    x = torch.from_numpy(np.ascontiguousarray(views)).to(device)
    return x.permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """float (B, C, H, W) in [-1, 1] -> uint8 (B, H, W, C), rounded (what an env returns)."""
    # made contiguous where it lives, so a GPU sends one block of bytes (a strided copy to the host
    # took half the model's time at batch 4096 on an H200)
    return ((x.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).contiguous().cpu().numpy()


class TransitionSampler:
    """Uniformly random positions and actions on the map; next views from ``dynamics.move``.

    Only moves that happen: at the map's edge an action that would leave the map is redrawn. A
    blocked move shows nothing new, and the envs know it exactly (the position does not change, so
    the dream env keeps the view, :func:`worldgen_core.simulator.dream_views`); left in the data, the
    blocked moves (about 1 in 150 on the default map) teach the model to blend every view with a
    copy of itself, a faint ghost that piles up over a dreamed rollout (the view fades). The
    generator state is exposed (``state``) so a resumed training run draws the same batches.
    """

    def __init__(self, core: WorldCore, seed: int = 0):
        if (core.grid < 2).all():
            raise ValueError(f"the map has a single view position (grid {tuple(core.grid)}): there are no moves to learn; use a map larger than one view plus one stride")
        self.core = core
        self.rng = np.random.default_rng(seed)

    def sample(self, n: int) -> dict[str, np.ndarray]:
        g = self.core.grid
        pos = np.stack([self.rng.integers(0, g[0], n), self.rng.integers(0, g[1], n)], 1)
        action = self.rng.integers(0, 4, n)
        nxt = dyn.move(pos, action, g)
        while (blocked := (nxt == pos).all(1)).any():  # redraw the actions of blocked moves
            action[blocked] = self.rng.integers(0, 4, int(blocked.sum()))
            nxt = dyn.move(pos, action, g)
        views = self.core.views(np.concatenate([pos, nxt]))
        return {"view": views[:n], "action": action, "next": views[n:], "pos": pos}

    @property
    def state(self) -> dict:
        return self.rng.bit_generator.state

    @state.setter
    def state(self, s: dict) -> None:
        self.rng.bit_generator.state = s
