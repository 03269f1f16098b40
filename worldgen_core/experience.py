"""What an agent has seen of a map: the pixels of every view the real env showed it, in map coordinates.

A model-based agent learns the world from its own experience: it never has the map image, only the
views of its episodes (each step's view and each episode's goal picture) at the places ``info["agent_pos"]``
says. :class:`Experience` gathers them into a canvas of the map with a mask of the cells they cover;
:class:`ExperienceCore` is that canvas as a :class:`~worldgen_core.world.WorldCore` whose episodes start
and end only at places whose whole view was seen (the dream of a model-based agent: its first views and
goal pictures are real, as in DIAMOND, and never show a place the agent has not seen).

>>> import numpy as np
>>> from worldgen_core.world import WorldCore
>>> world = WorldCore(world=np.random.default_rng(0).integers(0, 255, (128, 160, 3), np.uint8))
>>> seen = Experience.of(world)
>>> seen.add(world.views(np.array([[0, 0], [0, 1]])), np.array([[0, 0], [0, 1]]))
>>> int(seen.cells.sum()), seen.known_views().sum().item()   # 8x9 cells; the two views' places
(72, 2)
"""

from __future__ import annotations

import numpy as np

from . import dynamics as dyn
from .world import WorldCore

__all__ = ["Experience", "ExperienceCore"]


class Experience:
    """The views an agent was shown of one map, as a canvas (H, W, 3) uint8 and the cells (rows, cols) bool of
    ``place_grid`` they cover; a cell never shown is black on the canvas and False in ``cells``.

    ``map_size`` (H, W) pixels, ``task`` (view size and stride), ``fingerprint`` and ``map_name``: the map's,
    which a world model and a report use to know which map this is (the canvas is not the map's pixels)."""

    def __init__(self, map_size: tuple[int, int], task: dyn.TaskConfig, fingerprint: str, map_name: str):
        h, w = (int(n) for n in map_size)
        self.task, self.fingerprint, self.map_name = task, str(fingerprint), str(map_name)
        self.canvas = np.zeros((h, w, 3), np.uint8)
        self.grid = dyn.grid_shape((h, w), task.view_size, task.stride)  # (rows, cols) of view positions
        g = task.view_size // task.stride
        self.cells = np.zeros((int(self.grid[0]) + g - 1, int(self.grid[1]) + g - 1), bool)
        self._tiles = None  # the canvas as tiles, made when first needed (window) and dropped by add

    @classmethod
    def of(cls, core: WorldCore) -> "Experience":
        """An empty experience of ``core``'s map (its size, task, fingerprint and name; not its pixels)."""
        return cls(core.world.shape[:2], core.task, core.fingerprint, core.map_name)

    def add(self, views: np.ndarray, pos: np.ndarray) -> None:
        """Remember ``views`` (B, v, v, 3) uint8 the real env showed at cells ``pos`` (B, 2)."""
        views, pos = np.asarray(views), np.asarray(pos, np.int64)
        v, s = self.task.view_size, self.task.stride
        if views.shape != (len(pos), v, v, 3) or views.dtype != np.uint8:
            raise ValueError(f"views must be ({len(pos)}, {v}, {v}, 3) uint8, got {views.dtype} {views.shape}")
        if len(pos) and ((pos < 0) | (pos >= self.grid)).any():
            raise ValueError(f"positions must be cells inside the map's grid {self.grid.tolist()}")
        g = v // s
        self._tiles = None
        for view, (r, c) in zip(views, pos):
            self.canvas[r * s : r * s + v, c * s : c * s + v] = view
            self.cells[r : r + g, c : c + g] = True

    def known_views(self) -> np.ndarray:
        """(rows, cols) bool of ``grid``: the view positions whose every cell was seen."""
        g = self.task.view_size // self.task.stride
        win = np.lib.stride_tricks.sliding_window_view(self.cells, (g, g))  # (rows, cols, g, g)
        return win.all((2, 3))

    def tiles(self) -> np.ndarray:
        """The canvas as cell tiles (rows, cols, stride, stride, 3) of ``cells``' shape (a copy)."""
        s = self.task.stride
        r, c = self.cells.shape
        return self.canvas[: r * s, : c * s].reshape(r, s, c, s, 3).transpose(0, 2, 1, 3, 4).copy()

    def core(self, task: dyn.TaskConfig | None = None) -> "ExperienceCore":
        """The world as experienced (:class:`ExperienceCore`), with ``task``'s goals and rewards (default: the
        experience's)."""
        return ExperienceCore(self, task)

    def window(self, center: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray]:
        """The seen cells (k, 2) of the ``side x side`` square of cells centred on the view at cell ``center``
        (2,), and their tiles (k, stride, stride, 3): what a bounded memory can hold around a start."""
        g = self.task.view_size // self.task.stride
        shape = np.array(self.cells.shape)
        lo = np.clip(np.asarray(center, np.int64) + g // 2 - side // 2, 0, np.maximum(shape - side, 0))
        hi = np.minimum(lo + side, shape)
        cells = np.argwhere(self.cells[lo[0] : hi[0], lo[1] : hi[1]]) + lo
        if self._tiles is None:
            self._tiles = self.tiles()
        return cells, self._tiles[cells[:, 0], cells[:, 1]]


class ExperienceCore(WorldCore):
    """A :class:`WorldCore` of what an agent has seen: the canvas is its world, starts and goals are drawn as the task
    draws them but only at places whose whole view was seen (``Experience.known_views``), and its fingerprint and
    name are the real map's. The rest (moves, rewards, success) is the task's, exactly."""

    def __init__(self, experience: Experience, task: dyn.TaskConfig | None = None):
        task = task or experience.task
        if (task.view_size, task.stride) != (experience.task.view_size, experience.task.stride):
            raise ValueError(
                f"the task's {task.view_size}-px views moved by {task.stride} px are not the experience's "
                f"({experience.task.view_size} and {experience.task.stride})"
            )
        super().__init__(task=task, world=experience.canvas)
        self.experience = experience
        self.map_name = experience.map_name
        self._fingerprint = experience.fingerprint
        self.allowed = experience.known_views()
        if not self.allowed.any():
            raise ValueError("the experience holds no whole view: record episodes (Experience.add) first")

    def reset_positions(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        return dyn.sample_start_and_goal(
            rng, self.grid, self.task.goal_distance, n, self._min_axis, allowed=self.allowed
        )
