"""dtype="auto": the faster autocast dtype, decided from the hardware alone."""

import pytest
import torch

from world_models.inference import fast_dtype, resolve_dtype


def test_auto_dtype_is_bf16_only_with_amx_on_cpu(monkeypatch):
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    assert fast_dtype("cpu") == torch.float32 and resolve_dtype("auto", "cpu") == torch.float32
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: True)
    assert fast_dtype("cpu") == torch.bfloat16 and resolve_dtype("auto", "cpu") == torch.bfloat16


def test_named_dtypes_and_a_clear_error():
    assert resolve_dtype("bf16") == torch.bfloat16 and resolve_dtype("float32") == torch.float32
    assert resolve_dtype(torch.bfloat16) == torch.bfloat16
    with pytest.raises(ValueError, match="dtype must be one of"):
        resolve_dtype("half")


def test_dream_env_resolves_auto_once_per_machine(tiny_world_model):
    ckpt = str(tiny_world_model)
    from worldgen_env.dream import load_dream_model

    wm = load_dream_model(ckpt, "cpu", "auto")
    assert wm.dtype == fast_dtype("cpu")
    assert (
        load_dream_model(ckpt, "cpu", str(fast_dtype("cpu")).removeprefix("torch.")) is wm
    )  # one cached copy per real dtype
