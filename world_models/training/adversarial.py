"""Adversarial fine-tuning of the one-step sampler, as in adversarial diffusion distillation (ADD).

One sampler step from pure noise returns the model's estimate of ``E[x_1 | view, action]``: where
the newly revealed strip is uncertain that is a blur, and over a dreamed rollout the blurred strips
pile up (the view turns into a smear). A discriminator that sees the *revealed band* (the new strip
and the context it has to continue, turned so the revealed edge is on top) rewards a sharp,
plausible strip instead. The flow loss keeps training alongside, at every t, so the model stays a
faithful flow model and the copy of the known region is untouched.

* :func:`revealed_band`: (B, C, H, W) + actions -> (B, C, width, W), the revealed edge on top.
* :class:`BandDiscriminator`: a small PatchGAN on such bands (spectral norm, optionally R1;
  optionally also their high-pass and chromaticity residuals, :mod:`world_models.training.realism`,
  which it otherwise barely sees).
* :class:`Adversary`: the discriminator, its optimiser, the hinge losses and the adaptive weight
  of the generator's adversarial term (VQGAN, Esser et al. 2021): the adversarial gradient at the
  model's output layer is scaled to ``weight`` times the norm of the flow loss's gradient there,
  so one ``weight`` suits any model and loss scale.

The generator's samples are the first ``B_adv`` rows of the training batch, drawn at ``t = 0``
(pure noise) with their condition kept: the model's clean-view estimate there *is* the one-step
Euler sample, so the flow loss and the adversarial term share one forward (and one DDP reducer).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from world_models.training.plugins import TrainerPlugin
from world_models.training.realism import chroma_residual, high_pass
from worldgen_core import dynamics as dyn

__all__ = ["revealed_band", "BandDiscriminator", "Adversary", "AdvArgs", "AdversarialPlugin"]


def revealed_band(x: torch.Tensor, action: torch.Tensor, width: int) -> torch.Tensor:
    """The ``width``-px band at the edge each action reveals, turned so that edge is on top.

    ``x`` (B, C, H, W), ``action`` (B,) long -> (B, C, width, W) (square views: H == W). Up reveals
    the top rows, down the bottom rows (flipped), left the first columns (transposed), right the
    last columns (transposed and flipped).
    """
    assert x.dim() == 4 and x.shape[-1] == x.shape[-2], (
        f"revealed_band needs square (B, C, H, W) views, got {tuple(x.shape)}"
    )
    assert action.shape == (x.shape[0],), f"action must be ({x.shape[0]},), got {tuple(action.shape)}"
    xt = x.transpose(-1, -2)
    turn = {dyn.UP: x, dyn.DOWN: x.flip(-2), dyn.LEFT: xt, dyn.RIGHT: xt.flip(-2)}
    turned = torch.stack([turn[a] for a in range(4)])  # (4, B, C, H, W): row a turns for action a
    return turned[action, torch.arange(x.shape[0], device=x.device), :, :width]


class BandDiscriminator(nn.Module):
    """PatchGAN on revealed bands: (B, C, width, W) in [-1, 1] -> logits (B, 1, width / 4, W / 4).

    Each logit sees about 22 x 22 px, enough to judge a strip against the context above and
    below it. ``spectral``: spectral norm on every conv (stable without a gradient penalty, but a
    1-Lipschitz discriminator barely reacts to low-amplitude high-frequency noise, which a
    generator then learns to add; ``highpass`` shows it that noise); without it the discriminator is
    unregularised.
    """

    def __init__(
        self, channels: int = 3, width: int = 64, spectral: bool = True, highpass: bool = False, chroma: bool = False
    ):
        super().__init__()
        sn = spectral_norm if spectral else (lambda m: m)
        self.highpass, self.chroma = highpass, chroma
        self.net = nn.Sequential(
            sn(nn.Conv2d(channels * (1 + highpass + chroma), width, 4, 2, 1)),
            nn.LeakyReLU(0.2),
            sn(nn.Conv2d(width, 2 * width, 4, 2, 1)),
            nn.LeakyReLU(0.2),
            sn(nn.Conv2d(2 * width, 4 * width, 3, 1, 1)),
            nn.LeakyReLU(0.2),
            sn(nn.Conv2d(4 * width, 1, 3, 1, 1)),
        )

    def forward(self, band: torch.Tensor) -> torch.Tensor:
        x = band.float()
        parts = [x]
        if self.highpass:
            parts.append(high_pass(x))
        if self.chroma:
            parts.append(chroma_residual(x))
        return self.net(torch.cat(parts, 1))  # input (B, C * (1 + highpass + chroma), width, W)


class Adversary:
    """The discriminator side of adversarial fine-tuning, and the generator's adversarial loss.

    ``band``: width of the revealed band the discriminator sees (the 8-px strip and its context).
    ``weight``: the adversarial term's size relative to the flow loss (adaptive, see the module).
    """

    def __init__(
        self,
        device,
        band: int = 24,
        weight: float = 0.5,
        lr: float = 2e-4,
        channels: int = 3,
        spectral: bool = True,
        highpass: bool = True,
        chroma: bool = False,
    ):
        self.band, self.weight = band, weight
        self.steps = 0
        self.disc = BandDiscriminator(channels, spectral=spectral, highpass=highpass, chroma=chroma).to(device)
        # what discriminator_step calls (DistributedDataParallel(disc) under torchrun)
        self.train_disc: nn.Module = self.disc
        self.opt = torch.optim.AdamW(self.disc.parameters(), lr=lr, betas=(0.0, 0.99), weight_decay=0.0)

    def bands(self, x: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        return revealed_band(x, action, self.band)

    def generator_loss(self, fake_band: torch.Tensor) -> torch.Tensor:
        """Hinge generator loss ``-D(fake)``; the discriminator's weights get no gradient."""
        self.disc.requires_grad_(False)
        try:
            return -self.disc(fake_band).mean()
        finally:
            self.disc.requires_grad_(True)

    def adaptive_weight(self, rec_loss: torch.Tensor, adv_loss: torch.Tensor, last: torch.Tensor) -> torch.Tensor:
        """``weight * |grad_last rec| / |grad_last adv|`` (detached, clamped to [0, 1e4])."""
        g_rec = torch.autograd.grad(rec_loss, last, retain_graph=True)[0]
        g_adv = torch.autograd.grad(adv_loss, last, retain_graph=True)[0]
        return (self.weight * g_rec.norm() / (g_adv.norm() + 1e-6)).clamp(0, 1e4).detach()

    def discriminator_step(self, real_band: torch.Tensor, fake_band: torch.Tensor) -> dict[str, float]:
        """One hinge-loss step of the discriminator on real and (detached) generated bands."""
        # one forward (one DDP reducer pass)
        d_real, d_fake = self.train_disc(torch.cat([real_band.detach().float(), fake_band.detach().float()])).chunk(2)
        loss = F.relu(1 - d_real).mean() + F.relu(1 + d_fake).mean()
        logs = {
            "losses/disc": loss.item(),
            "charts/disc_real": d_real.mean().item(),
            "charts/disc_fake": d_fake.mean().item(),
        }
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.steps += 1
        return logs

    def state_dict(self) -> dict:
        return {"disc": self.disc.state_dict(), "opt": self.opt.state_dict(), "steps": self.steps}

    def load_state_dict(self, st: dict) -> None:
        self.disc.load_state_dict(st["disc"])
        self.opt.load_state_dict(st["opt"])
        self.steps = int(st.get("steps", 0))


