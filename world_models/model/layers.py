"""Building blocks: norms, FiLM, attention, transformer block, patchify, encoders.

Shapes: images (B, C, H, W); tokens (B, N, D); conditioning vectors (B, D).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "RMSNorm",
    "make_norm",
    "FiLM",
    "Attention",
    "Block",
    "AdditiveBlock",
    "BLOCKS",
    "FinalLayer",
    "TimestepEmbedding",
    "VisionEncoder",
    "PatchEmbed",
    "patchify",
    "unpatchify",
    "DynamicFilterCopy",
]


class RMSNorm(nn.Module):
    """x / sqrt(mean(x^2) + eps) * weight, computed in fp32 whatever the input dtype."""

    def __init__(self, dim: int, eps: float = 1e-6, affine: bool = True):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim)) if affine else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x32 = x.float()
        y = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)
        if self.weight is not None:
            y = y * self.weight.float()
        return y.to(x.dtype)


class _FP32LayerNorm(nn.LayerNorm):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight.float() if self.weight is not None else None
        b = self.bias.float() if self.bias is not None else None
        return F.layer_norm(x.float(), self.normalized_shape, w, b, self.eps).to(x.dtype)


def make_norm(kind: str, dim: int, affine: bool = True) -> nn.Module:
    """``"rms"`` (RMSNorm) or ``"layer"`` (LayerNorm), both computed in fp32."""
    if kind == "rms":
        return RMSNorm(dim, affine=affine)
    if kind == "layer":
        return _FP32LayerNorm(dim, elementwise_affine=affine)
    raise ValueError(f"norm must be 'rms' or 'layer', got {kind!r}")


class FiLM(nn.Module):
    """Feature-wise linear modulation from a conditioning vector, as ONE zero-initialised Linear.

    ``FiLM(cond_dim, dim, n)`` returns ``3 * n`` chunks of shape (B, 1, dim): a (shift, scale,
    gate) triple per modulated sub-layer, used as ``x * (1 + scale) + shift`` and a residual gate.
    Zero initialisation makes scale = shift = gate = 0, so a block starts as the identity (DiT's adaLN-Zero).
    """

    def __init__(self, cond_dim: int, dim: int, n: int):
        super().__init__()
        self.n = n
        self.proj = nn.Sequential(nn.SiLU(), nn.Linear(cond_dim, 3 * n * dim))
        nn.init.zeros_(self.proj[1].weight)
        nn.init.zeros_(self.proj[1].bias)

    def forward(self, c: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return self.proj(c).unsqueeze(1).chunk(3 * self.n, dim=-1)  # each (B, 1, D)

    @staticmethod
    def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        return x * (1 + scale) + shift


class Attention(nn.Module):
    """Multi-head self-attention through ``F.scaled_dot_product_attention``."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim {dim} must be divisible by heads {heads}")
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, N, D = x.shape
        q, k, v = self.qkv(x).view(B, N, 3, self.heads, D // self.heads).permute(2, 0, 3, 1, 4)  # 3 x (B, H, N, Dh)
        if x.device.type == "cpu" and N <= 128:
            # short sequences on CPU: plain softmax(q k^T / sqrt(d)) v, 2-5x faster than the flash
            # kernel and without the math kernel's masked-row checks
            y = torch.softmax((q @ k.transpose(-2, -1)) * (D // self.heads) ** -0.5, -1) @ v  # (B, H, N, Dh)
        else:
            y = F.scaled_dot_product_attention(q, k, v)
        return self.out(y.transpose(1, 2).reshape(B, N, D))


class _PreNorm(nn.Module):
    """The attention and MLP sub-layers with their pre-norms, shared by both blocks."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float, norm: str, affine: bool):
        super().__init__()
        self.norm1 = make_norm(norm, dim, affine=affine)
        self.attn = Attention(dim, heads)
        self.norm2 = make_norm(norm, dim, affine=affine)
        self.mlp = nn.Sequential(
            nn.Linear(dim, int(dim * mlp_ratio)), nn.GELU(approximate="tanh"), nn.Linear(int(dim * mlp_ratio), dim)
        )


class Block(_PreNorm):
    """Pre-norm transformer block conditioned on ``c`` (B, cond_dim) by FiLM: a (shift, scale, gate)
    triple after each norm, from ONE zero-initialised Linear, so the block starts as the identity
    (DiT's adaLN-Zero). The original research's additive conditioning is
    :class:`AdditiveBlock`, off this path."""

    def __init__(self, dim: int, heads: int, cond_dim: int, mlp_ratio: float = 4.0, norm: str = "rms"):
        super().__init__(dim, heads, mlp_ratio, norm, affine=False)
        self.film = FiLM(cond_dim, dim, 2)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        sh1, sc1, g1, sh2, sc2, g2 = self.film(c)  # each (B, 1, D)
        x = x + g1 * self.attn(FiLM.modulate(self.norm1(x), sh1, sc1))  # (B, N, D)
        return x + g2 * self.mlp(FiLM.modulate(self.norm2(x), sh2, sc2))


class AdditiveBlock(_PreNorm):
    """The original research's block (an ablation row): the conditioning vector is added to the
    tokens before a plain pre-norm block (affine norms); the residual branches are gated by learned,
    zero-initialised per-channel gates, so it too starts as the identity."""

    def __init__(self, dim: int, heads: int, cond_dim: int, mlp_ratio: float = 4.0, norm: str = "rms"):
        super().__init__(dim, heads, mlp_ratio, norm, affine=True)
        self.cond_proj = nn.Linear(cond_dim, dim)
        self.gates = nn.Parameter(torch.zeros(2, dim))

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        x = x + self.cond_proj(c).unsqueeze(1)  # (B, N, D)
        x = x + self.gates[0] * self.attn(self.norm1(x))
        return x + self.gates[1] * self.mlp(self.norm2(x))


#: ``ModelConfig.cond`` -> block class
BLOCKS = {"film": Block, "additive": AdditiveBlock}


class FinalLayer(nn.Module):
    """Norm, FiLM, then a zero-initialised Linear to ``out_dim`` per token."""

    def __init__(self, dim: int, cond_dim: int, out_dim: int, norm: str = "rms"):
        super().__init__()
        self.norm = make_norm(norm, dim, affine=False)
        self.film = FiLM(cond_dim, dim, 1)
        self.linear = nn.Linear(dim, out_dim)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        shift, scale, _ = self.film(c)
        return self.linear(FiLM.modulate(self.norm(x), shift, scale))


class TimestepEmbedding(nn.Module):
    """t in [0, 1] (B,) -> (B, dim): sinusoidal features of 1000 t, then an MLP."""

    def __init__(self, dim: int, freq_dim: int = 128):
        super().__init__()
        self.freq_dim = freq_dim
        self.mlp = nn.Sequential(nn.Linear(freq_dim, dim), nn.SiLU(), nn.Linear(dim, dim))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        half = self.freq_dim // 2
        freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
        args = 1000.0 * t.float()[:, None] * freqs[None]
        return self.mlp(torch.cat([torch.cos(args), torch.sin(args)], -1))


class VisionEncoder(nn.Module):
    """CNN (3 conv blocks with max-pooling) embedding an image (B, C, H, W) -> (B, dim)."""

    def __init__(self, in_ch: int, dim: int, width: int = 32):
        super().__init__()
        layers, ch = [], in_ch
        for i in range(3):
            out = width * 2**i
            layers += [nn.Conv2d(ch, out, 3, padding=1), nn.GroupNorm(8, out), nn.SiLU(), nn.MaxPool2d(2)]
            ch = out
        self.net = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(ch, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def patchify(x: torch.Tensor, p: int) -> torch.Tensor:
    """(B, C, H, W) -> (B, N, p*p*C) with N = (H/p)(W/p), patches in row-major order."""
    B, C, H, W = x.shape
    assert H % p == 0 and W % p == 0, f"image {H}x{W} is not divisible by patch size {p}"
    x = x.view(B, C, H // p, p, W // p, p).permute(0, 2, 4, 3, 5, 1)  # (B, h, w, p, p, C)
    return x.reshape(B, (H // p) * (W // p), p * p * C)


def unpatchify(x: torch.Tensor, p: int, C: int, H: int, W: int) -> torch.Tensor:
    """(B, N, p*p*C) -> (B, C, H, W); the inverse of :func:`patchify`."""
    B, N, _ = x.shape
    assert N == (H // p) * (W // p), f"got {N} tokens for a {H}x{W} image with patch {p}"
    x = x.view(B, H // p, W // p, p, p, C).permute(0, 5, 1, 3, 2, 4)  # (B, C, h, p, w, p)
    return x.reshape(B, C, H, W)


class PatchEmbed(nn.Module):
    """Image (B, C, H, W) -> tokens (B, N, D).

    ``stem="linear"``: non-overlapping patches and a Linear (a conv of kernel p, stride p).
    ``stem="conv"``: an overlapping patch embedding (a conv of kernel 3p, stride p), so every token
    also sees its neighbours' pixels and can copy content that moved in from the next patch.
    """

    def __init__(self, in_ch: int, dim: int, patch: int, stem: str = "linear"):
        super().__init__()
        if stem == "linear":
            self.proj = nn.Conv2d(in_ch, dim, patch, stride=patch)
        elif stem == "conv":
            self.proj = nn.Conv2d(in_ch, dim, 3 * patch, stride=patch, padding=patch, padding_mode="replicate")
        else:
            raise ValueError(f"stem must be 'linear' or 'conv', got {stem!r}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # contiguous: a transposed view would make every later token op strided, and the Linears
        # over it fall back to batched matmuls with broadcast weights (1.5x slower forward on CPU)
        return self.proj(x).flatten(2).transpose(1, 2).contiguous()  # (B, N, D)


class DynamicFilterCopy(nn.Module):
    """A learned, action-conditioned copy of the current view onto the next one.

    Each action (row of a table, with an extra null row for CFG) owns a separable k x k kernel
    ``outer(k_y, k_x)``, each a softmax over k taps, so the result is a convex combination of
    translated copies, applied with ``pad`` padding. A translation by up to k//2 pixels is one
    such kernel, so the model learns the motion of each action from data (a dynamic filter
    network, Jia et al. 2016) instead of routing every pixel through the token bottleneck.

    The logits are ``logit_scale * table``: Adam moves a parameter by about the learning rate per
    step, so without the scale a sharp kernel (logit gaps of ~10) would take tens of thousands of
    steps to learn. Zero-initialised: the filter starts as a uniform blur.

    ``pad``: what is read beyond the view, hence what a translation puts in the newly revealed
    strip: ``"replicate"`` (the edge pixels, one streak per column or row) or ``"mean"`` (each
    image's per-channel mean: a flat base that carries no streaks into the strip).
    """

    def __init__(self, n_actions: int, kernel: int, logit_scale: float = 100.0, pad: str = "replicate"):
        super().__init__()
        if pad not in ("replicate", "mean"):
            raise ValueError(f"pad must be 'replicate' or 'mean', got {pad!r}")
        self.k, self.pad = kernel, pad
        self.logit_scale = logit_scale
        self.table = nn.Parameter(torch.zeros(n_actions, 2, kernel))

    def kernels(self, action: torch.Tensor, detach: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """(k_y, k_x) for actions (B,): each (B, k), summing to 1."""
        table = self.table.detach() if detach else self.table
        w = (self.logit_scale * table[action]).float().softmax(-1)  # (B, 2, k)
        return w[:, 0], w[:, 1]

    def beyond(self, action: torch.Tensor, height: int, width: int) -> torch.Tensor:
        """The share of each output pixel the copy reads from beyond the view (padding), for actions
        (B,): 1 in the strip a translation reveals, 0 where it copies the view. -> (B, 1, H, W),
        no gradient to the kernels."""
        r = self.k // 2
        w_y, w_x = self.kernels(action, detach=True)  # (B, k) each
        inside_y = F.conv1d(F.pad(w_y.new_ones(1, 1, height), (r, r)), w_y[:, None])  # (1, B, H): weight on rows inside
        inside_x = F.conv1d(F.pad(w_x.new_ones(1, 1, width), (r, r)), w_x[:, None])  # (1, B, W)
        return (1 - inside_y[0, :, :, None] * inside_x[0, :, None, :])[:, None]

    def forward(self, view: torch.Tensor, action: torch.Tensor, detach: bool = False) -> torch.Tensor:
        """``detach``: no gradient reaches the kernel table (the view still gets gradients)."""
        k, r = self.k, self.k // 2
        B, C, H, W = view.shape
        w_y, w_x = self.kernels(action, detach)  # (B, k) each
        # one grouped (depthwise) convolution per axis, every sample's channels with its own kernel:
        # 20x faster on CPU than an einsum over unfolded windows (same result)
        v = view.float()
        if self.pad == "mean":
            mean = v.mean((2, 3), keepdim=True)  # (B, C, 1, 1)
            x = F.pad(v - mean, (r, r, r, r)) + mean
        else:
            x = F.pad(v, (r, r, r, r), mode="replicate")
        x = x.reshape(1, B * C, H + 2 * r, W + 2 * r)
        x = F.conv2d(x, w_y.repeat_interleave(C, 0).view(B * C, 1, k, 1), groups=B * C)  # (1, B*C, H, W+2r)
        x = F.conv2d(x, w_x.repeat_interleave(C, 0).view(B * C, 1, 1, k), groups=B * C)  # (1, B*C, H, W)
        return x.view(B, C, H, W).to(view.dtype)
