"""WorldMap-v0: visual goal navigation on a large world-map image (single and batched envs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from worldgen_core import dynamics as dyn
from worldgen_core.world import WorldCore

__all__ = ["WorldCore", "WorldMapEnv", "WorldMapVectorEnv", "observation_space", "action_space"]


def observation_space(core: WorldCore) -> spaces.Dict:
    """The env's observation space: ``{"image": view, "goal": view}``, each (v, v, 3) uint8."""
    v = core.task.view_size
    view = spaces.Box(0, 255, (v, v, 3), np.uint8)
    return spaces.Dict({"image": view, "goal": view})


def action_space() -> spaces.Discrete:
    """Four moves: up, down, left, right."""
    return spaces.Discrete(4)


def render_frames(core: WorldCore, render_mode, views, goal_views, pos, goal) -> list[np.ndarray] | None:
    """One frame per env of a batch, with the checks every env's ``render()`` shares."""
    if render_mode is None:
        gym.logger.warn('render() called without a render_mode; make the env with render_mode="rgb_array"')
        return None
    if pos is None:
        raise gym.error.ResetNeeded("call reset() before render()")
    return [core.render_frame(views[i], goal_views[i], pos[i], goal[i]) for i in range(len(pos))]


class _HumanWindow:
    """A lazily-created pygame window for ``render_mode="human"``."""

    def __init__(self, fps: int):
        try:
            import pygame
        except ImportError as e:  # pragma: no cover - depends on the extra
            raise gym.error.DependencyNotInstalled('render_mode="human" needs pygame: pip install -e ".[play]"') from e
        self.pygame, self.fps, self.screen, self.clock = pygame, fps, None, pygame.time.Clock()

    def show(self, frame: np.ndarray) -> None:
        pg = self.pygame
        if self.screen is None:
            pg.init()
            pg.display.init()
            pg.display.set_caption("WorldMap")
            self.screen = pg.display.set_mode((frame.shape[1], frame.shape[0]))
        pg.event.pump()
        self.screen.blit(pg.surfarray.make_surface(frame.swapaxes(0, 1)), (0, 0))
        pg.display.flip()
        self.clock.tick(self.fps)

    def close(self) -> None:
        if self.screen is not None:
            self.pygame.display.quit()
            self.pygame.quit()
            self.screen = None


def _task_from_kwargs(
    view_size, stride, goal_distance, step_penalty, success_reward, shaping, goal_out_of_view
) -> dyn.TaskConfig:
    return dyn.TaskConfig(
        view_size=view_size,
        stride=stride,
        goal_distance=goal_distance,
        step_penalty=step_penalty,
        success_reward=success_reward,
        shaping=shaping,
        goal_out_of_view=goal_out_of_view,
    )


