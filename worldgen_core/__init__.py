"""The world's core: the map, its generation, the dynamics and the task, the simulator protocol;
and what every tool shares: the CLI ``worldgen_core.cli``, run folders ``worldgen_core.runs``, atomic files
``worldgen_core.files``.

numpy, Pillow and SciPy only: no Gymnasium, no torch. Every other layer builds on it::

    worldgen_core  <-  worldgen_env (Gymnasium envs; worldgen_env.dream is the one place envs use models)
    worldgen_core  <-  world_models (DiT / WorldDiT, processes, training)
    agents, worldbench: on top of both

``tests/test_layers.py`` fails when an import crosses these layers the wrong way.
"""

__version__ = "0.8.0"

from . import dynamics
from .dynamics import MAX_EPISODE_STEPS, TASKS, TaskConfig
from .world import WorldCore
from .world_map import DEFAULT_MAP_PATH, default_map, load_map

__all__ = [
    "__version__",
    "dynamics",
    "MAX_EPISODE_STEPS",
    "TASKS",
    "TaskConfig",
    "WorldCore",
    "DEFAULT_MAP_PATH",
    "default_map",
    "load_map",
]
