"""Feature extractors for the ``Dict(image, goal)`` observation."""

from __future__ import annotations

import gymnasium as gym
import torch
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

__all__ = ["StackedCNN", "SiameseCNN", "EXTRACTORS"]


def _cnn(in_ch: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_ch, 32, 8, stride=4), nn.ReLU(),  # 64 -> 15
        nn.Conv2d(32, 64, 4, stride=2), nn.ReLU(),  # 15 -> 6
        nn.Conv2d(64, 64, 3, stride=1), nn.ReLU(),  # 6 -> 4
        nn.Flatten(),
    )


class StackedCNN(BaseFeaturesExtractor):
    """One CNN over the current and goal views stacked as 6 channels: the first layer can compare
    the two pictures pixel by pixel (where is the goal relative to me?)."""

    def __init__(self, observation_space: gym.spaces.Dict, features_dim: int = 256):
        super().__init__(observation_space, features_dim)
        c = observation_space["image"].shape[0]  # SB3 hands image spaces over channel-first
        self.cnn = _cnn(2 * c)
        with torch.no_grad():
            n = self.cnn(torch.zeros(1, 2 * c, *observation_space["image"].shape[1:])).shape[1]
        self.head = nn.Sequential(nn.Linear(n, features_dim), nn.ReLU())

    def forward(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.head(self.cnn(torch.cat([obs["image"], obs["goal"]], 1)))  # (B, 6, H, W) -> (B, F)


class SiameseCNN(BaseFeaturesExtractor):
    """A shared CNN embeds each view; the features are [e_img, e_goal, e_img - e_goal]."""

    def __init__(self, observation_space: gym.spaces.Dict, features_dim: int = 256):
        super().__init__(observation_space, features_dim)
        c = observation_space["image"].shape[0]
        self.cnn = _cnn(c)
        with torch.no_grad():
            n = self.cnn(torch.zeros(1, c, *observation_space["image"].shape[1:])).shape[1]
        self.head = nn.Sequential(nn.Linear(3 * n, features_dim), nn.ReLU())

    def forward(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        a, b = self.cnn(obs["image"]), self.cnn(obs["goal"])
        return self.head(torch.cat([a, b, a - b], 1))


EXTRACTORS = {"stacked": StackedCNN, "siamese": SiameseCNN}
