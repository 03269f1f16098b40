"""World models: DiT / WorldDiT, DDPM and flow-matching processes, checkpoints, training."""

from .models import PRESETS, DiT, ModelConfig, WorldDiT, build_model, preset
from .processes import DDPM, FlowMatching, Process, make_process

__all__ = ["PRESETS", "DiT", "ModelConfig", "WorldDiT", "build_model", "preset", "DDPM", "FlowMatching", "Process",
           "make_process", "load_world_model", "WorldModel"]


def __getattr__(name):  # lazy, so that importing the models does not import the env package
    if name in ("load_world_model", "WorldModel"):
        from . import inference

        return getattr(inference, name)
    raise AttributeError(name)
