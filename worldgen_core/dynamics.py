"""The task and the motion of WorldMap, written once as plain batched numpy functions.

Every env (the single ``WorldMapEnv``, the batched ``WorldMapVectorEnv`` and the dream envs) and
the world-model data pipeline call these, so the real and the dreamed world can differ only in
their pixels.

Positions are integer grid cells ``(row, col)``; a cell is ``stride`` pixels, so the view's
top-left pixel is ``cell * stride``. Batched arrays have a leading batch axis ``B``.

>>> import numpy as np
>>> grid = np.array([10, 20])                       # rows, cols of valid cells
>>> move(np.array([[0, 5], [3, 3]]), np.array([UP, RIGHT]), grid)   # UP at row 0 is blocked
array([[0, 5],
       [3, 4]])
>>> manhattan(np.array([[0, 0]]), np.array([[2, 3]]))
array([5])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "UP",
    "DOWN",
    "LEFT",
    "RIGHT",
    "ACTION_NAMES",
    "ACTION_DELTAS",
    "MAX_EPISODE_STEPS",
    "TASKS",
    "TaskConfig",
    "as_int",
    "grid_shape",
    "move",
    "revealed_cells",
    "revealed_masks",
    "view_windows",
    "crop",
    "manhattan",
    "sample_start_and_goal",
    "reward_and_success",
]

UP, DOWN, LEFT, RIGHT = 0, 1, 2, 3
ACTION_NAMES = ("up", "down", "left", "right")
#: Registered episode length (truncation) of WorldMap-v0 and DreamWorldMap-v0.
MAX_EPISODE_STEPS = 32
#: (d_row, d_col) of each action, in cells.
ACTION_DELTAS = np.array([[-1, 0], [1, 0], [0, -1], [0, 1]], dtype=np.int64)


@dataclass(frozen=True)
class TaskConfig:
    """What the agent sees and must do. Shared by the real, vector and dream envs.

    Attributes:
        view_size: side of the square view in pixels.
        stride: pixels moved per action (the size of one grid cell).
        goal_distance: inclusive (min, max) number of moves between start and goal.
        step_penalty: reward added on every step (negative: a cost).
        success_reward: reward added on the step that reaches the goal.
        shaping: if non-zero, adds ``shaping * (d_before - d_after)`` each step (potential-based,
            so it does not change the optimal policy).
        goal_out_of_view: if True, the goal view never overlaps the start view (the goal is at
            least ``view_size`` pixels away along one axis): the agent must move through content it
            has not seen (and a dream must invent or remember it).
    """

    view_size: int = 64
    stride: int = 8
    goal_distance: tuple[int, int] = (3, 7)
    step_penalty: float = -0.01
    success_reward: float = 1.0
    shaping: float = 0.0
    goal_out_of_view: bool = False

    def __post_init__(self):
        set_ = object.__setattr__  # frozen: normalise the validated values once, here
        set_(self, "view_size", as_int("view_size", self.view_size, 1))
        set_(self, "stride", as_int("stride", self.stride, 1))
        g = self.goal_distance
        if isinstance(g, (str, bytes)) or not hasattr(g, "__len__") or len(g) != 2:
            raise ValueError(
                f"goal_distance must be a (min, max) pair of moves, e.g. (3, 7), or (5, 5) for exactly 5; got {g!r}"
            )
        lo, hi = as_int("goal_distance min", g[0], 1), as_int("goal_distance max", g[1], 1)
        if not lo <= hi:
            raise ValueError(f"goal_distance must be (min, max) with 1 <= min <= max, got {g!r}")
        set_(self, "goal_distance", (lo, hi))
        if not isinstance(self.goal_out_of_view, (bool, np.bool_)):
            raise ValueError(f"goal_out_of_view must be True or False, got {self.goal_out_of_view!r}")
        if self.goal_out_of_view and hi < self.min_axis_moves:
            raise ValueError(
                f"goal_out_of_view needs goals at least {self.min_axis_moves} moves away along one axis "
                f"(view {self.view_size} px / stride {self.stride} px), but goal_distance is {(lo, hi)}"
            )
        for name in ("step_penalty", "success_reward", "shaping"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float, np.number)) or not np.isfinite(v):
                raise ValueError(f"{name} must be a finite number, got {v!r}")
            set_(self, name, float(v))


def _min_axis_moves(task: TaskConfig) -> int:
    return -(-task.view_size // task.stride)


TaskConfig.min_axis_moves = property(
    _min_axis_moves, doc="Moves along one axis after which two views no longer overlap."
)

#: Named tasks (env keyword arguments and episode length). ``near``: the goal is always in view at
#: the start, so an agent can solve it by matching pictures (and a dream by copying); ``far``: the
#: goal view never overlaps the start view, so the agent must travel through unseen content.
TASKS = {
    "near": {"goal_distance": (3, 7), "goal_out_of_view": False, "max_episode_steps": MAX_EPISODE_STEPS},
    "far": {"goal_distance": (8, 12), "goal_out_of_view": True, "max_episode_steps": 64},
}


def as_int(name: str, value, lo: int | None = None) -> int:
    """``value`` as an int if it is one (an integral float such as 64.0 too), else a ValueError naming ``name``."""
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if not ok and isinstance(value, (float, np.floating)) and float(value).is_integer():
        ok = True
    if not ok:
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    value = int(value)
    if lo is not None and value < lo:
        raise ValueError(f"{name} must be >= {lo}, got {value}")
    return value


def grid_shape(map_hw: tuple[int, int], view_size: int, stride: int) -> np.ndarray:
    """Number of valid cells ``(rows, cols)`` for a map of ``(H, W)`` pixels."""
    h, w = map_hw
    if h < view_size or w < view_size:
        raise ValueError(f"the map ({w}x{h} px) is smaller than one {view_size}x{view_size} view")
    return np.array([(h - view_size) // stride + 1, (w - view_size) // stride + 1], dtype=np.int64)


def move(pos: np.ndarray, action: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Apply actions. ``pos`` (B, 2) int cells, ``action`` (B,) in 0..3 -> new (B, 2).

    A move that would leave the map leaves the agent where it is.
    """
    new = pos + ACTION_DELTAS[action]
    inside = np.all((new >= 0) & (new < grid), axis=-1, keepdims=True)
    return np.where(inside, new, pos)


