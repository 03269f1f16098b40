"""DiT (unconditional) and WorldDiT (next view from current view + action), with their configs.

Both models share one call signature, used by every process and sampler::

    out = model(x_t, t, view=None, action=None, drop=None)   # (B, C, H, W)

``x_t`` (B, C, H, W) noisy target in [-1, 1] units, ``t`` (B,) in [0, 1], ``view`` (B, C, H, W)
current view in [-1, 1], ``action`` (B,) long, ``drop`` (B,) bool: replace the condition by the
null condition (null action row, zero view, no place) for classifier-free guidance. A WorldDiT
with a place field (``ModelConfig.place_rows``) also takes ``place`` (B, 2) long: the next view's
top-left cell on the map it was trained on (None: the field is left out). ``out`` is the clean
next view (``prediction="x1"``) or the process's own target (``prediction="native"``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from world_models.model.layers import (
    BLOCKS,
    DynamicFilterCopy,
    FinalLayer,
    PatchEmbed,
    TimestepEmbedding,
    VisionEncoder,
    unpatchify,
)

__all__ = ["ModelConfig", "PRESETS", "preset", "DiT", "WorldDiT", "build_model"]


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild a model; saved in every checkpoint as a plain dict.

    Attributes:
        kind: ``"dit"`` (unconditional image model) or ``"world"`` (WorldDiT).
        conditioning: ``"global"`` (a CNN embedding of the current view joins time and action in
            the FiLM vector, as in the original research) or ``"spatial"`` (the current view's
            pixels are concatenated with the noisy target before the patch embedding).
        cond: ``"film"`` or ``"additive"`` conditioning of the transformer blocks.
        norm: ``"rms"`` or ``"layer"``.
        stem: ``"linear"`` (non-overlapping patches) or ``"conv"`` (overlapping patch embedding).
        prediction: ``"native"`` (the network outputs epsilon for DDPM, velocity for flow matching)
            or ``"x1"`` (it outputs the clean next view; the process converts it to its target).
        copy_kernel: size of the learned action-conditioned copy filter (0: none; spatial only).
        copy_pad: what the copy filter reads beyond the current view, i.e. what it puts in the
            newly revealed strip: ``"replicate"`` (the edge pixels, stretched across the strip) or
            ``"mean"`` (the view's mean colour, a flat base without the edge's streaks).
        place_rows, place_cols: the size, in patches, of a learned *place field* over the map the
            model is trained on (0: none). Each patch-sized cell of the map has a ``place_dim``
            vector; the next view's tokens receive the vectors of the cells they show, through one
            zero-initialised Linear. The field is the model's knowledge of its map: what is
            beyond the current view, at the place the known motion says the view is.
        place_decoder: also decode each token's field vector straight to its pixels (one
            zero-initialised Linear, ``place_dim -> patch * patch * channels``), added where the
            copy filter reads beyond the view (the newly revealed strip). A token carries only
            ``dim`` numbers to the output layer, so through the transformer alone the field cannot
            be more exact than a ``dim``-dimensional code of each 8x8x3 patch; the decoder gives the
            strip a direct path from the field (a feature grid with a linear decoder, as neural
            fields do). Needs a place field and the copy filter.
    """

    kind: str = "world"
    img_size: int = 64
    channels: int = 3
    patch: int = 8
    dim: int = 128
    depth: int = 6
    heads: int = 4
    mlp_ratio: float = 4.0
    norm: str = "rms"
    cond: str = "film"
    conditioning: str = "spatial"
    stem: str = "conv"
    prediction: str = "x1"
    copy_kernel: int = 17
    copy_pad: str = "mean"
    n_actions: int = 4
    place_rows: int = 0
    place_cols: int = 0
    place_dim: int = 128
    place_decoder: bool = False

    def __post_init__(self):
        choices = {
            "kind": ("dit", "world"),
            "norm": ("rms", "layer"),
            "cond": ("film", "additive"),
            "conditioning": ("global", "spatial"),
            "stem": ("linear", "conv"),
            "prediction": ("native", "x1"),
            "copy_pad": ("replicate", "mean"),
        }
        for k, ok in choices.items():
            if getattr(self, k) not in ok:
                raise ValueError(f"ModelConfig.{k} must be one of {ok}, got {getattr(self, k)!r}")
        if self.img_size % self.patch:
            raise ValueError(f"img_size {self.img_size} must be divisible by patch {self.patch}")
        if self.dim % self.heads:
            raise ValueError(f"dim {self.dim} must be divisible by heads {self.heads}")
        if self.copy_kernel and (
            self.copy_kernel % 2 == 0
            or self.kind != "world"
            or self.conditioning != "spatial"
            or self.prediction != "x1"
        ):
            raise ValueError(
                f"copy_kernel must be 0, or odd with kind='world', conditioning='spatial' and prediction='x1'; "
                f"got {self.copy_kernel} ({self.kind}, {self.conditioning}, {self.prediction})"
            )
        g = self.img_size // self.patch
        if (self.place_rows or self.place_cols) and (
            self.kind != "world" or min(self.place_rows, self.place_cols) < g or self.place_dim < 1
        ):
            raise ValueError(
                f"a place field needs kind='world', place_rows and place_cols >= {g} (one view) and place_dim >= 1; "
                f"got {self.kind!r}, {self.place_rows}x{self.place_cols}x{self.place_dim}"
            )
        if self.place_decoder and not (self.place_rows and self.copy_kernel):
            raise ValueError(
                "place_decoder=True needs a place field (place_rows, place_cols > 0) and the copy filter "
                f"(copy_kernel > 0), which says where the view is new; got {self.place_rows}x{self.place_cols}, "
                f"copy_kernel {self.copy_kernel}"
            )

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(
                f"unknown ModelConfig fields {sorted(unknown)}: the checkpoint comes from another version of "
                "world_models"
            )
        return cls(**{"copy_pad": "replicate", "place_dim": 64, **d})  # the defaults before these fields were saved


