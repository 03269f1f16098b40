"""world_models.model.dit and world_models.model.layers: presets, shapes, blocks, the copy filter."""

import pytest
import torch
from helpers import random_cond

from world_models import build_model, preset
from world_models.model.dit import ModelConfig
from world_models.model.layers import BLOCKS, DynamicFilterCopy, RMSNorm, patchify, unpatchify


@pytest.mark.parametrize(
    "overrides",
    [
        dict(kind="dit"),
        dict(),
        dict(conditioning="global"),
        dict(norm="layer", cond="additive"),
        dict(stem="linear", prediction="native"),
        dict(patch=4),
    ],
)
def test_model_shapes(overrides):
    m = build_model(preset("tiny", **overrides))
    x, t = torch.randn(3, 3, 64, 64), torch.rand(3)
    out = m(x, t, **random_cond()) if m.config.kind == "world" else m(x, t)
    assert out.shape == (3, 3, 64, 64)


def test_seed_preset_is_the_original_model():
    c = preset("seed")
    assert (c.dim, c.depth, c.patch, c.conditioning, c.prediction) == (256, 3, 4, "global", "native")


def test_bad_shapes_and_configs_are_reported():
    m = build_model(preset("tiny"))
    with pytest.raises(AssertionError, match=r"x_t must be \(B, 3, 64, 64\), got \(2, 3, 32, 32\)"):
        m(torch.randn(2, 3, 32, 32), torch.rand(2), **random_cond(2))
    with pytest.raises(ValueError, match="needs view="):
        m(torch.randn(2, 3, 64, 64), torch.rand(2))
    with pytest.raises(ValueError, match="norm must be one of"):
        ModelConfig(norm="batch")
    with pytest.raises(ValueError, match="unknown preset"):
        preset("huge")


def test_patchify_roundtrip():
    x = torch.randn(2, 3, 64, 64)
    assert torch.equal(unpatchify(patchify(x, 8), 8, 3, 64, 64), x)
    assert patchify(x, 8).shape == (2, 64, 192)


def test_zero_initialised_block_is_identity():
    for cond in ("film", "additive"):
        blk = BLOCKS[cond](32, 4, 16)
        x, c = torch.randn(2, 10, 32), torch.randn(2, 16)
        assert torch.allclose(blk(x, c), x + (blk.cond_proj(c).unsqueeze(1) if cond == "additive" else 0))


def test_rmsnorm_runs_in_fp32():
    n = RMSNorm(8)
    x = (torch.randn(4, 8) * 100).bfloat16()
    y = n(x)
    assert y.dtype == torch.bfloat16
    ref = x.float() / x.float().pow(2).mean(-1, keepdim=True).add(1e-6).sqrt()
    assert torch.allclose(y.float(), ref, atol=2e-2)


def test_dynamic_filter_can_express_a_translation():
    dc = DynamicFilterCopy(4, 17)
    with torch.no_grad():
        dc.table[1] = -1e3
        dc.table[1, 0, 8 + 8] = dc.table[1, 1, 8] = 1e3  # action 1: shift 8 rows, 0 columns
    v = torch.randn(1, 3, 64, 64)
    y = dc(v, torch.tensor([1]))
    assert torch.allclose(y[:, :, :-8], v[:, :, 8:], atol=1e-5)
    assert torch.allclose(y[:, :, -8:], v[:, :, -1:].expand(-1, -1, 8, -1), atol=1e-5)  # replicate edge fill
    mean = DynamicFilterCopy(4, 17, pad="mean")
    mean.load_state_dict(dc.state_dict())
    y = mean(v, torch.tensor([1]))
    assert torch.allclose(y[:, :, :-8], v[:, :, 8:], atol=1e-5)  # the known part is the same translation
    assert torch.allclose(y[:, :, -8:], v.mean((2, 3), keepdim=True).expand(-1, -1, 8, 64), atol=1e-5)  # a flat strip
    with pytest.raises(ValueError, match="pad must be"):
        DynamicFilterCopy(4, 17, pad="reflect")
    # what the translation reads from beyond the view: exactly the 8 revealed rows
    beyond = dc.beyond(torch.tensor([1]), 64, 64)  # (1, 1, 64, 64)
    assert torch.allclose(beyond[0, 0, -8:], torch.ones(8, 64), atol=1e-5) and torch.allclose(
        beyond[0, 0, :-8], torch.zeros(56, 64), atol=1e-5
    )
    with pytest.raises(ValueError, match="copy_pad"):
        preset("tiny", copy_pad="zeros")
    assert build_model(preset("tiny", copy_pad="mean")).copy.pad == "mean"
    assert (
        ModelConfig.from_dict({k: v for k, v in preset("tiny").to_dict().items() if k != "copy_pad"}).copy_pad
        == "replicate"
    )  # older checkpoints