class WorldMapEnv(gym.Env):
    """Navigate a window over a large world map to the place shown in a goal picture.

    ## Description
    The world is a large RGB image (by default the procedurally drawn fantasy map in
    ``data/world_map.png``). The agent sees a 64x64 crop of it and moves that crop by 8 pixels
    per step. Each episode shows it a second crop, the goal: the view at a position a few moves
    away. The agent must find the goal position using only the two pictures.

    ## Action Space
    ``Discrete(4)``: 0 up, 1 down, 2 left, 3 right, each moving the view by ``stride`` pixels.
    A move that would leave the map leaves the agent where it is.

    ## Observation Space
    ``Dict(image=Box(0, 255, (64, 64, 3), uint8), goal=Box(0, 255, (64, 64, 3), uint8))``: the
    current view and the view at the goal. Both are copies, never views into the map.

    ## Rewards
    ``step_penalty`` (default -0.01) every step, plus ``success_reward`` (default 1.0) on the step
    that reaches the goal. Optional potential-based shaping adds ``shaping * (d_before - d_after)``
    where ``d`` is the number of moves to the goal (default 0: off).

    ## Starting State
    A uniformly random position on the map; the goal is exactly ``d`` moves away, ``d`` uniform in
    ``goal_distance`` (default 3..7 moves, so the goal view always overlaps the start view). All
    randomness comes from ``self.np_random``, seeded by ``reset(seed=...)``. ``reset(options={"start":
    (y, x), "goal": (y, x)})`` places either or both (pixels, as ``info["agent_pos"]``: multiples of the stride):

    >>> env = WorldMapEnv()
    >>> obs, info = env.reset(seed=0, options={"start": (0, 0), "goal": (0, 24)})
    >>> info["agent_pos"].tolist(), info["goal_pos"].tolist(), int(info["distance"])
    ([0, 0], [0, 24], 3)

    ## Tasks
    ``WorldMap-v0`` is the *near* task: the goal is 3-7 moves away and always in view at the start,
    so matching the two pictures solves it. ``WorldMapFar-v0`` (``dynamics.TASKS["far"]``) is the
    *far* task: the goal is 8-12 moves away and its view never overlaps the start view
    (``goal_out_of_view=True``), episodes last 64 steps; the agent must travel through content it
    has not seen. ``DreamWorldMapFar-v0`` is its dream.

    >>> import gymnasium as gym, worldgen_env, numpy as np
    >>> env = gym.make("WorldMapFar-v0")
    >>> obs, info = env.reset(seed=0)
    >>> bool(np.abs(info["goal_pos"] - info["agent_pos"]).max() >= 64), env.spec.max_episode_steps
    (True, 64)

    ## Episode End
    Terminates when the agent is at the goal position (``info["is_success"]``). Truncates after
    ``max_episode_steps`` steps (32 when made through ``gymnasium.make``).

    ## Info
    ``agent_pos`` and ``goal_pos`` (top-left pixel ``(y, x)`` of the view), ``distance`` (moves to
    the goal) and ``is_success``.

    ## Arguments
    * ``map_path``: any image file (default: ``data/world_map.png``); RGBA, grayscale and palette
      images are converted to RGB.
    * ``view_size`` (64), ``stride`` (8), ``goal_distance`` ((3, 7)), ``step_penalty`` (-0.01),
      ``success_reward`` (1.0), ``shaping`` (0.0), ``goal_out_of_view`` (False), ``render_mode``
      (``"rgb_array"`` or ``"human"``).

    ## Vectorized environment
    ``gymnasium.make_vec("WorldMap-v0", num_envs=N)`` returns one batched :class:`WorldMapVectorEnv`
    that steps all N envs with numpy array operations (no per-env Python loop).

    ## Example
    >>> import gymnasium as gym, worldgen_env
    >>> env = gym.make("WorldMap-v0")
    >>> obs, info = env.reset(seed=42)
    >>> obs["image"].shape, obs["goal"].dtype
    ((64, 64, 3), dtype('uint8'))
    >>> obs, reward, terminated, truncated, info = env.step(3)
    >>> sorted(info)
    ['agent_pos', 'distance', 'goal_pos', 'is_success']
    >>> env.close()
    """

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": 8}

    def __init__(
        self,
        map_path: str | Path | None = None,
        view_size: int = 64,
        stride: int = 8,
        goal_distance: tuple[int, int] = (3, 7),
        step_penalty: float = -0.01,
        success_reward: float = 1.0,
        shaping: float = 0.0,
        render_mode: str | None = None,
        world: np.ndarray | None = None,
        goal_out_of_view: bool = False,
    ):
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None, got {render_mode!r}")
        self.core = WorldCore(
            map_path,
            _task_from_kwargs(
                view_size, stride, goal_distance, step_penalty, success_reward, shaping, goal_out_of_view
            ),
            world,
        )
        self.observation_space = observation_space(self.core)
        self.action_space = action_space()
        self.render_mode = render_mode
        self._window = None
        self._pos = self._goal = self._view = self._goal_view = None

    # The hook the dream env overrides: how the next view comes about.
    def _next_views(
        self, prev_pos: np.ndarray, pos: np.ndarray, prev_views: np.ndarray, action: np.ndarray
    ) -> np.ndarray:
        return self.core.views(pos)

    def _obs(self) -> dict[str, np.ndarray]:
        return {"image": self._view[0].copy(), "goal": self._goal_view[0].copy()}

    def _info(self, distance: np.ndarray) -> dict[str, Any]:
        return {
            k: (v[0].copy() if v.ndim > 1 else v[0].item())
            for k, v in self.core.info(self._pos, self._goal, distance).items()
        }

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._pos, self._goal = self.core.placed(options, *self.core.reset_positions(self.np_random, 1))
        self._view, self._goal_view = self.core.views(self._pos), self.core.views(self._goal)
        self._on_reset(seed)
        if self.render_mode == "human":
            self.render()
        return self._obs(), self._info(dyn.manhattan(self._pos, self._goal))

    def _on_reset(self, seed: int | None) -> None:
        """Hook for subclasses (the dream env seeds its sampler here)."""

    def step(self, action):
        if self._pos is None:
            raise gym.error.ResetNeeded("call reset() before step()")
        if not self.action_space.contains(action):
            raise gym.error.InvalidAction(f"action must be an int in 0..3 (up, down, left, right), got {action!r}")
        a = np.array([int(action)])
        new_pos, reward, success, dist = self.core.step_positions(self._pos, self._goal, a)
        self._view = self._next_views(self._pos, new_pos, self._view, a)
        self._pos = new_pos
        if self.render_mode == "human":
            self.render()
        return self._obs(), float(reward[0]), bool(success[0]), False, self._info(dist)

    def render(self):
        frames = render_frames(self.core, self.render_mode, self._view, self._goal_view, self._pos, self._goal)
        if frames is None or self.render_mode == "rgb_array":
            return None if frames is None else frames[0]
        frame = frames[0]
        if self._window is None:
            self._window = _HumanWindow(self.metadata["render_fps"])
        self._window.show(frame)
        return None

    def close(self):
        if self._window is not None:
            self._window.close()
            self._window = None


