"""The networks: DiT and WorldDiT (:mod:`.dit`), their configuration and size presets, and their layers
(:mod:`.layers`)."""

from world_models.model.dit import PRESETS, DiT, ModelConfig, WorldDiT, build_model, preset

__all__ = ["PRESETS", "DiT", "ModelConfig", "WorldDiT", "build_model", "preset"]
