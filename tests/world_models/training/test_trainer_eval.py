"""The trainer's tensorboard evaluation logs worldbench's measures: the same functions, the same names."""

import numpy as np
import torch

from world_models.data import TransitionSampler
from world_models.inference import load_world_model
from world_models.training.trainer import _log_eval
from worldgen_core import metrics
from worldgen_core.world import WorldCore


class Recorder:
    """What a tensorboard SummaryWriter is given."""

    def __init__(self):
        self.scalars, self.images = {}, {}

    def add_scalar(self, tag, value, step):
        self.scalars[tag] = value

    def add_image(self, tag, image, step, dataformats):
        self.images[tag] = image


def test_eval_logs_worldbench_measures_of_the_views_it_shows(tiny_world_model):
    wm = load_world_model(tiny_world_model, device="cpu")
    core = WorldCore()
    batch = TransitionSampler(core, seed=12345).sample(8)
    assert (
        len(set(batch["action"].tolist())) > 1
    )  # strips of several actions: pooling them is what makes psnr_new worldbench's
    w = Recorder()
    _log_eval(w, wm.model, wm.process, core, batch, wm.sampling, torch.device("cpu"), torch.float32, 0)
    assert set(w.scalars) == {
        "eval/psnr_known",
        "eval/psnr_new",
        "eval/sharpness_new",
        "eval/rollout_psnr@1",
        "eval/rollout_psnr@6",
        "eval/contrast_roll@6",
        "eval/sharpness_roll@6",
    }
    grid = w.images[
        "images/current_truth_generated"
    ]  # rows: current views, true next views, generated next views (2-px gutters)
    gen = np.stack([grid[2 * 68 + 2 : 2 * 68 + 66, 68 * i + 2 : 68 * i + 66] for i in range(8)])
    assert np.array_equal(grid[68 + 2 : 68 + 66, 2:66], batch["next"][0])
    expected = metrics.one_step(gen, batch["next"], batch["action"], core.task.stride)
    assert {k: w.scalars[f"eval/{k}"] for k in expected} == expected
