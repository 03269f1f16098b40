"""The world: a map image and the task on it (views, moves, rewards, rendering), without Gymnasium.

:class:`WorldCore` is what every layer above shares: the Gymnasium envs (``worldgen_env``), the
world models' training data (``world_models.data``) and the benchmark (``worldbench``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from . import dynamics as dyn
from .world_map import default_map, load_map

__all__ = ["WorldCore"]

_PAD = 8


class WorldCore:
    """The world (map image + task) that the single, vector and dream envs, the world models'
    data and the benchmark share: numpy and Pillow only.

    Holds no episode state: callers keep positions and pass them in, as batches of cells (B, 2).
    """

    def __init__(
        self, map_path: str | Path | None = None, task: dyn.TaskConfig | None = None, world: np.ndarray | None = None
    ):
        self.task = task or dyn.TaskConfig()
        #: the map in words, for messages: its path, "data/world_map.png" (the default) or "a map array"
        self.map_name = (
            "a map array" if world is not None else str(map_path) if map_path is not None else "data/world_map.png"
        )
        v = self.task.view_size
        if world is not None:
            world = np.asarray(world)
            if world.dtype != np.uint8 or world.ndim != 3 or world.shape[2] != 3:
                raise ValueError(f"world must be an (H, W, 3) uint8 array, got {world.dtype} {world.shape}")
        elif map_path is None:
            world = default_map()
        else:
            world = load_map(map_path, min_size=v)
        if world.shape[0] < v or world.shape[1] < v:
            raise ValueError(f"the world ({world.shape[1]}x{world.shape[0]} px) is smaller than one {v}x{v} view")
        self.world = world
        self.windows = dyn.view_windows(world, v)
        self.grid = dyn.grid_shape(world.shape[:2], v, self.task.stride)
        self._min_axis = self.task.min_axis_moves if self.task.goal_out_of_view else 0
        dyn.sample_start_and_goal(
            np.random.default_rng(0), self.grid, self.task.goal_distance, min_axis=self._min_axis
        )  # validates the goal range
        self._minimap = None

    # Pickling and deep copies (planning code copies envs) leave out what is derived from the map:
    # ``windows`` is a strided view into ``world`` that would pickle as every window copied (GBs).
    _DERIVED = ("windows", "_minimap")

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k not in self._DERIVED}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.windows = dyn.view_windows(self.world, self.task.view_size)
        self._minimap = None

    @property
    def fingerprint(self) -> str:
        """A short hash of the map's pixels (and size): which map a model's place field knows.

        >>> a, b = WorldCore(world=np.zeros((200, 240, 3), np.uint8)), WorldCore(world=np.ones((200, 240, 3), np.uint8))
        >>> len(a.fingerprint), a.fingerprint == b.fingerprint
        (16, False)
        """
        if getattr(self, "_fingerprint", None) is None:
            import hashlib

            h = hashlib.sha256(repr(self.world.shape).encode())
            h.update(np.ascontiguousarray(self.world).tobytes())
            self._fingerprint = h.hexdigest()[:16]
        return self._fingerprint

    @property
    def place_grid(self) -> tuple[int, int]:
        """The map's size in cells (rows, cols), the size of a place field over it: every cell some
        view shows (``grid + view / stride - 1`` per axis)."""
        g = self.task.view_size // self.task.stride
        return int(self.grid[0] + g - 1), int(self.grid[1] + g - 1)

    # -- batched task pieces ------------------------------------------------------------------
    def views(self, pos: np.ndarray) -> np.ndarray:
        """True views at cells (B, 2) -> (B, v, v, 3) uint8."""
        return dyn.crop(self.windows, pos, self.task.stride)

    def reset_positions(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        """``n`` (start, goal) pairs, (n, 2) each, drawn from ``rng`` only."""
        return dyn.sample_start_and_goal(rng, self.grid, self.task.goal_distance, n, self._min_axis)

    def placed(self, options: dict | None, pos: np.ndarray, goal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``reset(options={"start": (y, x), "goal": (y, x)})`` of every WorldMap env, single and vector:
        the start and goal cells (n, 2), with either or both put in every sub-env where given, the
        drawn ``pos`` / ``goal`` elsewhere. Pixels of the view's top-left corner, as ``info["agent_pos"]``
        reports them: multiples of the stride inside the map. Raises ``ValueError`` naming a bad option,
        or a start equal to the goal (an episode that would be over before its first step)."""
        if options is None:
            return pos, goal
        if not isinstance(options, dict):
            raise ValueError(
                f"reset options must be a dict such as {{'start': (y, x), 'goal': (y, x)}}, got {options!r}"
            )
        unknown = set(options) - {"start", "goal"}
        if unknown:
            raise ValueError(
                f"unknown reset options {sorted(unknown)}; the env takes 'start' and 'goal' ((y, x) pixels, as "
                "info['agent_pos'])"
            )
        s, out = self.task.stride, []
        for name, drawn in (("start", pos), ("goal", goal)):
            if name not in options:
                out.append(drawn)
                continue
            px = np.asarray(options[name])
            ok = (
                px.shape == (2,)
                and np.issubdtype(px.dtype, np.integer)
                and (px % s == 0).all()
                and ((0 <= px) & (px < self.grid * s)).all()
            )
            if not ok:
                raise ValueError(
                    f"reset option {name!r} must be (y, x) pixels, multiples of {s} with 0 <= y <= "
                    f"{(self.grid[0] - 1) * s} "
                    f"and 0 <= x <= {(self.grid[1] - 1) * s}, got {options[name]!r}"
                )
            out.append(np.repeat((px // s).astype(np.int64).reshape(1, 2), len(drawn), 0))
        pos, goal = out
        same = np.flatnonzero((pos == goal).all(1))
        if len(same):
            raise ValueError(
                f"reset options put the start {tuple((pos[same[0]] * s).tolist())} and the goal "
                f"{tuple((goal[same[0]] * s).tolist())} "
                "at the same place: the episode would be over before its first step; pass a start and a goal that "
                "differ"
            )
        return pos, goal

    def step_positions(self, pos: np.ndarray, goal: np.ndarray, action: np.ndarray):
        """Move and score: returns (new_pos, reward (B,), success (B,), distance (B,))."""
        d0 = dyn.manhattan(pos, goal)
        new = dyn.move(pos, action, self.grid)
        d1 = dyn.manhattan(new, goal)
        reward, success = dyn.reward_and_success(d0, d1, self.task)
        return new, reward, success, d1

    def info(self, pos: np.ndarray, goal: np.ndarray, distance: np.ndarray) -> dict[str, np.ndarray]:
        s = self.task.stride
        return {"agent_pos": pos * s, "goal_pos": goal * s, "distance": distance, "is_success": distance == 0}

    # -- rendering ----------------------------------------------------------------------------
    def render_frame(
        self, view: np.ndarray, goal_view: np.ndarray, pos: np.ndarray, goal: np.ndarray, scale: int = 3
    ) -> np.ndarray:
        """One RGB frame: current view | goal view | minimap with the agent (red) and goal (green)."""
        v, s = self.task.view_size, self.task.stride
        side = v * scale
        if self._minimap is None:
            h, w = self.world.shape[:2]
            mw = max(1, round(side * w / h))
            self._minimap = Image.fromarray(self.world).resize((mw, side), Image.BILINEAR)
        mini = self._minimap.copy()
        k = mini.height / self.world.shape[0]
        d = ImageDraw.Draw(mini)
        for cell, col in ((goal, (40, 200, 60)), (pos, (230, 30, 30))):
            y, x = cell * s * k
            d.rectangle([x, y, x + v * k, y + v * k], outline=col, width=2)
        frame = Image.new("RGB", (4 * _PAD + 2 * side + mini.width, side + 2 * _PAD), (24, 24, 28))
        frame.paste(Image.fromarray(view).resize((side, side), Image.NEAREST), (_PAD, _PAD))
        frame.paste(Image.fromarray(goal_view).resize((side, side), Image.NEAREST), (2 * _PAD + side, _PAD))
        frame.paste(mini, (3 * _PAD + 2 * side, _PAD))
        fd = ImageDraw.Draw(frame)
        fd.text((_PAD + 3, _PAD + 2), "view", fill=(255, 255, 255))
        fd.text((2 * _PAD + side + 3, _PAD + 2), "goal", fill=(255, 255, 255))
        return np.asarray(frame)