@dataclass
class AdvArgs:
    """Adversarial fine-tuning of the one-step sampler (world_models.training.adversarial; flow only)."""

    weight: float = 0.0
    """size of the adversarial term relative to the flow loss, adaptive as in VQGAN (0: off)"""
    batch: int = 32
    """extra samples per step drawn at t = 0, whose one-step samples the discriminator judges (0 with --rollout.batch:
    the discriminator judges the dreams' rows only)"""
    band: int = 24
    """width (px) of the revealed band the discriminator sees"""
    lr: float = 2e-4
    """the discriminator's learning rate"""
    spectral: bool = True
    """spectral norm on the discriminator's convs"""
    highpass: bool = True
    """the discriminator also sees the bands' high-pass residual (x - its 3x3 blur, x8), so that speckle, streaks and
    grain weigh as much as layout for its 1-Lipschitz convs"""
    chroma: bool = False
    """the discriminator also sees the high-pass residual of the chromaticity (rgb / its mean, x32), where a generator's
    per-channel errors show and brightness grain does not; on RGB and its high-pass it cannot see them"""

    def check(self, a) -> None:
        """``a``: the trainer's settings (the adversary sharpens the flow's one-step sampler; the dreams may share
        it)."""
        if self.weight < 0 or (self.weight > 0 and a.experiment != "world_flow"):
            raise SystemExit(
                f"error: --adv.weight must be >= 0, and > 0 only with --experiment world_flow (its one-step "
                f"sampler is what it sharpens); got {self.weight} with {a.experiment!r}"
            )
        if self.chroma and not self.weight > 0:
            raise SystemExit(
                f"error: --adv.chroma needs --adv.weight > 0 (it is an input of the discriminator); got {self.weight}"
            )
        if self.weight > 0 and (self.batch < (0 if a.rollout.batch else 1) or not 8 <= self.band <= 64):
            raise SystemExit(
                "error: --adv.batch must be >= 1 (>= 0 with --rollout.batch) and --adv.band in [8, 64], got "
                f"{self.batch} and {self.band}"
            )

    def make(self, device, channels: int, band: int | None = None) -> Adversary:
        """The adversary these settings describe (``band``: instead of ``self.band``, e.g. whole views)."""
        return Adversary(
            device,
            band or self.band,
            self.weight,
            self.lr,
            channels,
            spectral=self.spectral,
            highpass=self.highpass,
            chroma=self.chroma,
        )


