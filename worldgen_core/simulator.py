"""The world-model protocol: what the dream env and the benchmark need from any simulator.

A simulator is stepped as a batch of ``N`` sub-envs (a single env is ``N = 1``)::

    sim.reset(idx, first_views, positions)  # sub-envs idx (k,) start: real first views (k, H, W, 3) uint8,
                                             # their start cells (k, 2) in map coordinates
    views = sim.step(actions, moved)         # actions (N,) int, moved (N,) bool -> next views (N, H, W, 3) uint8
    sim.seed(seed)                           # optional: seeds the simulator's own randomness

The views ``step`` returns may be the simulator's own state: a caller copies them before writing
(the envs do, in :func:`keep_blocked`). ``moved`` says which sub-envs' positions changed (a move the map's edge blocks
does not): a
simulator returns the previous view unchanged where ``moved`` is False (the envs enforce it too,
:func:`keep_blocked`). Stateless simulators (next view from the current view and the action) are
:class:`PredictorSimulator` around a ``predict(views, actions)`` function; a simulator with memory
keeps it per sub-env and clears a sub-env's on ``reset``. ``positions`` are the real start cells:
a learned simulator uses them only as the origin of its own map coordinates (``start + moves``),
an oracle (tests) may read the map there.

:class:`TileMemory` gives a predictor a memory: what the dream has shown, per sub-env, in map
coordinates (start cell + the known motion). Pixels of the next view that were shown before come
from it exactly; only never-seen pixels are generated, and a view that is all remembered skips
the predictor.

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

from .dynamics import ACTION_DELTAS

__all__ = [
    "Simulator",
    "PredictorSimulator",
    "Predictor",
    "TileMemory",
    "keep_blocked",
    "check_simulator",
    "with_rows",
    "dream_views",
]

#: (views uint8 (B, H, W, 3), actions (B,)) -> next views uint8 (B, H, W, 3); a predictor that knows
#: its map by place (a :class:`PredictorSimulator` with ``place=True``) also takes the next views'
#: cells (B, 2) as a third argument
Predictor = Callable[..., np.ndarray]


@runtime_checkable
class Simulator(Protocol):
    """Anything with ``reset(idx, first_views, positions)`` and ``step(actions, moved) -> views``."""

    def reset(self, idx: np.ndarray, first_views: np.ndarray, positions: np.ndarray) -> None: ...

    def step(self, actions: np.ndarray, moved: np.ndarray) -> np.ndarray: ...


def check_simulator(sim) -> None:
    """A clear error for an object that does not implement :class:`Simulator`."""
    if not isinstance(sim, Simulator):
        raise TypeError(
            f"model must implement the simulator protocol (reset(idx, first_views, positions) and "
            f"step(actions, moved) -> views; see worldgen_core.simulator), got {type(sim).__name__}"
        )


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


def dream_views(
    predict, prev_pos: np.ndarray, pos: np.ndarray, prev_views: np.ndarray, action: np.ndarray, place: bool = False
) -> np.ndarray:
    """The next views of a batch of dreams: ``predict(views, actions)`` where the agent moved, the
    previous view where the map's edge blocked the move (the position, hence the view, is unchanged).

    ``prev_pos``, ``pos`` (B, 2) cells, ``prev_views`` (B, H, W, 3) uint8, ``action`` (B,) -> a fresh
    (B, H, W, 3) uint8 array (``prev_views`` is not written to). The model is called on the moved
    rows only, and not at all when none moved; ``place``: also given the next views' cells.
    """
    assert prev_pos.shape == pos.shape == (len(prev_views), 2), (
        f"positions must be ({len(prev_views)}, 2), got {prev_pos.shape} and {pos.shape}"
    )
    views = prev_views.copy()
    moved = (pos != prev_pos).any(1)  # (B,)
    if moved.any():
        views[moved] = predict(prev_views[moved], action[moved], *((pos[moved],) if place else ()))
    return views


class TileMemory:
    """What each sub-env's dream has shown, in map coordinates: a ring canvas of cell-sized tiles.

    Views move by whole cells (``stride`` pixels), so a view at cell ``(r, c)`` is an aligned
    ``g x g`` grid of ``stride x stride`` tiles (``g = view / stride``), the tiles of cells
    ``(r .. r+g-1, c .. c+g-1)``. Each sub-env has ``cells x cells`` tile slots: the tile of cell
    ``(r, c)`` lives in slot ``(r mod cells, c mod cells)`` tagged ``(r, c)``, and a lookup hits only
    where the tag matches. Memory is bounded (``cells**2 * stride**2 * 3`` bytes per sub-env, 1 MB
    at the defaults): a dream that walks more than ``cells - g`` cells away overwrites its oldest
    content there, which is then generated anew.

    Slots are stored flat (one row of ``stride * stride * 3`` bytes per slot, one int64 tag per
    slot), so a step gathers and scatters whole tiles with one index array.
    :meth:`locate` computes a batch of views' slots once; ``known``, ``recall`` and ``write`` take
    either those or ``(idx, pos)``.

    >>> mem = TileMemory(stride=2, cells=8)
    >>> view = np.arange(4 * 4 * 3, dtype=np.uint8).reshape(1, 4, 4, 3)
    >>> mem.reset(np.array([0]), view, np.array([[5, 5]]))
    >>> out, known = mem.recall(np.array([0]), np.array([[5, 6]]), np.zeros_like(view))   # one cell right
    >>> known[0].astype(int).tolist()                     # its left column of tiles was shown
    [[1, 0], [1, 0]]
    >>> bool((out[0, :, :2] == view[0, :, 2:]).all())      # ... and comes back exactly
    True
    """

    EMPTY = np.iinfo(np.int64).min

    def __init__(self, stride: int, cells: int = 72):
        if stride < 1 or cells < 1:
            raise ValueError(f"stride and cells must be >= 1, got {stride}, {cells}")
        self.stride, self.cells = int(stride), int(cells)
        self.tiles: np.ndarray | None = None  # (N * S * S, s * s * 3) uint8: slot (n, r mod S, c mod S) of sub-env n
        self.tags: np.ndarray | None = (
            None  # (N * S * S,) int64: the cell each slot holds, as (r << 32) | c (EMPTY: none)
        )

    def _grid(self, views: np.ndarray) -> int:
        h, w = views.shape[1:3]
        if h != w or h % self.stride:
            raise ValueError(
                f"TileMemory needs square views whose side is a multiple of the stride {self.stride}, got {h}x{w}"
            )
        if h // self.stride > self.cells:
            raise ValueError(
                f"TileMemory with {self.cells} cells cannot hold a {h // self.stride}-cell view; use cells >= "
                f"{h // self.stride}"
            )
        return h // self.stride

    def locate(self, idx: np.ndarray, pos: np.ndarray, g: int) -> tuple[np.ndarray, np.ndarray]:
        """The flat slots (k, g, g) of the ``g x g``-cell views of sub-envs ``idx`` (k,) at cells
        ``pos`` (k, 2), and the tags (k, g, g) of the cells they show."""
        S = self.cells
        idx, pos = np.asarray(idx, np.int64), np.asarray(pos, np.int64)
        r = pos[:, :1] + np.arange(g)  # (k, g) rows
        c = pos[:, 1:] + np.arange(g)  # (k, g) cols
        slots = (idx[:, None, None] * S + (r % S)[:, :, None]) * S + (c % S)[:, None, :]  # (k, g, g)
        tags = (r[:, :, None] << 32) | (c[:, None, :] & 0xFFFFFFFF)  # (k, g, g)
        return slots, tags

    def _at(self, idx, pos, views_or_g, at):
        if at is not None:
            return at
        g = views_or_g if isinstance(views_or_g, int) else self._grid(views_or_g)
        return self.locate(idx, pos, g)

    def _as_tiles(self, views: np.ndarray, g: int) -> np.ndarray:
        k, s = len(views), self.stride
        return (
            views.reshape(k, g, s, g, s, 3).transpose(0, 1, 3, 2, 4, 5).reshape(k, g, g, s * s * 3)
        )  # (k, g, g, s*s*3)

    def _as_views(self, tiles: np.ndarray) -> np.ndarray:
        k, g, s = len(tiles), tiles.shape[1], self.stride
        return tiles.reshape(k, g, g, s, s, 3).transpose(0, 1, 3, 2, 4, 5).reshape(k, g * s, g * s, 3)  # (k, H, W, 3)

    def reset(self, idx: np.ndarray, views: np.ndarray, pos: np.ndarray) -> None:
        """Forget sub-envs ``idx`` (k,), then remember their first ``views`` (k, H, W, 3) at cells ``pos`` (k, 2)."""
        self._grid(views)  # checks the view fits the memory
        per = self.cells * self.cells
        n = int(np.max(idx, initial=-1)) + 1
        old = 0 if self.tiles is None else len(self.tiles) // per
        if n > old:
            tiles = np.zeros((n * per, self.stride * self.stride * 3), np.uint8)
            tags = np.full(n * per, self.EMPTY, np.int64)
            if old:
                tiles[: old * per], tags[: old * per] = self.tiles, self.tags
            self.tiles, self.tags = tiles, tags
        self.tags.reshape(-1, per)[np.asarray(idx)] = self.EMPTY
        self.write(idx, views, pos)

    def write(self, idx: np.ndarray, views: np.ndarray, pos: np.ndarray, at=None) -> None:
        """Remember ``views`` (k, H, W, 3) uint8 shown by sub-envs ``idx`` (k,) at cells ``pos`` (k, 2)
        (``at``: their :meth:`locate`, if already computed)."""
        g = self._grid(views)
        self._store(*self._at(idx, pos, g, at), self._as_tiles(views, g))

    def write_cells(self, i: int, cells: np.ndarray, tiles: np.ndarray) -> None:
        """Remember, in sub-env ``i`` (after its :meth:`reset`), the tiles (k, stride, stride, 3) uint8 of cells
        ``cells`` (k, 2) (e.g. what an agent saw of the map before its dream began). Cells more than ``cells``
        apart share slots: the later one is kept."""
        cells = np.asarray(cells, np.int64).reshape(-1, 2)
        S, r, c = self.cells, cells[:, 0], cells[:, 1]
        slots = (int(i) * S + r % S) * S + c % S
        self._store(slots, (r << 32) | (c & 0xFFFFFFFF), np.asarray(tiles, np.uint8).reshape(len(cells), -1))

    def _store(self, slots: np.ndarray, tags: np.ndarray, tiles: np.ndarray) -> None:
        """Put ``tiles`` (k, g, g, s*s*3) into ``slots`` (k, g, g), tagged with their cells ``tags``."""
        self.tiles[slots.ravel()] = tiles.reshape(-1, self.tiles.shape[1])
        self.tags[slots.ravel()] = tags.ravel()

    def known(self, idx: np.ndarray, pos: np.ndarray, g: int, at=None) -> np.ndarray:
        """(k, g, g) bool: which tiles of the views of sub-envs ``idx`` at cells ``pos`` were shown before."""
        slots, tags = self._at(idx, pos, g, at)
        return self.tags[slots] == tags

    def recall(
        self, idx: np.ndarray, pos: np.ndarray, views: np.ndarray, at=None, write: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """``views`` (k, H, W, 3) with every remembered tile put back exactly (a fresh array), and the
        (k, g, g) mask of the tiles that were remembered. ``write``: also remember the result (the
        same as a :meth:`write` of it afterwards, without tiling the views twice)."""
        g = self._grid(views)
        slots, tags = self._at(idx, pos, g, at)
        known = self.tags[slots] == tags  # (k, g, g)
        tiles = self._as_tiles(views, g)  # (k, g, g, s*s*3): a copy, unless a view is a single tile
        if np.shares_memory(tiles, views):
            tiles = tiles.copy()  # never write into the caller's views
        tiles[known] = self.tiles[slots[known]]
        if write:
            self._store(slots, tags, tiles)
        return self._as_views(tiles), known


class PredictorSimulator:
    """A next-view predictor as a :class:`Simulator`: it keeps the current views, and with a
    ``memory`` (:class:`TileMemory`) what it has shown.

    ``predict`` is called once per step, on the rows that moved only (not at all when none did;
    with a memory, not on rows whose next view is all remembered). With a memory, the simulator
    follows each sub-env's cell (start + the known motion of the moves that happened), puts every
    remembered tile into the predicted view and remembers the result, so a revisit shows exactly
    the pixels shown before, and the next prediction is conditioned on them.
    ``seed_fn``, if given, receives :meth:`seed`'s argument (a model's noise generator).
    ``place``: ``predict(views, actions, cells)`` also receives the next views' cells (k, 2) (a
    model with a place field knows what is there); the simulator follows each sub-env's cell.
    """

    def __init__(
        self,
        predict: Predictor,
        seed_fn: Callable[[int], None] | None = None,
        memory: TileMemory | None = None,
        place: bool = False,
    ):
        self.predict, self.seed_fn, self.memory, self.place = predict, seed_fn, memory, bool(place)
        self.views: np.ndarray | None = None  # (N, H, W, 3) the views last returned
        self.pos: np.ndarray | None = None  # (N, 2) each sub-env's cell (with a memory or place)

    def seed(self, seed: int) -> None:
        if self.seed_fn is not None:
            self.seed_fn(int(seed))

    def reset(self, idx: np.ndarray, first_views: np.ndarray, positions: np.ndarray) -> None:
        self.views = with_rows(self.views, idx, first_views.shape[1:], np.uint8)
        self.views[idx] = first_views
        if self.memory is not None or self.place:
            self.pos = with_rows(self.pos, idx, (2,), np.int64)
            self.pos[idx] = positions
        if self.memory is not None:
            self.memory.reset(idx, first_views, positions)

    @property
    def can_remember(self) -> bool:
        """Whether :meth:`remember` works (the simulator has a memory)."""
        return self.memory is not None

    def remember(self, idx: np.ndarray, views: np.ndarray, positions: np.ndarray) -> None:
        """Put known ``views`` (k, H, W, 3) at cells ``positions`` (k, 2) into the memory of sub-envs
        ``idx`` (e.g. the goal view at the goal's cell), after their ``reset``."""
        if self.memory is None:
            raise ValueError(
                "remember() needs a simulator with a memory (PredictorSimulator(..., memory=TileMemory(...)))"
            )
        self.memory.write(np.asarray(idx), views, positions)

    def remember_cells(self, i: int, cells: np.ndarray, tiles: np.ndarray) -> None:
        """Put known cell tiles (k, stride, stride, 3) at cells ``cells`` (k, 2) into sub-env ``i``'s memory
        (:meth:`TileMemory.write_cells`), after its ``reset``."""
        if self.memory is None:
            raise ValueError("remember_cells() needs a simulator with a memory")
        self.memory.write_cells(i, cells, tiles)

    def step(self, actions: np.ndarray, moved: np.ndarray) -> np.ndarray:
        assert self.views is not None, "reset() before step()"
        actions = np.asarray(actions)
        m = np.flatnonzero(moved)  # (k,) the sub-envs that moved
        views = (
            np.empty_like(self.views) if len(m) == len(self.views) else self.views.copy()
        )  # every row is written below
        if self.pos is not None and len(m):
            self.pos[m] += ACTION_DELTAS[actions[m]]
        cells = (
            (lambda rows: (self.pos[rows],)) if self.place else (lambda rows: ())
        )  # the place-aware predictor's third argument
        if self.memory is None:
            if len(m):
                views[m] = self.predict(self.views[m], actions[m], *cells(m))
        elif len(m):
            mem, g = self.memory, views.shape[1] // self.memory.stride
            pos = self.pos[m]
            at = mem.locate(m, pos, g)  # the next views' slots, computed once
            new = ~mem.known(m, pos, g, at=at).all((1, 2))  # (k,) views with tiles never shown
            nxt = self.views[m]  # (k, H, W, 3) a fresh copy; all-remembered rows are filled in by recall
            if new.any():
                nxt[new] = self.predict(self.views[m[new]], actions[m[new]], *cells(m[new]))
            views[m], _ = mem.recall(m, pos, nxt, at=at, write=True)  # remembered tiles put back, the result remembered
        self.views = views
        return views  # the simulator's own next state: the envs copy it (keep_blocked) before handing it out
