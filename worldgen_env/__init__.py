"""WorldGen environments.

Importing this package registers ``WorldMap-v0`` (and, once a world model is available,
``DreamWorldMap-v0``) with Gymnasium::

    import gymnasium as gym, worldgen_env
    env = gym.make("WorldMap-v0")                # one env
    envs = gym.make_vec("WorldMap-v0", 256)      # one batched env (WorldMapVectorEnv)

``gym.make("worldgen_env:WorldMap-v0")`` works without the import.
"""

from gymnasium.envs.registration import register, registry

from . import dynamics
from .dynamics import TaskConfig
from .envs import WorldCore, WorldMapEnv, WorldMapVectorEnv
from .world_map import DEFAULT_MAP_PATH, default_map, load_map

__all__ = ["dynamics", "TaskConfig", "WorldCore", "WorldMapEnv", "WorldMapVectorEnv", "DEFAULT_MAP_PATH", "default_map", "load_map", "MAX_EPISODE_STEPS"]

#: Registered episode length (truncation) of both envs.
MAX_EPISODE_STEPS = 32

if "WorldMap-v0" not in registry:
    register(
        id="WorldMap-v0",
        entry_point="worldgen_env.envs:WorldMapEnv",
        vector_entry_point="worldgen_env.envs:WorldMapVectorEnv",
        max_episode_steps=MAX_EPISODE_STEPS,
    )
