"""world_models.io.checkpoint and export: safe loading, atomic writes, slim checkpoints."""

import os
import signal

import numpy as np
import pytest
import torch
from helpers import tiny_train_args

from world_models.inference import load_world_model
from world_models.io.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from world_models.training.trainer import train
from worldgen_core.files import atomic_write


def test_checkpoints_load_safely_and_fail_clearly(tmp_path):
    path = train(tiny_train_args(tmp_path, steps=1))
    torch.load(path, weights_only=True)  # no pickled code
    wm = load_world_model(path, device="cpu")
    out = wm.predict(np.zeros((2, 64, 64, 3), np.uint8), np.array([0, 3]), torch.Generator().manual_seed(0))
    assert out.shape == (2, 64, 64, 3) and out.dtype == np.uint8
    with pytest.raises(CheckpointError, match="does not exist"):
        load_world_model(tmp_path / "missing.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="corrupted"):
        load_world_model(bad)
    ck = load_checkpoint(path)
    ck["config"]["dim"] = 32
    save_checkpoint(tmp_path / "mismatch.pt", {k: v for k, v in ck.items() if k != "format"})
    with pytest.raises(CheckpointError, match="do not fit"):
        load_world_model(tmp_path / "mismatch.pt")
    with pytest.raises(SystemExit, match="another model"):
        train(tiny_train_args(tmp_path, steps=2, resume=True, preset="small"))


def test_atomic_save_leaves_no_partial_file(tmp_path, monkeypatch):
    target = tmp_path / "ck.pt"
    save_checkpoint(target, {"config": {}, "process": "flow", "sampling": {}, "model": {}})
    before = target.read_bytes()

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", boom)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(target, {"config": {}, "process": "flow", "sampling": {}, "model": {"x": torch.zeros(1)}})
    assert target.read_bytes() == before and list(tmp_path.iterdir()) == [target]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_during_atomic_write_is_delivered_after_the_file_is_in_place(tmp_path, sig):
    """A trainer's Ctrl-C / SIGTERM landing inside torch.save once raised in the zip writer and
    surfaced as 'RuntimeError: unexpected pos' instead of KeyboardInterrupt (seen once in CI)."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    old = signal.signal(sig, interrupt)
    seen = []

    def write(f):
        f.write(b"first half, ")
        os.kill(os.getpid(), sig)  # arrives mid-write: the handler must not run yet
        seen.append("went on")
        f.write(b"second half")

    try:
        with pytest.raises(KeyboardInterrupt):
            atomic_write(tmp_path / "ck.pt", write)
        assert seen == ["went on"] and signal.getsignal(sig) is interrupt  # the trainer's handler is back
        assert (tmp_path / "ck.pt").read_bytes() == b"first half, second half"  # written whole, then interrupted
        assert list(tmp_path.iterdir()) == [tmp_path / "ck.pt"]  # no temp file left
    finally:
        signal.signal(sig, old)


def test_export_slim_checkpoint(tmp_path):
    from world_models.io.export import export

    src = train(tiny_train_args(tmp_path, steps=1))
    dst = export(src, tmp_path / "slim.pt", steps=3, cfg_scale=1.0)
    assert dst.stat().st_size < src.stat().st_size
    wm = load_world_model(dst)
    assert (wm.steps, wm.cfg_scale) == (3, 1.0)
    with pytest.raises(ValueError, match="sampler must be one of"):
        export(src, tmp_path / "x.pt", sampler="ddim")
