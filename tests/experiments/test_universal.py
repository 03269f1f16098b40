"""A smoke run of experiments/universal/train.py: maps of the training styles, both stages, the export."""

import importlib.util
import sys
from pathlib import Path

from world_models.io.checkpoint import load_checkpoint

SCRIPT = Path(__file__).resolve().parents[2] / "experiments" / "universal" / "train.py"


def test_universal_experiment_runs_end_to_end(tmp_path):
    spec = importlib.util.spec_from_file_location("universal_train", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # its dataclass and its map workers look the module up by name
    spec.loader.exec_module(mod)
    out = mod.run(
        mod.CliArgs(
            out=tmp_path / "u", flow_seconds=2, adv_seconds=2, device="cpu", batch_size=4, jobs=1, maps_per_style=1
        )
    )
    ck = load_checkpoint(out)
    assert ck["config"]["copy_pad"] == "mean" and ck["sampling"]["steps"] == 1
    assert len(list((tmp_path / "u" / "maps").glob("*.png"))) == 3
