import numpy as np
import pytest
import torch

from world_models import evaluate as ev
from world_models.training.trainer import Args, train
from worldgen_core.world import WorldCore


def test_shift_baseline_is_exact_on_the_known_region():
    core = WorldCore()
    data = ev.sample_transitions(core, 64, seed=0)
    res, gen = ev.one_step(ev.shift_baseline, data, 8)
    assert res["psnr_known"] == 100.0 and res["psnr_new"] < 40
    assert np.all(data["pos"] >= 0)
    copy_res, _ = ev.one_step(ev.copy_baseline, data, 8)
    assert copy_res["psnr_known"] < res["psnr_known"]


def test_sharpness_and_contrast_name_blur_noise_and_fading():
    core = WorldCore()
    data = ev.sample_transitions(core, 64, seed=0)
    truth = data["next"]
    noisy = np.clip(truth + np.random.default_rng(0).normal(0, 8, truth.shape), 0, 255).astype(np.uint8)
    blurred = ev.corruptions(truth)["blur (Gaussian, sigma 1 px)"]
    sharp = {name: ev.one_step(lambda v, a, x=x: x, data, 8)[0]["sharpness_new"] for name, x in (("true", truth), ("noisy", noisy), ("blurred", blurred))}
    assert sharp["true"] == 1.0 and sharp["noisy"] > 1.1 and sharp["blurred"] < 0.9, sharp
    res, *_ = ev.rollouts(ev.copy_baseline, core, 16, 8, seed=0)
    assert 0.8 < res["contrast_roll@8"] < 1.25 and 0.8 < res["sharpness_roll@8"] < 1.25, res  # real views stay real
    fade = lambda v, a: (0.85 * v.astype(np.float32) + 0.15 * 128).round().astype(np.uint8)
    res, *_ = ev.rollouts(fade, core, 16, 8, seed=0)
    assert res["contrast_roll@8"] < 0.35 and res["sharpness_roll@8"] < 0.35, res  # 0.85 ** 8 = 0.27


def test_random_features_are_fixed_and_kid_separates_sets():
    f1, f2 = ev.RandomFeatures(), ev.RandomFeatures()
    x = torch.randint(0, 255, (4, 3, 64, 64), dtype=torch.uint8)
    assert torch.equal(f1(x), f2(x)) and f1(x).shape == (4, 2048)
    core = WorldCore()
    real = ev.sample_transitions(core, 100, 0)["next"]
    same = ev.sample_transitions(core, 100, 1)["next"]
    noise = np.random.default_rng(0).integers(0, 255, real.shape, dtype=np.uint8)
    k_same, _ = ev.kid(ev.RandomFeatures(), real, same, subsets=5, subset_size=50)
    k_noise, _ = ev.kid(ev.RandomFeatures(), real, noise, subsets=5, subset_size=50)
    assert k_noise > 10 * abs(k_same)
    # the subsets are drawn under a fixed seed: the same sets give the same number, whatever torch's global state
    torch.manual_seed(123)
    assert ev.kid(ev.RandomFeatures(), real, same, subsets=5, subset_size=50)[0] == k_same


def test_inception_path_with_a_stand_in_module(tmp_path):
    class StandIn(torch.nn.Module):  # same interface as inception-2015-12-05.pt: uint8 images -> (B, 2048)
        def forward(self, x):
            return torch.nn.functional.adaptive_avg_pool2d(x.float(), 1).flatten(1).repeat(1, 683)[:, :2048]

    path = tmp_path / "inception.pt"
    torch.jit.script(StandIn()).save(str(path))
    m = ev.load_inception(path)
    assert m(torch.zeros(2, 3, 64, 64, dtype=torch.uint8)).shape == (2, 2048)
    ev.load_inception(None)  # no path: the cached download if there is one, else None; never an error
    with pytest.raises(FileNotFoundError):
        ev.load_inception(tmp_path / "missing.pt")


def test_evaluate_cli_writes_report(tmp_path):
    ck = train(Args(experiment="world_flow", preset="tiny", out=str(tmp_path / "m"), steps=2, batch_size=4, eval_every=0,
                    progress=False, sample_steps=1))
    res = ev.main([str(ck), "--n", "40", "--rollouts", "4", "--horizon", "4", "--out", str(tmp_path / "eval")])
    assert {"shift", "copy"} <= set(res) and any(k.startswith("flow") for k in res)
    model = next(v for k, v in res.items() if k.startswith("flow"))
    assert {"psnr_known", "psnr_new", "kid_rand", "rollout_psnr@4", "frames_per_s_b1"} <= set(model)
    assert (tmp_path / "eval" / "report.md").exists() and (tmp_path / "eval" / "report.json").exists()
    assert len(list((tmp_path / "eval").glob("*.png"))) >= 5
    with pytest.raises(SystemExit):
        ev.main([str(ck), "--kid-subset-size", "1"])


def test_calibration_shows_what_kid_rand_sees():
    cal = ev.main(["--calibrate", "--n", "100", "--kid-subsets", "5", "--kid-subset-size", "50"])
    assert len(cal) == 5
    floor = abs(cal["real (independent sample)"]["kid_rand"])
    assert cal["blur (Gaussian, sigma 1 px)"]["kid_rand"] > 3 * floor + 1e-3
    with pytest.raises(SystemExit):
        ev.main([])  # neither a checkpoint nor --calibrate


def test_new_bands_put_the_revealed_edge_on_top():
    core = WorldCore()
    data = ev.sample_transitions(core, 40, seed=3)
    bands = ev.new_bands(data["next"], data["action"], width=16)
    assert bands.shape == (40, 16, 64, 3)
    # The band's rows 8..15 were visible before the move: in the current view they sit 8 px further in.
    cur = ev.new_bands(data["view"], data["action"], width=8)
    assert np.array_equal(bands[:, 8:16], cur[:, :8])
