"""Agents: stable-baselines3 PPO in WorldMap-v0 / DreamWorldMap-v0, evaluated in the real env."""

from worldgen_core import __version__  # noqa: F401  (one version for the whole package)

from .evaluation import evaluate_real, random_policy, record_gif, sb3_policy
from .policy import EXTRACTORS, CorrelationCNN, SiameseCNN, StackedCNN
from .vec_env import SB3VecEnv, make_sb3_vec_env

__all__ = [
    "EXTRACTORS",
    "CorrelationCNN",
    "SB3VecEnv",
    "SiameseCNN",
    "StackedCNN",
    "evaluate_real",
    "make_sb3_vec_env",
    "random_policy",
    "record_gif",
    "sb3_policy",
]
