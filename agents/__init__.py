"""Agents: stable-baselines3 PPO in WorldMap-v0 / DreamWorldMap-v0, evaluated in the real env."""

from .evaluation import evaluate_real, random_policy, record_gif, sb3_policy
from .policy import EXTRACTORS, SiameseCNN, StackedCNN
from .vec_env import SB3VecEnv, make_sb3_vec_env

__all__ = ["evaluate_real", "random_policy", "record_gif", "sb3_policy", "EXTRACTORS", "SiameseCNN", "StackedCNN", "SB3VecEnv", "make_sb3_vec_env"]
