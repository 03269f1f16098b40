"""Smoke runs of the research scripts behind documented figures: experiments/strip_psnr, streaks, dream_speed,
loop_frames and gpu_profile, on the baselines (whose answers are known) and a tiny trained model."""

import numpy as np
import pytest
from experiment_loader import load_experiment, one_error_line
from helpers import tiny_train_args
from PIL import Image

from world_models.io.export import export
from world_models.training.trainer import train

strip_psnr = load_experiment("strip_psnr/strip_psnr.py")
streaks = load_experiment("streaks/streaks.py")
speed_alt = load_experiment("dream_speed/speed_alt.py")
loop_steps = load_experiment("loop_frames/loop_steps.py")
profile_model = load_experiment("gpu_profile/profile_model.py")


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    d = tmp_path_factory.mktemp("tiny")
    return export(train(tiny_train_args(d, steps=1)), d / "m.pt", steps=1, cfg_scale=1.0)


def test_strip_psnr_scores_the_baselines_and_a_model(tiny_model, capsys):
    res = strip_psnr.main(["oracle", "shift", f"tiny={tiny_model}", f"tiny-no-field={tiny_model}?place=0", "--n", "16"])
    assert res["oracle"] == {"strip_db": 100.0, "known_db": 100.0}
    assert (
        res["shift"]["known_db"] == 100.0 and 5 < res["shift"]["strip_db"] < 40
    )  # shift copies what it knows and smears the edge
    assert 0 < res["tiny"]["strip_db"] < 100 and "tiny: strip" in capsys.readouterr().out
    assert "--n must be >= 1" in one_error_line(capsys, strip_psnr.main, ["copy", "--n", "0"])


def test_streaks_of_the_oracle_are_the_maps_and_shift_streaks():
    res = streaks.main(["oracle", "shift", "--walks", "2", "--steps", "2", "4"])
    for t in (2, 4):
        assert res["oracle"][t]["dream chroma"] == res["oracle"][t]["real chroma"]
    assert res["shift"][4]["dream luma"] > res["shift"][4]["real luma"]


def test_speed_alt_times_models_in_turns(capsys):
    res = speed_alt.main(["a=copy", "b=shift", "--envs", "2", "--seconds", "0.05", "--repeats", "2", "--threads", "1"])
    assert [len(v) for v in res["steps_per_s"].values()] == [2, 2] and res["ratio"] > 0 and res["paired_ratio"] > 0
    assert "name two or more models" in one_error_line(capsys, speed_alt.main, ["copy"])


def test_loop_steps_cuts_the_chosen_panels_and_frames(tmp_path, capsys):
    frames = [Image.new("RGB", (600, 70), (0, 0, 0)) for _ in range(5)]
    for s, f in enumerate(frames):
        for p in range(3):
            f.paste((10 * s, 80 * p, 5), (200 * p, 0, 200 * (p + 1), 70))  # colour = (step, panel)
    gif = tmp_path / "loop.gif"
    frames[0].save(gif, save_all=True, append_images=frames[1:])
    out = loop_steps.main([str(gif), str(tmp_path / "sheet.png"), "--panels", "2", "0", "--steps", "1", "3"])
    sheet = np.asarray(Image.open(out))
    assert sheet.shape == (2 * 2 * 70, 2 * 2 * 200, 3)
    for i, s in enumerate((1, 3)):
        for j, p in enumerate((2, 0)):
            assert np.abs(sheet[i * 140 + 70, j * 400 + 200].astype(int) - (10 * s, 80 * p, 5)).max() <= 8, (s, p)
    before = out.read_bytes()
    assert "exists; nothing was written" in one_error_line(capsys, loop_steps.main, [str(gif), str(out)])
    assert out.read_bytes() == before
    assert "--panels" in one_error_line(capsys, loop_steps.main, [str(gif), str(tmp_path / "x.png"), "--panels", "3"])


def test_profile_model_tables_the_predictions_ops(tiny_model, capsys):
    table = profile_model.main(
        ["--model", str(tiny_model), "--device", "cpu", "--batch", "2", "--warmup", "0", "--calls", "1", "--rows", "5"]
    )
    assert "aten::" in table and "Self CPU" in table
    assert "does not exist" in one_error_line(capsys, profile_model.main, ["--model", "nope.pt", "--device", "cpu"])