def _config(sizes: dict, overrides: dict) -> ModelConfig:
    kw = {**sizes, **overrides}
    if "copy_kernel" not in overrides and (
        kw.get("kind") == "dit" or kw.get("conditioning") == "global" or kw.get("prediction") == "native"
    ):
        kw["copy_kernel"] = 0  # the copy filter only exists for spatial WorldDiTs that predict x1
    return ModelConfig(**kw)


def tiny(**overrides) -> ModelConfig:
    """dim 64, depth 2: tests and smoke runs."""
    return _config(dict(dim=64, depth=2, heads=4), overrides)


def small(**overrides) -> ModelConfig:
    """dim 128, depth 6, 64 tokens: the default WorldDiT (2.4M parameters)."""
    return _config(dict(dim=128, depth=6, heads=4), overrides)


def base(**overrides) -> ModelConfig:
    """dim 256, depth 8."""
    return _config(dict(dim=256, depth=8, heads=8), overrides)


def seed(**overrides) -> ModelConfig:
    """The original research's WorldDiT: dim 256, depth 3, patch 4 (256 tokens), global conditioning,
    linear stem, native prediction, no copy filter."""
    return _config(
        dict(
            patch=4, dim=256, depth=3, heads=8, conditioning="global", stem="linear", prediction="native", copy_kernel=0
        ),
        overrides,
    )


#: Size presets, as small constructors (DiT's ``DiT_S_2`` style): ``PRESETS["small"](kind="dit")``.
PRESETS = {"tiny": tiny, "small": small, "base": base, "seed": seed}


def preset(name: str, **overrides) -> ModelConfig:
    """The config of a size preset, with field overrides (``preset("small", kind="dit")``)."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    return PRESETS[name](**overrides)


class DiT(nn.Module):
    """Diffusion Transformer: patchify -> transformer blocks with FiLM(time) -> unpatchify."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.n_tokens = (config.img_size // config.patch) ** 2
        in_ch = config.channels * (2 if config.kind == "world" and config.conditioning == "spatial" else 1)
        self.patch_embed = PatchEmbed(in_ch, config.dim, config.patch, config.stem)
        self.pos_embed = nn.Parameter(torch.randn(1, self.n_tokens, config.dim) * 0.02)
        self.t_embed = TimestepEmbedding(config.dim)
        self.blocks = nn.ModuleList(
            BLOCKS[config.cond](config.dim, config.heads, config.dim, config.mlp_ratio, config.norm)
            for _ in range(config.depth)
        )
        self.final = FinalLayer(config.dim, config.dim, config.patch * config.patch * config.channels, config.norm)
        self.apply(self._init)

    @staticmethod
    def _init(m: nn.Module) -> None:
        # Xavier for plain Linears; FiLM and output layers re-zero themselves after this runs.
        if isinstance(m, nn.Linear) and m.weight.abs().sum() > 0:
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)

    def _check(self, x_t: torch.Tensor, t: torch.Tensor) -> None:
        config = self.config
        want = (config.channels, config.img_size, config.img_size)
        assert x_t.shape[1:] == want, f"x_t must be (B, {', '.join(map(str, want))}), got {tuple(x_t.shape)}"
        assert t.shape == (x_t.shape[0],), f"t must be (B,) = ({x_t.shape[0]},), got {tuple(t.shape)}"

    def condition(self, t: torch.Tensor, view=None, action=None, drop=None) -> tuple[torch.Tensor, dict]:
        """The conditioning vector (B, D) and extra per-sample inputs; overridden by WorldDiT."""
        return self.t_embed(t), {}

    def last_layer(self) -> nn.Parameter:
        """The output layer's weight: where an adversary's adaptive weight compares the gradients of two losses."""
        return self.final.linear.weight

    def backbone(self, x_in: torch.Tensor, c: torch.Tensor, extra_tokens: torch.Tensor | None = None) -> torch.Tensor:
        config = self.config
        h = self.patch_embed(x_in) + self.pos_embed  # (B, N, D)
        if extra_tokens is not None:
            h = h + extra_tokens
        for blk in self.blocks:
            h = blk(h, c)
        out = self.final(h, c)  # (B, N, p*p*C)
        return unpatchify(out, config.patch, config.channels, config.img_size, config.img_size)

    def forward(self, x_t, t, view=None, action=None, drop=None, aux_target=None, place=None):
        self._check(x_t, t)
        c, _ = self.condition(t)
        out = self.backbone(x_t, c)
        return out if aux_target is None else (out, out.new_zeros((), dtype=torch.float32))


