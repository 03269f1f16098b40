"""The world-model protocol: what the dream env and the benchmark need from any simulator.

A simulator is stepped as a batch of ``N`` sub-envs (a single env is ``N = 1``)::

    sim.reset(idx, first_views, positions)  # sub-envs idx (k,) start: real first views (k, H, W, 3) uint8,
                                             # their start cells (k, 2) in map coordinates
    views = sim.step(actions, moved)         # actions (N,) int, moved (N,) bool -> next views (N, H, W, 3) uint8
    sim.seed(seed)                           # optional: seeds the simulator's own randomness

``moved`` says which sub-envs' positions changed (a move the map's edge blocks does not): a
simulator returns the previous view unchanged where ``moved`` is False (the envs enforce it too,
:func:`keep_blocked`). Stateless simulators (next view from the current view and the action) are
:class:`PredictorSimulator` around a ``predict(views, actions)`` function; a simulator with memory
keeps it per sub-env and clears a sub-env's on ``reset``. ``positions`` are the real start cells:
a learned simulator uses them only as the origin of its own map coordinates (``start + moves``),
an oracle (tests) may read the map there.

numpy only: no torch, no Gymnasium. ``DreamWorldMap-v0(model=sim)`` dreams with any simulator;
``DreamWorldMap-v0(checkpoint=path)`` wraps a ``train_world.py`` checkpoint in a
:class:`PredictorSimulator`.

>>> import numpy as np
>>> sim = PredictorSimulator(lambda views, actions: 255 - views)   # a toy "model": invert the view
>>> sim.reset(np.arange(2), np.zeros((2, 4, 4, 3), np.uint8), np.zeros((2, 2), np.int64))
>>> out = sim.step(np.array([3, 0]), np.array([True, False]))
>>> int(out[0].max()), int(out[1].max())                          # the blocked sub-env keeps its view
(255, 0)
"""

from __future__ import annotations

from typing import Callable, Protocol, runtime_checkable

import numpy as np

__all__ = ["Simulator", "PredictorSimulator", "Predictor", "keep_blocked", "check_simulator", "with_rows"]

#: (views uint8 (B, H, W, 3), actions (B,)) -> next views uint8 (B, H, W, 3)
Predictor = Callable[[np.ndarray, np.ndarray], np.ndarray]


@runtime_checkable
class Simulator(Protocol):
    """Anything with ``reset(idx, first_views, positions)`` and ``step(actions, moved) -> views``."""

    def reset(self, idx: np.ndarray, first_views: np.ndarray, positions: np.ndarray) -> None: ...

    def step(self, actions: np.ndarray, moved: np.ndarray) -> np.ndarray: ...


def check_simulator(sim) -> None:
    """A clear error for an object that does not implement :class:`Simulator`."""
    if not isinstance(sim, Simulator):
        raise TypeError(f"model must implement the simulator protocol (reset(idx, first_views, positions) and "
                        f"step(actions, moved) -> views; see worldgen_env.simulator), got {type(sim).__name__}")


def with_rows(state: np.ndarray | None, idx: np.ndarray, row_shape: tuple, dtype) -> np.ndarray:
    """Per-sub-env state with a row for every index in ``idx`` (grown with zeros as needed).

    >>> with_rows(None, np.array([0, 2]), (2,), np.int64).shape
    (3, 2)
    """
    n = int(np.max(idx, initial=-1)) + 1
    if state is not None and n <= len(state):
        return state
    grown = np.zeros((max(n, 0 if state is None else len(state)), *row_shape), dtype)
    if state is not None:
        grown[: len(state)] = state
    return grown


def keep_blocked(prev_views: np.ndarray, next_views: np.ndarray, moved: np.ndarray) -> np.ndarray:
    """``next_views`` with the rows that did not move replaced by ``prev_views`` (a fresh array)."""
    out = np.array(next_views, dtype=np.uint8, copy=True)
    out[~moved] = prev_views[~moved]
    return out


class PredictorSimulator:
    """A stateless next-view predictor as a :class:`Simulator`: it keeps the current views.

    ``predict`` is called once per step, on the rows that moved only (not at all when none did).
    ``seed_fn``, if given, receives :meth:`seed`'s argument (a model's noise generator).
    """

    def __init__(self, predict: Predictor, seed_fn: Callable[[int], None] | None = None):
        self.predict, self.seed_fn = predict, seed_fn
        self.views: np.ndarray | None = None  # (N, H, W, 3) the views last returned

    def seed(self, seed: int) -> None:
        if self.seed_fn is not None:
            self.seed_fn(int(seed))

    def reset(self, idx: np.ndarray, first_views: np.ndarray, positions: np.ndarray) -> None:
        self.views = with_rows(self.views, idx, first_views.shape[1:], np.uint8)
        self.views[idx] = first_views

    def step(self, actions: np.ndarray, moved: np.ndarray) -> np.ndarray:
        assert self.views is not None, "reset() before step()"
        views = self.views.copy()
        if moved.any():
            views[moved] = self.predict(self.views[moved], np.asarray(actions)[moved])
        self.views = views
        return views.copy()
