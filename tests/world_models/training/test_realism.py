import torch

from world_models.training.realism import chroma_residual, colour_mse, high_pass


def test_high_pass_is_zero_on_flat_images():
    assert high_pass(torch.full((1, 3, 8, 8), 0.3)).abs().max() < 1e-5


def test_chroma_residual_ignores_brightness_grain_and_shows_colour_noise():
    """Grain that scales all channels alike (the map's paper texture) leaves no chroma residual;
    per-channel noise of the same size does."""
    g = torch.Generator().manual_seed(0)
    base = torch.tensor([0.4, 0.1, -0.3]).view(1, 3, 1, 1).expand(2, 3, 16, 16)  # a flat colour in [-1, 1]
    grain = 1 + 0.05 * torch.randn(2, 1, 16, 16, generator=g)
    luma = (base + 1) / 2 * grain * 2 - 1  # brightness grain, colour unchanged
    colour = (base + 1) / 2 * (1 + 0.05 * torch.randn(2, 3, 16, 16, generator=g)) * 2 - 1
    assert chroma_residual(luma).abs().max() < 1e-4
    assert chroma_residual(colour).abs().mean() > 0.3


def test_colour_mse_sees_colour_errors_and_not_brightness_errors():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 8, 8, generator=g) * 2 - 1
    grey = torch.randn(2, 1, 8, 8, generator=g) * 0.1
    assert colour_mse(x + grey, x) < 1e-12  # the same error in every channel: brightness only
    e = torch.randn(2, 3, 8, 8, generator=g) * 0.1
    e = e - e.mean(1, keepdim=True)  # no brightness error
    assert torch.allclose(colour_mse(x + e, x), e.pow(2).mean(), rtol=1e-4)
