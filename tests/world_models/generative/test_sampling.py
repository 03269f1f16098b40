"""SamplingConfig.resolve: the one place sampler settings are resolved."""

import pytest

from world_models.generative.processes import DDPM, FlowMatching
from world_models.generative.sampling import SamplingConfig


def test_overrides_over_stored_over_process_defaults():
    fm, stored = FlowMatching(), {"sampler": "heun", "steps": 2, "cfg_scale": 1.5}
    assert SamplingConfig.resolve(fm) == SamplingConfig("euler", 10, 1.0)
    assert SamplingConfig.resolve(fm, stored) == SamplingConfig("heun", 2, 1.5)
    assert SamplingConfig.resolve(fm, SamplingConfig("heun", 2, 1.5), steps=1, cfg_scale=1.0) == SamplingConfig(
        "heun", 1, 1.0
    )
    assert SamplingConfig.resolve(DDPM()) == SamplingConfig("ddim", 50, 1.0)


@pytest.mark.parametrize(
    "bad, match",
    [
        ({"sampler": "ddim"}, "sampler must be one of"),
        ({"steps": 0}, "steps must be an int"),
        ({"steps": True}, "steps must be an int"),
        ({"cfg_scale": float("nan")}, "cfg_scale must be a finite"),
    ],
)
def test_settings_the_process_cannot_run_get_a_clear_error(bad, match):
    with pytest.raises(ValueError, match=match):
        SamplingConfig.resolve(FlowMatching(), **bad)


def test_frozen():
    with pytest.raises(AttributeError):
        SamplingConfig("euler", 1).steps = 2
