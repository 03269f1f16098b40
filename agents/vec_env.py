"""Drive WorldGen's batched Gymnasium vector envs from stable-baselines3.

SB3 cannot take a ``gymnasium.vector.VectorEnv``; :class:`SB3VecEnv` adapts one (made with
``autoreset_mode="same_step"``) to SB3's ``VecEnv`` API: one batched ``step`` per SB3 step,
``terminal_observation`` in the info of each finished env, and ``TimeLimit.truncated`` set for
truncated episodes so that PPO bootstraps their value.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode
from stable_baselines3.common.vec_env import VecEnv, VecMonitor

import worldgen_env  # noqa: F401

__all__ = ["SB3VecEnv", "make_sb3_vec_env"]


class SB3VecEnv(VecEnv):
    """An SB3 ``VecEnv`` over one batched Gymnasium vector env (same-step autoreset)."""

    def __init__(self, venv: gym.vector.VectorEnv):
        if venv.metadata.get("autoreset_mode") != AutoresetMode.SAME_STEP:
            raise ValueError(
                "SB3VecEnv needs a vector env made with autoreset_mode='same_step', got "
                f"{venv.metadata.get('autoreset_mode')}"
            )
        self.venv = venv
        super().__init__(venv.num_envs, venv.single_observation_space, venv.single_action_space)
        self._actions = None
        self._seed = None

    def reset(self):
        obs, _ = self.venv.reset(seed=self._seed)
        self._seed = None
        return {k: v.copy() for k, v in obs.items()}

    def seed(self, seed: int | None = None):
        self._seed = seed
        return [seed] * self.num_envs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions, dtype=np.int64).reshape(self.num_envs)

    def step_wait(self):
        obs, rew, term, trunc, info = self.venv.step(self._actions)
        done = term | trunc
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        for k in ("agent_pos", "goal_pos", "distance", "is_success"):
            for i in range(self.num_envs):
                infos[i][k] = info[k][i]
        if done.any():
            final, final_info = info["final_obs"], info["final_info"]
            for i in np.flatnonzero(done):
                infos[i]["terminal_observation"] = {k: v[i].copy() for k, v in final.items()}
                infos[i]["TimeLimit.truncated"] = bool(trunc[i] and not term[i])
                infos[i]["is_success"] = bool(final_info["is_success"][i])
        return {k: v.copy() for k, v in obs.items()}, rew.astype(np.float32), done, infos

    def close(self) -> None:
        self.venv.close()

    def get_attr(self, attr_name, indices=None):
        return [getattr(self.venv, attr_name)] * len(self._get_indices(indices))

    def set_attr(self, attr_name, value, indices=None) -> None:
        setattr(self.venv, attr_name, value)

    def env_method(self, method_name, *args, indices=None, **kwargs):
        return [getattr(self.venv, method_name)(*args, **kwargs)] * len(self._get_indices(indices))

    def env_is_wrapped(self, wrapper_class, indices=None):
        return [False] * len(self._get_indices(indices))

    def render(self, mode: str | None = None):
        frames = self.venv.render()
        return None if frames is None else frames[0]


def make_sb3_vec_env(env_id: str, n_envs: int, seed: int | None = None, **kwargs) -> VecMonitor:
    """``gymnasium.make_vec(env_id, n_envs, autoreset_mode="same_step", **kwargs)`` as a monitored SB3 VecEnv."""
    venv = gym.make_vec(env_id, num_envs=n_envs, autoreset_mode="same_step", **kwargs)
    env = SB3VecEnv(venv)
    env.seed(seed)
    return VecMonitor(env, info_keywords=("is_success",))
