"""World models: DiT / WorldDiT, DDPM and flow-matching processes, checkpoints, training.

Builds on the world's core (``worldgen_core``) only; it never imports the Gymnasium envs.
"""

from world_models.generative.processes import DDPM, FlowMatching, Process, make_process
from world_models.inference import WorldModel, load_world_model
from world_models.model.dit import PRESETS, DiT, ModelConfig, WorldDiT, build_model, preset
from worldgen_core import __version__  # noqa: F401  (one version for the whole package)

__all__ = [
    "PRESETS",
    "DiT",
    "ModelConfig",
    "WorldDiT",
    "build_model",
    "preset",
    "DDPM",
    "FlowMatching",
    "Process",
    "make_process",
    "load_world_model",
    "WorldModel",
]
