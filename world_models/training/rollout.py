"""Training on the model's own rollouts: dreamed context, the true world as the target.

A dream conditions every step on views it drew itself, and a small error at the edge of one new
strip is context the next strip continues: over a rollout the errors line up into thin coloured
streaks (docs/findings.md). Trained only on real views, the model never sees
such context, and continuing its context is what it learnt. This plug-in keeps ``rows`` dreams
running beside training (on-policy, as in scheduled sampling and "self forcing"):

* each dream starts from a real view at a random cell, with a :class:`TileMemory` seeded by it,
  exactly as ``DreamWorldMap-v0`` does, and runs ``1 .. horizon`` moves (staggered, so every depth
  is in every batch);
* each training step, every dream takes a random move that happens; its row of the batch is the
  dreamed view as the condition, the move, the next cell (the place field's input), and as the
  target the next view as the dream must show it: remembered tiles from its memory (what it drew
  before, which the dream env puts back exactly) and the *true map* everywhere else;
* the row is drawn at ``t = 0`` (pure noise), so the model's clean-view estimate in the loss is the
  one-step sample: the dream advances by it (memory put back, the result remembered), at no extra
  forward pass;
* with an :class:`~world_models.training.adversarial.Adversary`, the generator term and a discriminator step
  judge those rows' revealed bands against the targets' bands: the same dreamed context with the
  true strip, so the discriminator can only tell them apart by the strip, e.g. by a strip that
  continues a streak the true world does not have;
* or, with ``frames=True``, the *whole dreamed frame* (its remembered tiles and the new strip, what
  the dream shows) against the true frame at that cell, turned so the revealed edge is on top
  (``Adversary(band=64)``): a streak several strips long is a pattern of the frame, not of one
  band, and the benchmark's late-frame C2ST judges frames. The generator's gradient reaches the
  new strip only (the rest is memory), through the patch logits that see it.

State (cells, views, moves left, memory, random stream) is saved with the checkpoint, so a resumed
run continues the same dreams.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from world_models.data import moves_that_happen, to_tensor, to_uint8
from world_models.training.adversarial import Adversary, pure_noise
from world_models.training.plugins import TrainerPlugin
from worldgen_core.simulator import TileMemory
from worldgen_core.world import WorldCore

__all__ = ["RolloutArgs", "RolloutPlugin"]


@dataclass
class RolloutArgs:
    """Training on the model's own rollouts (world_models.training.rollout; flow only)."""

    batch: int = 0
    """this many dreams run beside training, each a row of every batch: its dreamed view as the condition, the true map
    (and its remembered tiles) as the target, at t = 0; the dream advances by the row's one-step sample. With
    --adv.weight the discriminator judges these rows too (0: off)"""
    horizon: int = 16
    """moves per dream before it restarts from a real view (staggered: every depth in every batch)"""
    frames: bool = False
    """with --adv.weight: a discriminator of its own judges the whole dreamed frames (memory and the new strip) against
    the true frames at their cells, instead of the shared one judging revealed bands"""

    def check(self, a) -> None:
        """``a``: the trainer's settings (the dreams advance by the flow's one-step sample, on one map)."""
        if self.frames and not (self.batch > 0 and a.adv.weight > 0):
            raise SystemExit(
                f"error: --rollout.frames is a discriminator on the dreams' frames: it needs --rollout.batch > 0 and "
                f"--adv.weight > 0, got {self.batch} and {a.adv.weight}"
            )
        if self.batch < 0 or (self.batch and (a.experiment != "world_flow" or a.extra_maps or self.horizon < 1)):
            raise SystemExit(
                f"error: --rollout.batch must be >= 0, and > 0 only with --experiment world_flow (its one-step sample "
                f"advances the dreams), one map (no --extra-maps) and --rollout.horizon >= 1; got {self.batch} with "
                f"{a.experiment!r}, {len(a.extra_maps)} extra map(s), horizon {self.horizon}"
            )