def test_place_field_reads_the_cells_the_next_view_shows():
    m = build_model(preset("tiny", place_rows=12, place_cols=15, place_dim=4))
    x, t, cond = torch.randn(2, 3, 64, 64), torch.rand(2), random_cond(2)
    place = torch.tensor([[0, 0], [4, 7]])
    assert torch.equal(
        m(x, t, **cond), m(x, t, **cond, place=place)
    )  # zero-initialised: a pretrained model starts unchanged
    torch.nn.init.normal_(m.place_field)
    torch.nn.init.normal_(m.final.linear.weight)  # zero-initialised too: the output would not depend on the tokens
    out = m(x, t, **cond, place=place)
    assert not torch.equal(out, m(x, t, **cond))
    out.square().sum().backward()
    touched = m.place_field.grad.abs().sum(-1) > 0  # (12, 15): the cells some view showed
    want = torch.zeros(12, 15, dtype=torch.bool)
    want[0:8, 0:8] = want[4:12, 7:15] = True
    assert torch.equal(touched, want)
    # the null condition (CFG) leaves the field out
    drop = torch.tensor([True, False])
    assert torch.equal(m(x, t, **cond, place=place, drop=drop)[0], m(x, t, **cond, drop=drop)[0])


def _translating(m):
    """The tiny model ``m`` with its copy filter set to the exact 8-px translations, each action its direction."""
    with torch.no_grad():
        m.copy.table.fill_(-1e3)
        for a, (dy, dx) in enumerate([(-8, 0), (8, 0), (0, -8), (0, 8)]):
            m.copy.table[a, 0, 8 + dy] = m.copy.table[a, 1, 8 + dx] = 1e3
    return m


def test_place_decoder_writes_the_field_into_the_revealed_strip_only():
    m = _translating(build_model(preset("tiny", place_rows=12, place_cols=15, place_dim=4, place_decoder=True)))
    x, t = torch.randn(4, 3, 64, 64), torch.rand(4)
    cond = {"view": torch.rand(4, 3, 64, 64) * 2 - 1, "action": torch.arange(4)}
    place = torch.tensor([[0, 0], [4, 7], [2, 3], [1, 1]])
    torch.nn.init.normal_(m.place_field)
    assert torch.equal(m(x, t, **cond, place=place), m(x, t, **cond, place=place * 0 + place))  # deterministic
    no_dec = m(x, t, **cond, place=place)
    torch.nn.init.normal_(m.place_out.weight)  # zero-initialised: until it learns, the model is the one it was
    diff = (m(x, t, **cond, place=place) - no_dec).abs().amax(1)  # (4, 64, 64)
    strips = [
        (slice(0, 8), slice(None)),
        (slice(56, 64), slice(None)),
        (slice(None), slice(0, 8)),
        (slice(None), slice(56, 64)),
    ]
    for a, (rows, cols) in enumerate(strips):
        inside = torch.zeros(64, 64, dtype=torch.bool)
        inside[rows, cols] = True
        assert (diff[a][inside] > 1e-3).all() and (diff[a][~inside] < 1e-4).all(), f"action {a}"
    # each revealed patch is its own cell's vector, decoded: action 1 (down) from cell (4, 7) shows row 11
    tokens = patchify(m.place_pixels(m.place_vectors(place), cond["action"]), 8)  # (4, 64, 192)
    assert torch.allclose(tokens[1, 56:], m.place_out(m.place_field[11, 7:15]), atol=1e-5)
    # the null condition (CFG) leaves the decoder out too
    drop = torch.tensor([True, False, False, False])
    assert torch.equal(m(x, t, **cond, place=place, drop=drop)[0], m(x, t, **cond, drop=drop)[0])
    with pytest.raises(ValueError, match="place_decoder=True needs a place field"):
        preset("tiny", place_decoder=True)
    with pytest.raises(ValueError, match="place_decoder=True needs a place field"):
        preset("tiny", place_rows=12, place_cols=15, copy_kernel=0, place_decoder=True)


def test_place_field_errors():
    m = build_model(preset("tiny", place_rows=12, place_cols=15))
    x, t, cond = torch.randn(1, 3, 64, 64), torch.rand(1), random_cond(1)
    with pytest.raises(ValueError, match=r"place cells must lie in \[0, 4\] x \[0, 7\]"):
        m(x, t, **cond, place=torch.tensor([[5, 0]]))
    with pytest.raises(ValueError, match="has no place field"):
        build_model(preset("tiny"))(x, t, **cond, place=torch.tensor([[0, 0]]))
    with pytest.raises(ValueError, match="a place field needs"):
        preset("tiny", place_rows=4, place_cols=20)  # smaller than one view (8 cells)