class WorldMapVectorEnv(VectorEnv):
    """N WorldMap envs stepped together as numpy batches (see :class:`WorldMapEnv`).

    All sub-envs draw from one generator, ``self.np_random``, seeded by ``reset(seed=seed)``; the
    envs that reset together draw their starts and goals in one batched call. With
    ``num_envs=1`` this is exactly the single env's sequence of draws, so both follow the same
    trajectory under the same seed.

    Autoreset: ``autoreset_mode="next_step"`` (Gymnasium's default) returns the final observation
    of a finished episode and resets it on the next ``step`` call, whose action is ignored for that
    env (it returns the reset observation with reward 0). ``"same_step"`` resets at once and puts
    the final observation and info in ``info["final_obs"]`` and ``info["final_info"]``.

    ``reset(options={"start": (y, x), "goal": (y, x)})`` takes the single env's options, with the same
    checks (:meth:`WorldCore.placed`), and puts either or both in every sub-env.

    Memory: ``obs["image"]`` is a fresh array every step (memory bandwidth is what limits this env,
    so it is not copied twice). ``obs["goal"]`` is one buffer per vector env, updated in place when
    sub-envs reset, like Gymnasium's vector envs with ``copy=False``: copy it if you keep it across
    steps (SB3's rollout buffer does).

    >>> import gymnasium as gym, worldgen_env
    >>> envs = gym.make_vec("WorldMap-v0", num_envs=4)
    >>> obs, info = envs.reset(seed=0)
    >>> obs["image"].shape
    (4, 64, 64, 3)
    >>> obs, rew, term, trunc, info = envs.step(envs.action_space.sample())
    >>> rew.dtype, term.dtype, info["distance"].shape
    (dtype('float64'), dtype('bool'), (4,))
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 8, "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(
        self,
        num_envs: int = 1,
        map_path: str | Path | None = None,
        view_size: int = 64,
        stride: int = 8,
        goal_distance: tuple[int, int] = (3, 7),
        step_penalty: float = -0.01,
        success_reward: float = 1.0,
        shaping: float = 0.0,
        max_episode_steps: int | None = dyn.MAX_EPISODE_STEPS,
        render_mode: str | None = None,
        autoreset_mode: str | AutoresetMode = AutoresetMode.NEXT_STEP,
        world: np.ndarray | None = None,
        goal_out_of_view: bool = False,
    ):
        num_envs = dyn.as_int("num_envs", num_envs, 1)
        if max_episode_steps is not None:
            max_episode_steps = dyn.as_int("max_episode_steps", max_episode_steps, 1)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None, got {render_mode!r}")
        modes = {"next_step": AutoresetMode.NEXT_STEP, "same_step": AutoresetMode.SAME_STEP}
        mode = modes.get(autoreset_mode, autoreset_mode) if isinstance(autoreset_mode, str) else autoreset_mode
        if mode not in modes.values():
            raise ValueError(
                f"autoreset_mode must be 'next_step' or 'same_step' (or an AutoresetMode), got {autoreset_mode!r}"
            )
        self.metadata = {**self.metadata, "autoreset_mode": mode}
        self.core = WorldCore(
            map_path,
            _task_from_kwargs(
                view_size, stride, goal_distance, step_penalty, success_reward, shaping, goal_out_of_view
            ),
            world,
        )
        self.num_envs = int(num_envs)
        self.max_episode_steps = max_episode_steps
        self.render_mode = render_mode
        self.single_observation_space = observation_space(self.core)
        self.single_action_space = action_space()
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = spaces.MultiDiscrete(np.full(self.num_envs, 4))
        n = self.num_envs
        self._pos = self._goal = self._view = self._goal_view = None
        self._steps = np.zeros(n, np.int64)
        self._needs_reset = np.zeros(n, bool)

    def _next_views(
        self, prev_pos: np.ndarray, pos: np.ndarray, prev_views: np.ndarray, action: np.ndarray
    ) -> np.ndarray:
        return self.core.views(pos)

    def _on_reset(self, idx: np.ndarray, seed: int | None) -> None:
        """Hook for subclasses, called after the envs ``idx`` were reset."""

    def _reset_envs(self, idx: np.ndarray) -> None:
        pos, goal = self.core.reset_positions(self.np_random, len(idx))
        self._pos[idx], self._goal[idx] = pos, goal
        # The caller makes sure ``self._view`` is a fresh array that was not handed out yet; the
        # goal buffer is updated in place (see the class docstring).
        both = self.core.views(np.concatenate([pos, goal]))
        self._view[idx], self._goal_view[idx] = both[: len(idx)], both[len(idx) :]
        self._steps[idx] = 0

    def _obs(self) -> dict[str, np.ndarray]:
        return {"image": self._view, "goal": self._goal_view}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        n = self.num_envs
        if seed is not None:
            if not isinstance(seed, (int, np.integer)):
                raise ValueError(f"seed must be an int or None (one generator serves all {n} envs), got {seed!r}")
            self._np_random, self._np_random_seed = seeding.np_random(int(seed))
        v = self.core.task.view_size
        self._pos, self._goal = np.zeros((n, 2), np.int64), np.zeros((n, 2), np.int64)
        self._view, self._goal_view = np.zeros((n, v, v, 3), np.uint8), np.zeros((n, v, v, 3), np.uint8)
        idx = np.arange(n)
        self._reset_envs(idx)
        if options is not None:  # the same options, and checks, as the single env's: placed in every sub-env
            self._pos, self._goal = self.core.placed(options, self._pos, self._goal)
            self._view[:], self._goal_view[:] = self.core.views(self._pos), self.core.views(self._goal)
        self._needs_reset[:] = False
        self._on_reset(idx, seed)
        return self._obs(), self.core.info(self._pos, self._goal, dyn.manhattan(self._pos, self._goal))

    def step(self, actions):
        if self._pos is None:
            raise gym.error.ResetNeeded("call reset() before step()")
        a = np.asarray(actions)
        if a.shape != (self.num_envs,) or a.dtype.kind not in "iu" or ((a < 0) | (a > 3)).any():
            raise gym.error.InvalidAction(
                f"actions must be an int array of shape ({self.num_envs},) with values in 0..3 (up, down, left, "
                f"right), got {actions!r}"
            )
        done_before = self._needs_reset  # envs that finished last step (next-step autoreset)
        any_done_before = done_before.any()
        new_pos, reward, success, dist = self.core.step_positions(self._pos, self._goal, a)
        # A fresh array: arrays handed out before are never written to. Envs in done_before are
        # reset below, in this same array.
        self._view = self._next_views(self._pos, new_pos, self._view, a)
        self._pos = new_pos
        self._steps += 1
        terminated = success
        truncated = (
            (self._steps >= self.max_episode_steps) & ~success
            if self.max_episode_steps
            else np.zeros(self.num_envs, bool)
        )
        if any_done_before:
            terminated, truncated = terminated & ~done_before, truncated & ~done_before
            reward = np.where(done_before, 0.0, reward)
        done = terminated | truncated
        if self.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP:
            if any_done_before:
                idx = np.flatnonzero(done_before)
                self._reset_envs(idx)
                self._on_reset(idx, None)
                dist = dist.copy()
                dist[idx] = dyn.manhattan(self._pos[idx], self._goal[idx])
            self._needs_reset = done
            return self._obs(), reward, terminated, truncated, self.core.info(self._pos, self._goal, dist)
        # SAME_STEP: report the final observation, then reset at once.
        info = self.core.info(self._pos, self._goal, dist)
        if done.any():
            idx = np.flatnonzero(done)
            info["final_obs"] = {"image": self._view, "goal": self._goal_view.copy()}
            self._view = self._view.copy()
            info["final_info"] = {k: v.copy() for k, v in info.items() if k != "final_obs"}
            info["_final_obs"] = info["_final_info"] = done.copy()
            self._reset_envs(idx)
            self._on_reset(idx, None)
            fresh = self.core.info(self._pos, self._goal, dyn.manhattan(self._pos, self._goal))
            for k in fresh:
                info[k] = fresh[k]
        return self._obs(), reward, terminated, truncated, info

    def render(self):
        frames = render_frames(self.core, self.render_mode, self._view, self._goal_view, self._pos, self._goal)
        return None if frames is None else tuple(frames)
