"""Episodes stepped through the simulator protocol exactly as ``DreamWorldMap-v0`` steps them.

Every runner returns the true and the simulated views of a batch of episodes, ``(n, T+1, H, W, 3)``
uint8 each (index 0: the real first view both start from), from fixed seeds: the start cells and
actions from ``numpy.random.default_rng(seed)``, the simulator's own noise from ``sim.seed(seed)``.
A move the map's edge blocks keeps the view, as in the envs. A simulator is given copies of the true
first views and must return uint8 views (:func:`worldgen_env.dream.checked_views`, as the dream env checks them).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from worldgen_core import dynamics as dyn
from worldgen_core.simulator import Simulator, keep_blocked
from worldgen_core.world import WorldCore
from worldgen_env.dream import checked_views

__all__ = ["run_episodes", "transitions", "open_loop", "line_loops", "square_loops"]


def run_episodes(
    make: Callable[[], Simulator],
    core: WorldCore,
    starts: np.ndarray,
    actions: np.ndarray,
    seed: int = 0,
    batch: int = 256,
) -> tuple[np.ndarray, np.ndarray]:
    """Step ``n`` episodes from cells ``starts`` (n, 2) under ``actions`` (n, T): (true, simulated).

    Runs ``batch`` episodes at a time as the sub-envs of one fresh simulator ``make()`` (one
    batched call per step).
    """
    starts, actions = np.asarray(starts, np.int64), np.asarray(actions, np.int64)
    true_all, fake_all = [], []
    for lo in range(0, len(starts), batch):
        pos, acts = starts[lo : lo + batch], actions[lo : lo + batch]
        sim = make()
        if hasattr(sim, "seed"):
            sim.seed(seed + lo)
        view = core.views(pos)
        sim.reset(np.arange(len(pos)), view.copy(), pos.copy())  # the simulator's own copies: it may write into them
        true, fake = [view], [view]
        for t in range(acts.shape[1]):
            new = dyn.move(pos, acts[:, t], core.grid)
            moved = (new != pos).any(1)
            fake.append(keep_blocked(fake[-1], checked_views(sim.step(acts[:, t], moved), view.shape, sim), moved))
            pos = new
            true.append(core.views(pos))
        true_all.append(np.stack(true, 1))
        fake_all.append(np.stack(fake, 1))
    return np.concatenate(true_all), np.concatenate(fake_all)


def transitions(core: WorldCore, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` one-step episodes whose move happens: (starts (n, 2), actions (n, 1))."""
    rng = np.random.default_rng(seed)
    starts = np.stack([rng.integers(0, core.grid[0], n), rng.integers(0, core.grid[1], n)], 1)
    act = rng.integers(0, 4, n)
    while (blocked := (dyn.move(starts, act, core.grid) == starts).all(1)).any():
        act[blocked] = rng.integers(0, 4, int(blocked.sum()))
    return starts, act[:, None]


def open_loop(core: WorldCore, n: int, horizon: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random starts and ``horizon`` random actions each: (starts (n, 2), actions (n, horizon))."""
    rng = np.random.default_rng(seed)
    starts = np.stack([rng.integers(0, core.grid[0], n), rng.integers(0, core.grid[1], n)], 1)
    return starts, rng.integers(0, 4, (n, horizon))


_OPPOSITE = np.array([dyn.DOWN, dyn.UP, dyn.RIGHT, dyn.LEFT])


def _starts_fitting(core: WorldCore, rng, n: int, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Uniform cells with ``lo <= cell < grid - hi`` per axis (so a loop never meets the map's edge)."""
    top = core.grid - hi
    if (top <= lo).any():
        raise ValueError(f"a loop or walk of this size does not fit in the map's grid {core.grid.tolist()}")
    return np.stack([rng.integers(lo[0], top[0], n), rng.integers(lo[1], top[1], n)], 1)


def straight_walks(core: WorldCore, n: int, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``k`` moves in one direction (directions cycle through the four; no move is blocked):
    (starts (n, 2), actions (n, k)). Every move reveals a strip next to the last one invented."""
    rng = np.random.default_rng(seed)
    d = np.arange(n) % 4
    starts = np.empty((n, 2), np.int64)
    for a in range(4):
        idx = np.flatnonzero(d == a)
        delta = dyn.ACTION_DELTAS[a] * k
        starts[idx] = _starts_fitting(core, rng, len(idx), np.maximum(-delta, 0), np.maximum(delta, 0))
    return starts, np.repeat(d[:, None], k, 1)


def line_loops(core: WorldCore, n: int, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``k`` moves in one direction and ``k`` back (directions cycle through the four):
    (starts (n, 2), actions (n, 2k)); turning point at step k, back at the start at step 2k."""
    starts, out = straight_walks(core, n, k, seed)
    return starts, np.concatenate([out, np.repeat(_OPPOSITE[out[:, :1]], k, 1)], 1)


def square_loops(core: WorldCore, n: int, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``k`` up, ``k`` right, ``k`` down, ``k`` left: (starts (n, 2), actions (n, 4k)); the far
    corner at step 2k, back at the start at step 4k."""
    rng = np.random.default_rng(seed)
    starts = _starts_fitting(core, rng, n, np.array([k, 0]), np.array([0, k]))
    seq = np.repeat(np.array([dyn.UP, dyn.RIGHT, dyn.DOWN, dyn.LEFT]), k)
    return starts, np.repeat(seq[None], n, 0)