class RolloutPlugin(TrainerPlugin):
    """``rows`` dreams on ``core``'s map, each ``1 .. horizon`` moves long, as rows of every batch
    (a :class:`world_models.training.plugins.TrainerPlugin`; see the module). ``adversary``: also
    judge their one-step samples (``owns_adversary``: step it and keep its state in the checkpoint;
    False when another plug-in already does; ``last``: the model's output-layer weight, where its
    adaptive weight compares the gradients); ``frames``: judge whole dreamed frames against true
    ones instead of bands against the targets' bands (the adversary's ``band`` should be the view size)."""

    name = "rollout"
    keeps_state = True

    def __init__(
        self,
        core: WorldCore,
        rows: int,
        horizon: int,
        seed: int = 0,
        adversary: Adversary | None = None,
        owns_adversary: bool = True,
        frames: bool = False,
        last: torch.Tensor | None = None,
    ):
        if rows < 1 or horizon < 1:
            raise ValueError(f"rows and horizon must be >= 1, got {rows} and {horizon}")
        self.core, self.rows, self.horizon = core, int(rows), int(horizon)
        self.adversary, self.owns_adversary, self.frames, self.last = adversary, owns_adversary, bool(frames), last
        if self.frames and (adversary is None or adversary.band != core.task.view_size):
            raise ValueError(f"frames=True judges whole views: it needs an Adversary with band={core.task.view_size}")
        if adversary is not None and last is None:
            raise ValueError("an adversary weighs its term at the model's output layer: pass last=model.last_layer()")
        self.rng = np.random.default_rng(seed)
        g = core.task.view_size // core.task.stride
        self.memory = TileMemory(
            core.task.stride, cells=g + self.horizon
        )  # a dream spans at most g + horizon cells: no wrap
        self.idx = np.arange(self.rows)
        self.pos = np.zeros((self.rows, 2), np.int64)  # (R, 2) each dream's cell
        self.views = np.zeros(
            (self.rows, core.task.view_size, core.task.view_size, 3), np.uint8
        )  # (R, H, W, 3) what it shows
        self.left = np.zeros(self.rows, np.int64)  # (R,) moves before the dream restarts
        self._restart(self.idx, self.rng.integers(1, self.horizon + 1, self.rows))  # staggered lengths
        self._next_pos: np.ndarray | None = None
        self._known: torch.Tensor | None = None  # (R, 1, H, W) bool: the next views' remembered pixels
        self._true: np.ndarray | None = None  # (R, H, W, 3) the true next views
        self._target: np.ndarray | None = None  # (R, H, W, 3) the targets (remembered pixels, the truth elsewhere)
        self._x1_hat: torch.Tensor | None = None
        self._fake: torch.Tensor | None = None

    def _restart(self, idx: np.ndarray, left: np.ndarray) -> None:
        """Dreams ``idx`` begin anew: a real view at a random cell, the memory seeded with it."""
        g = self.core.grid
        pos = np.stack([self.rng.integers(0, g[0], len(idx)), self.rng.integers(0, g[1], len(idx))], 1)
        self.pos[idx], self.left[idx] = pos, left
        self.views[idx] = self.core.views(pos)
        self.memory.reset(idx, self.views[idx], pos)

    def fill(self, batch: dict[str, np.ndarray], rows: slice) -> None:
        """Write the dreams' rows of ``batch`` (the sampler's numpy arrays): dreamed view, a move that
        happens, the next cell, and the target (remembered tiles, the true map elsewhere)."""
        action, nxt = moves_that_happen(self.rng, self.pos, self.core.grid)  # as the sampler: only moves that happen
        true = self.core.views(nxt)  # (R, H, W, 3)
        target, known = self.memory.recall(self.idx, nxt, true)  # (R, H, W, 3), (R, g, g)
        batch["view"][rows], batch["action"][rows], batch["next"][rows] = self.views, action, target
        batch["pos"][rows], batch["next_pos"][rows] = self.pos, nxt
        self._next_pos = nxt
        if self.frames:
            s = self.core.task.stride
            self._known = torch.from_numpy(known.repeat(s, 1).repeat(s, 2))[:, None]  # (R, 1, H, W)
            self._true, self._target = true, target

    def prepare(self, t: torch.Tensor, drop: torch.Tensor | None, rows: slice) -> None:
        """Pure noise (``t = 0``: the clean-view estimate is the one-step sample), condition kept."""
        pure_noise(t, drop, rows)

    def loss(self, loss, x1_hat, x_1, action, rows) -> tuple[torch.Tensor, dict]:
        """Keeps the one-step samples (the dreams' next views); with an adversary, its generator term."""
        self._x1_hat = x1_hat[rows].detach()
        if self.adversary is None:
            return loss.new_zeros(()), {}
        adv = self.adversary
        fake = x1_hat[rows]  # (R, C, H, W)
        if self.frames:  # what the dream shows: its remembered pixels (no gradient) and the new strip
            known = self._known.to(fake.device)
            fake = torch.where(known, to_tensor(self._target, fake.device).to(fake.dtype), fake)
        self._fake = adv.bands(fake, action[rows])  # (R, C, band, W)
        adv_loss = adv.generator_loss(self._fake)
        lam = adv.adaptive_weight(loss, adv_loss, self.last)
        return lam * adv_loss, {"losses/rollout_adv_generator": adv_loss.detach(), "charts/rollout_adv_lambda": lam}

    def after_step(self, x_1: torch.Tensor, action: torch.Tensor, rows: slice) -> dict[str, float]:
        """Advance every dream by its one-step sample (remembered tiles put back); restart finished
        ones; with an adversary, one discriminator step on the targets' and the samples' bands."""
        logs: dict[str, float] = {}
        if self.adversary is not None:
            fake, self._fake = self._fake, None
            real = (
                to_tensor(self._true, x_1.device) if self.frames else x_1[rows]
            )  # true frames, or the targets (true strip, dreamed context)
            d = self.adversary.discriminator_step(self.adversary.bands(real, action[rows]), fake)
            logs = {k.replace("disc", "rollout_disc"): v for k, v in d.items()}
        drawn = to_uint8(self._x1_hat)  # (R, H, W, 3)
        self.views, _ = self.memory.recall(self.idx, self._next_pos, drawn, write=True)
        self.pos, self.left = self._next_pos, self.left - 1
        done = np.flatnonzero(self.left <= 0)
        if len(done):
            self._restart(done, np.full(len(done), self.horizon))
        self._x1_hat = self._next_pos = self._known = self._true = self._target = None
        return logs

    def distribute(self) -> None:
        if self.adversary is not None and self.owns_adversary:
            self.adversary.train_disc = torch.nn.parallel.DistributedDataParallel(self.adversary.disc)

    def state_dict(self) -> dict:
        st = {
            "pos": torch.from_numpy(self.pos.copy()),
            "views": torch.from_numpy(self.views.copy()),
            "left": torch.from_numpy(self.left.copy()),
            "tiles": torch.from_numpy(self.memory.tiles.copy()),
            "tags": torch.from_numpy(self.memory.tags.copy()),
            "rng": self.rng.bit_generator.state,
        }
        if self.adversary is not None and self.owns_adversary:
            st["adversary"] = self.adversary.state_dict()
        return st

    def load_state_dict(self, st: dict) -> None:
        if st["views"].shape != self.views.shape:
            raise ValueError(
                f"the checkpoint's rollout state has {tuple(st['views'].shape)} dreams' views, this run "
                f"{self.views.shape}"
            )
        self.pos, self.views, self.left = (
            st["pos"].numpy().copy(),
            st["views"].numpy().copy(),
            st["left"].numpy().copy(),
        )
        self.memory.tiles, self.memory.tags = st["tiles"].numpy().copy(), st["tags"].numpy().copy()
        self.rng.bit_generator.state = st["rng"]
        if self.adversary is not None and self.owns_adversary and st.get("adversary") is not None:
            self.adversary.load_state_dict(st["adversary"])
