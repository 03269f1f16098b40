"""Transitions (view_t, action, view_t+1) generated on the fly from a map, through the env's dynamics
(:class:`TransitionSampler`), or drawn from recorded episodes (:class:`EpisodeSampler`)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from world_models.episodes import Transitions
from worldgen_core import dynamics as dyn
from worldgen_core.world import WorldCore

__all__ = ["EpisodeSampler", "Seeded", "TransitionSampler", "moves_that_happen", "to_tensor", "to_uint8"]


def to_tensor(views: np.ndarray, device="cpu") -> torch.Tensor:
    """uint8 (B, H, W, C) -> float32 (B, C, H, W) in [-1, 1]."""
    assert views.ndim == 4 and views.shape[-1] == 3, f"views must be (B, H, W, 3) uint8, got {views.shape}"
    x = torch.from_numpy(np.ascontiguousarray(views)).to(device)
    return x.permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """float (B, C, H, W) in [-1, 1] -> uint8 (B, H, W, C), rounded (what an env returns)."""
    # made contiguous where it lives, so a GPU sends one block of bytes (a strided copy to the host
    # took half the model's time at batch 4096 on an H200)
    return (
        ((x.detach().float().clamp(-1, 1) + 1) * 127.5)
        .round()
        .to(torch.uint8)
        .permute(0, 2, 3, 1)
        .contiguous()
        .cpu()
        .numpy()
    )


def moves_that_happen(rng: np.random.Generator, pos: np.ndarray, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Uniform random actions from cells ``pos`` (n, 2), each redrawn while the map's edge blocks it:
    (actions (n,), next cells (n, 2)). A map with a single view position has no such move (the sampler refuses it)."""
    action = rng.integers(0, 4, len(pos))
    nxt = dyn.move(pos, action, grid)
    while (blocked := (nxt == pos).all(1)).any():  # redraw the actions of blocked moves
        action[blocked] = rng.integers(0, 4, int(blocked.sum()))
        nxt = dyn.move(pos, action, grid)
    return action, nxt


class Seeded:
    """A sampler drawing from ``self.rng``: its generator state (``state``), so a resumed run draws the same batches."""

    rng: np.random.Generator

    @property
    def state(self) -> dict:
        return self.rng.bit_generator.state

    @state.setter
    def state(self, s: dict) -> None:
        self.rng.bit_generator.state = s


class TransitionSampler(Seeded):
    """Uniformly random positions and actions on the map(s); next views from ``dynamics.move``.

    ``core`` is one :class:`WorldCore` or a sequence of them (a model for many maps): each
    transition's map is drawn in proportion to its number of view positions, so every position of
    every map is equally likely.

    Only moves that happen: at the map's edge an action that would leave the map is redrawn. A
    blocked move shows nothing new, and the envs know it exactly (the position does not change, so
    the dream env keeps the view, :func:`worldgen_core.simulator.dream_views`); left in the data, the
    blocked moves (about 1 in 150 on the default map) teach the model to blend every view with a
    copy of itself, a faint ghost that piles up over a dreamed rollout (the view fades). The
    generator state is exposed (``state``) so a resumed training run draws the same batches.
    """

    def __init__(self, core: WorldCore | Sequence[WorldCore], seed: int = 0):
        self.cores = list(core) if isinstance(core, (list, tuple)) else [core]
        for c in self.cores:
            if (c.grid < 2).all():
                raise ValueError(
                    f"a map has a single view position (grid {tuple(c.grid)}): there are no moves to learn; use a map "
                    "larger than one view plus one stride"
                )
        sizes = np.array([c.grid.prod() for c in self.cores], np.float64)
        self.weights = sizes / sizes.sum()
        self.core = self.cores[0]
        self.rng = np.random.default_rng(seed)

    def sample(self, n: int) -> dict[str, np.ndarray]:
        if len(self.cores) == 1:
            return self._sample(self.core, n)
        which = self.rng.choice(len(self.cores), size=n, p=self.weights)
        parts = [
            (np.flatnonzero(which == i), self._sample(c, int((which == i).sum())))
            for i, c in enumerate(self.cores)
            if (which == i).any()
        ]
        out = {k: np.empty((n, *v.shape[1:]), v.dtype) for k, v in parts[0][1].items()}
        for idx, part in parts:
            for k, v in part.items():
                out[k][idx] = v
        return out

    def _sample(self, core: WorldCore, n: int) -> dict[str, np.ndarray]:
        g = core.grid
        pos = np.stack([self.rng.integers(0, g[0], n), self.rng.integers(0, g[1], n)], 1)
        action, nxt = moves_that_happen(self.rng, pos, g)
        views = core.views(np.concatenate([pos, nxt]))
        return {"view": views[:n], "action": action, "next": views[n:], "pos": pos, "next_pos": nxt}


class EpisodeSampler(Seeded):
    """Transitions of a dataset drawn uniformly at random (with replacement), in the batches
    :class:`world_models.data.TransitionSampler` draws from a map: ``view``, ``action``, ``next``, and the
    cells ``pos`` and ``next_pos`` (pixels // stride) before and after the move.

    ``keep``: which transitions it may draw (a boolean mask; default all). Only moves that happened: a move
    the map's edge blocked shows nothing new and teaches the model a ghost of the view (see
    ``TransitionSampler``), so it is left out. ``state``: the generator's, for a resumed run."""

    def __init__(self, data: Transitions, stride: int, seed: int = 0, keep: np.ndarray | None = None):
        moved = (data.positions != data.next_positions).any(1)
        self.index = np.flatnonzero(moved if keep is None else moved & keep)
        if not len(self.index):
            raise ValueError(
                f"dataset {data.metadata.get('dataset_id', '')!r} holds no move that happened (every action was "
                "blocked by the map's edge): there is nothing to learn; record more episodes"
            )
        self.data, self.stride = data, stride
        self.rng = np.random.default_rng(seed)

    def sample(self, n: int) -> dict[str, np.ndarray]:
        i = self.index[self.rng.integers(0, len(self.index), n)]
        d = self.data
        return {
            "view": d.views[i],
            "action": d.actions[i],
            "next": d.next_views[i],
            "pos": d.positions[i] // self.stride,
            "next_pos": d.next_positions[i] // self.stride,
        }