def view_windows(world: np.ndarray, view_size: int) -> np.ndarray:
    """All views of the map as a zero-copy strided array (H-v+1, W-v+1, 1, v, v, 3); see :func:`crop`."""
    return np.lib.stride_tricks.sliding_window_view(world, (view_size, view_size, world.shape[2]))


def crop(windows: np.ndarray, pos: np.ndarray, stride: int) -> np.ndarray:
    """Views at cells ``pos`` (B, 2) from ``view_windows(world, v)``: a fresh (B, v, v, 3) array.

    Indexing copies whole windows (50x faster than a per-pixel gather), so a view never
    aliases the map.
    """
    px = pos * stride  # (B, 2) top-left pixels
    return windows[px[:, 0], px[:, 1], 0]


def manhattan(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Number of moves between cells: (B, 2), (B, 2) -> (B,)."""
    return np.abs(a - b).sum(-1)


def sample_start_and_goal(
    rng: np.random.Generator,
    grid: np.ndarray,
    goal_distance: tuple[int, int],
    n: int = 1,
    min_axis: int = 0,
    allowed: np.ndarray | None = None,
):
    """Uniform start cells and goals exactly ``d`` moves away, ``d`` uniform in ``goal_distance``,
    and at least ``min_axis`` moves away along one axis (0: any split of ``d``).

    ``allowed``: a boolean grid (``grid``'s shape) of the cells a start and a goal may be (None: all), e.g. the
    places whose views an agent has seen (:class:`worldgen_core.experience.Experience`); starts are then uniform
    over the allowed cells and a goal that is not allowed is drawn again. A ``ValueError`` if no allowed start
    has an allowed goal in range.

    Returns ``(start, goal)``, each (n, 2) int64. Uses only ``rng``.

    >>> allowed = np.zeros((10, 10), bool); allowed[2, 2] = allowed[2, 5] = True
    >>> start, goal = sample_start_and_goal(np.random.default_rng(0), np.array([10, 10]), (3, 3), 4, allowed=allowed)
    >>> sorted({tuple(p) for p in start.tolist() + goal.tolist()})
    [(2, 2), (2, 5)]
    """
    lo, hi = goal_distance
    if hi > int(grid.sum()) - 2:
        raise ValueError(f"goal_distance max {hi} does not fit in a grid of {grid.tolist()} cells")
    cells = None if allowed is None else np.argwhere(allowed)  # (K, 2) the cells a start may be
    if cells is not None and not len(cells):
        raise ValueError("no cell is allowed as a start: nothing of the map is known")
    start = np.empty((n, 2), np.int64)
    goal = np.empty((n, 2), np.int64)
    todo = np.arange(n)
    tries = 0
    while len(todo):
        k = len(todo) if cells is None else 64 * len(todo)  # known places are sparse: many candidates at once
        u = rng.random((k, 6))  # one call per attempt: start (2), distance, split, signs (2)
        s = (u[:, :2] * grid).astype(np.int64) if cells is None else cells[(u[:, 0] * len(cells)).astype(np.int64)]
        d = lo + (u[:, 2] * (hi - lo + 1)).astype(np.int64)
        dr = (u[:, 3] * (d + 1)).astype(np.int64)  # split of the distance between rows and columns
        sign = np.where(u[:, 4:] < 0.5, -1, 1)
        g = s + sign * np.stack([dr, d - dr], 1)
        ok = np.all((g >= 0) & (g < grid), axis=1)
        if min_axis:
            ok &= np.abs(g - s).max(1) >= min_axis
        if cells is None:
            start[todo[ok]], goal[todo[ok]] = s[ok], g[ok]
            todo = todo[~ok]
            continue
        ok[ok] = allowed[g[ok, 0], g[ok, 1]]
        hit = np.flatnonzero(ok)[: len(todo)]  # the first good candidates fill the first rows still to draw
        start[todo[: len(hit)]], goal[todo[: len(hit)]] = s[hit], g[hit]
        todo = todo[len(hit) :]
        tries += 1
        if tries >= 200 and len(todo):
            raise ValueError(
                f"no allowed start has an allowed goal {lo}-{hi} moves away in {200 * 64} draws: the allowed places "
                "are too few or too scattered for the task"
            )
    return start, goal


def reward_and_success(d_before: np.ndarray, d_after: np.ndarray, task: TaskConfig):
    """Reward (B,) float64 and success (B,) bool from distances before and after a step."""
    success = d_after == 0
    reward = task.step_penalty + task.success_reward * success + task.shaping * (d_before - d_after)
    return reward.astype(np.float64), success


def revealed_masks(view_size: int = 64, stride: int = 8) -> np.ndarray:
    """(4, H, W) bool: for each action, the strip of the next view that the current one did not show.

    >>> m = revealed_masks(4, 1)
    >>> m[UP].astype(int)[:, 0], int(m[RIGHT].sum())
    (array([1, 0, 0, 0]), 4)
    """
    m = np.zeros((4, view_size, view_size), bool)
    m[UP, :stride] = m[DOWN, -stride:] = True
    m[LEFT, :, :stride] = m[RIGHT, :, -stride:] = True
    return m


def revealed_cells(positions: np.ndarray, actions: np.ndarray, cells: int = 8) -> np.ndarray:
    """The map cells (row, col) of the strip each move reveals (:func:`revealed_masks`, one cell deep): for views at
    cells ``positions`` (B, 2) after moves ``actions`` (B,), ``cells`` (view size / stride) cells wide -> (B, cells, 2).

    >>> revealed_cells(np.array([[2, 5], [2, 5]]), np.array([UP, RIGHT]), 3).tolist()
    [[[2, 5], [2, 6], [2, 7]], [[2, 7], [3, 7], [4, 7]]]
    """
    positions, actions = np.asarray(positions, np.int64), np.asarray(actions, np.int64)
    along = np.arange(cells)
    # the strip's offset from the view's top-left cell: first/last row (up/down) or column (left/right)
    edge = np.where(np.isin(actions, (UP, LEFT)), 0, cells - 1)[:, None]
    vertical = np.isin(actions, (UP, DOWN))[:, None]
    dy = np.where(vertical, edge, along[None])
    dx = np.where(vertical, along[None], edge)
    return positions[:, None] + np.stack([dy, dx], -1)
