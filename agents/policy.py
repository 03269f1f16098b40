"""Feature extractors for the ``Dict(image, goal)`` observation."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

__all__ = ["EXTRACTORS", "CorrelationCNN", "PlaceCNN", "SiameseCNN", "StackedCNN"]


def _cnn(in_ch: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_ch, 32, 8, stride=4),
        nn.ReLU(),  # 64 -> 15
        nn.Conv2d(32, 64, 4, stride=2),
        nn.ReLU(),  # 15 -> 6
        nn.Conv2d(64, 64, 3, stride=1),
        nn.ReLU(),  # 6 -> 4
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


class CorrelationCNN(BaseFeaturesExtractor):
    """Where is the goal relative to me? A cost volume, as in optical-flow networks (FlowNet, PWC-Net).

    A shared encoder embeds each view into one feature vector per ``cell`` x ``cell`` patch, on the
    env's move grid (8 px: one move = one cell), so the goal view is the current view shifted by a
    whole number of cells. The extractor correlates the two feature maps at every displacement
    ``(dy, dx)`` in ``[-R, R]^2`` (normalised cross-correlation: zero-mean, unit-norm cell features,
    averaged over the overlapping cells) and an MLP reads a softmax over the ``(2R+1)^2`` scores
    (learned temperature), its soft-argmax displacement and the peak score: the peak is the
    displacement to the goal. R defaults to 7, the longest start-to-goal distance in moves; where
    the views no longer overlap the scores are 0.

    Measured (``docs/findings.md``): without the zero mean, random-init features of all cells are
    nearly parallel (the softmax is almost uniform: entropy 5.37 of at most 5.42); PPO still learned
    in the real env, where matches are exact, but not at all in the dream, where they are close.
    With it the softmax starts sharp (entropy 0.2-0.8) and PPO learns in both.
    """

    def __init__(
        self,
        observation_space: gym.spaces.Dict,
        features_dim: int = 256,
        cell: int = 8,
        radius: int = 7,
        channels: int = 32,
        temperature: float = 20.0,
    ):
        super().__init__(observation_space, features_dim)
        c, h, w = observation_space["image"].shape  # SB3 hands image spaces over channel-first
        if h % cell or w % cell:
            raise ValueError(f"view size {h}x{w} must be a multiple of the cell size {cell}")
        self.radius = radius
        self.encoder = nn.Sequential(  # (B, 3, H, W) -> (B, channels, H / cell, W / cell)
            nn.Conv2d(c, channels, cell, stride=cell),
            nn.ReLU(),
            nn.Conv2d(channels, channels, 1),
        )
        gh, gw = h // cell, w // cell
        d = torch.arange(-radius, radius + 1)
        overlap = (gh - d.abs()).clamp(min=0)[:, None] * (gw - d.abs()).clamp(min=0)[None, :]  # (2R+1, 2R+1)
        self.register_buffer("overlap", overlap.float().clamp(min=1), persistent=False)
        # cell pairs (q in the image, p in the goal) -> their displacement d = q - p, for those within the radius
        qy, qx = torch.meshgrid(torch.arange(gh), torch.arange(gw), indexing="ij")
        dy, dx = qy.reshape(-1, 1) - qy.reshape(1, -1), qx.reshape(-1, 1) - qx.reshape(1, -1)  # (hw, hw)
        near = ((dy.abs() <= radius) & (dx.abs() <= radius)).flatten()  # (hw * hw,)
        self.register_buffer("pair_near", near, persistent=False)
        self.register_buffer(
            "pair_bin", ((dy + radius) * (2 * radius + 1) + dx + radius).flatten()[near], persistent=False
        )
        self.log_temperature = nn.Parameter(torch.tensor(float(np.log(temperature))))
        self.register_buffer("d", d.float() / radius, persistent=False)  # displacements, scaled to [-1, 1]
        self.head = nn.Sequential(nn.Linear((2 * radius + 1) ** 2 + 3, features_dim), nn.ReLU())

    def embed(self, image: torch.Tensor, goal: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 3, H, W) x 2 -> (B, C, h, w) x 2 cell features, minus their mean over the cells of
        both views and unit-norm per cell (normalised cross-correlation): what every cell shares
        (the map's parchment, a ReLU's positive bias) cancels, so only matching content scores
        high, and the same pixels in both views still give the same feature."""
        f = self.encoder(torch.cat([image, goal]))  # (2B, C, h, w)
        f_i, f_g = f.chunk(2)
        mean = (f_i.mean((2, 3), keepdim=True) + f_g.mean((2, 3), keepdim=True)) / 2  # (B, C, 1, 1)
        return nn.functional.normalize(f_i - mean, dim=1), nn.functional.normalize(f_g - mean, dim=1)

    def correlation(self, image: torch.Tensor, goal: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) x 2 -> (B, 2R+1, 2R+1): mean cosine similarity of ``image`` cell ``p + d``
        and ``goal`` cell ``p`` over the cells ``p`` where both exist."""
        f_i, f_g = self.embed(image, goal)  # (B, C, h, w) each
        b, n = len(f_i), len(self.d)
        # every cell pair's similarity in one batched matmul, summed per displacement: 7x faster to
        # train on CPU than a grouped convolution (its backward), the same numbers
        pairs = torch.bmm(f_i.flatten(2).transpose(1, 2), f_g.flatten(2)).flatten(
            1
        )  # (B, hw * hw): image cell q . goal cell p
        corr = pairs.new_zeros(b, n * n).index_add_(1, self.pair_bin, pairs[:, self.pair_near])  # (B, (2R+1)^2)
        return corr.view(b, n, n) / self.overlap  # (B, 2R+1, 2R+1)

    def forward(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        corr = self.correlation(obs["image"], obs["goal"]).flatten(1)  # (B, (2R+1)^2)
        p = torch.softmax(corr * self.log_temperature.exp(), 1)  # (B, (2R+1)^2): where the goal is
        p2 = p.view(-1, len(self.d), len(self.d))
        dy, dx = (p2.sum(2) * self.d).sum(1), (p2.sum(1) * self.d).sum(1)  # soft-argmax displacement (B,), (B,)
        peak = corr.max(1).values  # (B,): how sure (1.0 = the same pixels)
        return self.head(torch.cat([p, dy[:, None], dx[:, None], peak[:, None]], 1))  # (B, (2R+1)^2 + 3) -> (B, F)


class PlaceCNN(BaseFeaturesExtractor):
    """Where am I, where is the goal, and where is it relative to me? The far task's extractor.

    When the goal view does not overlap the current view (the far task), the cost volume of
    :class:`CorrelationCNN` is flat: only knowing the map can say which way to go. This extractor
    adds a place branch, a :class:`SiameseCNN` (a shared CNN embeds each view on its own, so it can
    learn a code of the map position it shows; features ``[e_img, e_goal, e_img - e_goal]``), and
    concatenates both: ``(B, 2 * features_dim)`` -> ``Linear`` -> ``(B, features_dim)``.
    """

    def __init__(self, observation_space: gym.spaces.Dict, features_dim: int = 256):
        super().__init__(observation_space, features_dim)
        self.correlation = CorrelationCNN(observation_space, features_dim)
        self.place = SiameseCNN(observation_space, features_dim)
        self.head = nn.Sequential(nn.Linear(2 * features_dim, features_dim), nn.ReLU())

    def forward(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.head(torch.cat([self.correlation(obs), self.place(obs)], 1))  # (B, 2F) -> (B, F)


EXTRACTORS = {"correlation": CorrelationCNN, "place": PlaceCNN, "stacked": StackedCNN, "siamese": SiameseCNN}