class AdversarialPlugin(TrainerPlugin):
    """The adversary as a trainer plug-in (:class:`world_models.training.plugins.TrainerPlugin`).

    It adds ``rows`` samples to each batch, drawn at ``t = 0`` with their condition kept (their
    clean-view estimate is the one-step sample), adds the adaptive-weight generator term to the
    loss (``last``: the model's output-layer weight, ``model.last_layer()``, where the adaptive
    weight compares the gradients), steps the discriminator after each optimiser step, and keeps
    its state in the checkpoint under ``name``.
    """

    name = "adversary"
    keeps_state = True

    def __init__(self, adversary: Adversary, rows: int, last: torch.Tensor):
        self.adversary, self.rows, self.last = adversary, rows, last
        self._fake: torch.Tensor | None = None

    def prepare(self, t: torch.Tensor, drop: torch.Tensor | None, rows: slice) -> None:
        """Set this plug-in's rows of the batch: pure noise (``t = 0``), condition never dropped."""
        pure_noise(t, drop, rows)

    def loss(self, loss, x1_hat, x_1, action, rows) -> tuple[torch.Tensor, dict]:
        """``lambda * adv`` for the flow ``loss`` (lambda: the adaptive weight at ``last``)."""
        adv = self.adversary
        self._fake = adv.bands(x1_hat[rows], action[rows])  # (rows, C, band, W)
        adv_loss = adv.generator_loss(self._fake)
        lam = adv.adaptive_weight(loss, adv_loss, self.last)
        return lam * adv_loss, {"losses/adv_generator": adv_loss.detach(), "charts/adv_lambda": lam}

    def after_step(self, x_1: torch.Tensor, action: torch.Tensor, rows: slice) -> dict[str, float]:
        """One discriminator step on this step's real and generated bands."""
        fake, self._fake = self._fake, None
        return self.adversary.discriminator_step(self.adversary.bands(x_1[rows], action[rows]), fake)

    def distribute(self) -> None:
        """Under torchrun: the discriminator's steps go through DistributedDataParallel."""
        self.adversary.train_disc = torch.nn.parallel.DistributedDataParallel(self.adversary.disc)

    def state_dict(self) -> dict:
        return self.adversary.state_dict()

    def load_state_dict(self, st: dict) -> None:
        self.adversary.load_state_dict(st)


def pure_noise(t: torch.Tensor, drop: torch.Tensor | None, rows: slice) -> None:
    """Rows ``rows`` train at ``t = 0`` (their clean-view estimate is the one-step sample), their condition kept."""
    t[rows] = 0.0
    if drop is not None:
        drop[rows] = False
