"""worldbench's pixel measures (worldgen_core.metrics) on known answers."""

import numpy as np
import pytest
import torch

from world_models.training.adversarial import revealed_band
from worldgen_core import dynamics as dyn
from worldgen_core import metrics
from worldgen_core.world import WorldCore


@pytest.fixture(scope="module")
def moves():
    """64 transitions on the default map whose move happens: (views, actions, next views)."""
    core = WorldCore()
    rng = np.random.default_rng(0)
    pos = np.stack([rng.integers(1, core.grid[0] - 1, 64), rng.integers(1, core.grid[1] - 1, 64)], 1)
    act = np.arange(64) % 4
    return core.views(pos), act, core.views(dyn.move(pos, act, core.grid))


def test_psnr_new_pools_the_squared_error_of_every_revealed_strip(moves):
    _, act, true = moves
    fake = true.copy()
    masks = dyn.revealed_masks(64, 8)
    fake[act == dyn.UP] ^= 16 * masks[dyn.UP][..., None].astype(
        np.uint8
    )  # only the strips revealed moving up are wrong
    r = metrics.one_step(fake, true, act, 8)
    assert r["psnr_known"] == 100.0
    strips = (
        np.stack([true[i][masks[a]] for i, a in enumerate(act)]),
        np.stack([fake[i][masks[a]] for i, a in enumerate(act)]),
    )
    assert r["psnr_new"] == pytest.approx(
        metrics.psnr(strips[1][:, None], strips[0][:, None])
    )  # one MSE over all strips
    assert r["psnr_new"] < 40  # a mean of per-action dB would be above 75: three of the four are exact (100 dB)


def test_new_bands_are_the_training_band_and_put_the_revealed_edge_on_top(moves):
    view, act, nxt = moves
    bands = metrics.new_bands(nxt, act, 16)
    assert bands.shape == (64, 16, 64, 3)
    torch_band = (
        revealed_band(torch.from_numpy(nxt).permute(0, 3, 1, 2), torch.from_numpy(act), 16).permute(0, 2, 3, 1).numpy()
    )
    assert np.array_equal(bands, torch_band)
    # the band's rows 8..15 were visible before the move: in the current view they sit 8 px further in
    assert np.array_equal(bands[:, 8:16], metrics.new_bands(view, act, 8))
    masks = dyn.revealed_masks(64, 8)
    assert all(
        np.array_equal(np.sort(bands[i, :8].reshape(-1, 3), 0), np.sort(nxt[i][masks[a]], 0)) for i, a in enumerate(act)
    )


def _box_blur(x):
    p = np.pad(x.astype(np.float32), ((0, 0), (1, 1), (1, 1), (0, 0)), mode="edge")
    return (
        (sum(p[:, i : i + x.shape[1], j : j + x.shape[2]] for i in range(3) for j in range(3)) / 9)
        .round()
        .astype(np.uint8)
    )


def test_sharpness_and_contrast_name_blur_noise_and_fading(moves):
    _, act, true = moves
    noisy = np.clip(true + np.random.default_rng(0).normal(0, 8, true.shape), 0, 255).astype(np.uint8)
    sharp = {
        name: metrics.one_step(x, true, act, 8)["sharpness_new"]
        for name, x in (("true", true), ("noisy", noisy), ("blurred", _box_blur(true)))
    }
    assert sharp["true"] == 1.0 and sharp["noisy"] > 1.1 and sharp["blurred"] < 0.9, sharp
    faded = (0.5 * true.astype(np.float32) + 64).round().astype(np.uint8)
    d = metrics.drift(faded, true)
    assert d["contrast"] == pytest.approx(0.5, abs=0.02) and d["sharpness"] == pytest.approx(0.5, abs=0.02), d
    assert metrics.drift(true, true) == {"contrast": 1.0, "sharpness": 1.0}


def test_image_grid_lays_rows_of_any_length_side_by_side():
    a, b = np.zeros((3, 4, 4, 3), np.uint8), np.full((1, 4, 4, 3), 7, np.uint8)
    g = metrics.image_grid([a, b], pad=1)
    assert g.shape == (12, 18, 3) and (g[7:11, 1:5] == 7).all() and (g[6:, 6:] == 255).all()