class WorldDiT(DiT):
    """DiT conditioned on the current view and an action: predicts the next view.

    Actions enter through an embedding table with an extra null row (index ``n_actions``) for
    classifier-free guidance; the null view is the zero image.
    """

    def __init__(self, config: ModelConfig):
        if config.kind != "world":
            raise ValueError(f"WorldDiT needs kind='world', got {config.kind!r}")
        super().__init__(config)
        self.null_action = config.n_actions
        self.action_embed = nn.Embedding(config.n_actions + 1, config.dim)
        nn.init.normal_(self.action_embed.weight, std=0.02)
        if config.conditioning == "global":
            self.view_encoder = VisionEncoder(config.channels, config.dim)
            self.cond_proj = nn.Linear(3 * config.dim, config.dim)
        else:
            self.cond_proj = nn.Linear(2 * config.dim, config.dim)
        self.copy = (
            DynamicFilterCopy(config.n_actions + 1, config.copy_kernel, pad=config.copy_pad)
            if config.copy_kernel
            else None
        )
        if config.place_rows:
            # a zero field (a pretrained model's output is unchanged at the start) read through a random
            # projection, so the field's gradients flow from the first step (a zero projection would
            # leave the field without any until the projection had grown)
            self.place_field = nn.Parameter(
                torch.zeros(config.place_rows, config.place_cols, config.place_dim)
            )  # (R, C, P)
            self.place_proj = nn.Linear(config.place_dim, config.dim, bias=False)
            nn.init.xavier_uniform_(self.place_proj.weight)
        if config.place_decoder:  # zero: a model given a decoder starts as it was
            self.place_out = nn.Linear(config.place_dim, config.patch * config.patch * config.channels)
            nn.init.zeros_(self.place_out.weight)
            nn.init.zeros_(self.place_out.bias)

    @property
    def has_place(self) -> bool:
        return self.config.place_rows > 0

    def place_tokens(self, vec: torch.Tensor, drop: torch.Tensor | None = None) -> torch.Tensor:
        """The tokens' share of the field: its vectors ``vec`` (B, N, P) (:meth:`place_vectors`)
        projected -> (B, N, D); rows in ``drop`` get none (the null condition)."""
        out = self.place_proj(vec.to(self.place_proj.weight.dtype))  # (B, N, D)
        if drop is not None:
            out = out * (~drop).to(out.dtype)[:, None, None]
        return out

    def place_pixels(self, vec: torch.Tensor, action: torch.Tensor, drop: torch.Tensor | None = None) -> torch.Tensor:
        """The place decoder's image for views whose tokens' field vectors are ``vec`` (B, N, P)
        (:meth:`place_vectors`), reached by ``action`` (B,): each vector decoded to its patch, kept
        where the copy filter reads beyond the view (the revealed strip), zero elsewhere and for
        rows in ``drop``. -> (B, C, H, W)."""
        config = self.config
        img = unpatchify(
            self.place_out(vec.to(self.place_out.weight.dtype)),
            config.patch,
            config.channels,
            config.img_size,
            config.img_size,
        )
        img = img * self.copy.beyond(action, config.img_size, config.img_size).to(img.dtype)  # (B, C, H, W)
        if drop is not None:
            img = img * (~drop).to(img.dtype)[:, None, None, None]
        return img

    def place_vectors(self, place: torch.Tensor) -> torch.Tensor:
        """The field's raw vectors for the tokens of views at cells ``place`` (B, 2) -> (B, N, P)."""
        config = self.config
        g = config.img_size // config.patch
        B = place.shape[0]
        assert place.shape == (B, 2), f"place must be (B, 2) cells, got {tuple(place.shape)}"
        lim = torch.tensor([config.place_rows - g, config.place_cols - g], device=place.device)
        if ((place < 0) | (place > lim)).any():
            raise ValueError(
                f"place cells must lie in [0, {config.place_rows - g}] x [0, {config.place_cols - g}] (the map the "
                "place field "
                f"was trained on), got {place.min(0).values.tolist()}..{place.max(0).values.tolist()}"
            )
        k = torch.arange(g, device=place.device)
        rows = (place[:, 0, None] + k)[:, :, None].expand(
            B, g, g
        )  # (B, g, g): each token's cell, row-major as the patches
        cols = (place[:, 1, None] + k)[:, None, :].expand(B, g, g)
        return self.place_field[rows, cols].reshape(B, g * g, -1)  # (B, N, P)

    def condition(self, t, view=None, action=None, drop=None):
        config = self.config
        B = t.shape[0]
        if view is None or action is None:
            raise ValueError("WorldDiT needs view= (B, C, H, W) and action= (B,) to predict the next view")
        want = (B, config.channels, config.img_size, config.img_size)
        assert view.shape == want, f"view must be {want}, got {tuple(view.shape)}"
        assert action.shape == (B,), f"action must be ({B},), got {tuple(action.shape)}"
        if drop is not None:
            action = torch.where(drop, torch.full_like(action, self.null_action), action)
            view = view * (~drop).to(view.dtype)[:, None, None, None]
        a = self.action_embed(action)  # (B, D)
        parts = [self.t_embed(t), a]
        if config.conditioning == "global":
            parts.append(self.view_encoder(view))
        return self.cond_proj(torch.cat(parts, -1)), {"view": view, "action": action}

    def forward(self, x_t, t, view=None, action=None, drop=None, aux_target=None, place=None):
        """``aux_target`` (training): the true next view; then returns ``(out, aux_loss)``, the
        auxiliary loss computed inside this same forward (so DistributedDataParallel sees it).
        ``place`` (B, 2): the next view's cell, for a model with a place field (None: left out)."""
        self._check(x_t, t)
        c, extra = self.condition(t, view, action, drop)
        x_in = torch.cat([x_t, extra["view"].to(x_t.dtype)], 1) if self.config.conditioning == "spatial" else x_t
        if place is not None and not self.has_place:
            raise ValueError("place= was given, but this WorldDiT has no place field (ModelConfig.place_rows = 0)")
        vec = self.place_vectors(place) if place is not None else None  # (B, N, P), gathered once for both uses
        tokens = self.place_tokens(vec, drop) if vec is not None else None
        out = self.backbone(x_in, c, tokens)
        if self.copy is not None:  # the motion model: trained by the auxiliary loss alone, hence detached here
            out = out + self.copy(extra["view"], extra["action"], detach=True)
        if vec is not None and self.config.place_decoder:
            out = out + self.place_pixels(vec, extra["action"], drop)
        if aux_target is None:
            return out
        return out, self.aux_loss(view, action, aux_target)

    def aux_loss(self, view: torch.Tensor, action: torch.Tensor, x_1: torch.Tensor) -> torch.Tensor:
        """The copy filter, on its own, regresses the next view: MSE(copy(view, action), x_1).

        The filter is trained by this regression alone (``forward`` uses it detached): the
        diffusion/flow loss, dominated by samples near t = 1 where the noisy target already shows
        the answer, would otherwise pull it towards a blur. Regression converges to the exact
        translation of each action within a few hundred steps; the transformer then learns, as a
        generative residual, what a copy cannot know (the newly revealed strip). Uses the view and
        action before any CFG condition dropout.

        The loss leaves out a ``kernel // 2`` px frame: there the copy reads replicate padding (or,
        at the revealed edge, cannot know the answer), and a blurred kernel would lower the error
        there at the cost of blurring the whole known region, which compounds over a rollout.
        """
        if self.copy is None:
            return x_1.new_zeros((), dtype=torch.float32)
        m = self.copy.k // 2
        inner = (..., slice(m, -m), slice(m, -m))  # (B, C, H - 2m, W - 2m)
        return F.mse_loss(self.copy(view, action).float()[inner], x_1.float()[inner])


def build_model(config: ModelConfig | dict) -> DiT:
    """The model a config describes (a plain dict from a checkpoint is accepted)."""
    if isinstance(config, dict):
        config = ModelConfig.from_dict(config)
    return WorldDiT(config) if config.kind == "world" else DiT(config)
