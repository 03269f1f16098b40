"""experiments/soup/soup.py: the weighted average of fine-tunes of one model (worlddit-worldmap v3 was one)."""

import numpy as np
import pytest
import torch
from experiment_loader import load_experiment, one_error_line
from helpers import tiny_train_args

from world_models.inference import load_world_model
from world_models.io.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from world_models.io.export import export
from world_models.training.trainer import train

soup_mod = load_experiment("soup/soup.py")
main, soup = soup_mod.main, soup_mod.soup


@pytest.fixture(scope="module")
def two_models(tmp_path_factory):
    """Two exports of one tiny model (different seeds), with their weights perturbed differently."""
    d = tmp_path_factory.mktemp("soup")
    paths = []
    for i in range(2):
        src = train(tiny_train_args(d / f"r{i}", steps=1, seed=i))
        paths.append(export(src, d / f"m{i}.pt", steps=1, cfg_scale=1.0))
    return paths


def test_soup_is_the_weighted_average_and_loads_as_a_world_model(two_models, tmp_path):
    a, b = (load_checkpoint(p)["model"] for p in two_models)
    out = soup(two_models, tmp_path / "soup.pt", weights=[1, 3])
    ck = load_checkpoint(out)
    for k, v in ck["model"].items():
        if v.is_floating_point():
            torch.testing.assert_close(v, (a[k].double() * 0.25 + b[k].double() * 0.75).to(v.dtype))
    assert [s["weight"] for s in ck["soup"]] == [1.0, 3.0] and all(len(s["sha256"]) == 64 for s in ck["soup"])
    wm = load_world_model(out, device="cpu")
    views = np.zeros((2, 64, 64, 3), np.uint8)
    assert wm.predict(views, np.array([0, 1]), torch.Generator().manual_seed(0)).shape == (2, 64, 64, 3)
    same = soup([two_models[0], two_models[0]], tmp_path / "same.pt")  # a soup of one model is that model
    for k, v in load_checkpoint(same)["model"].items():
        assert torch.equal(v, a[k]), k


def test_soup_refuses_what_it_cannot_average(two_models, tmp_path, capsys):
    with pytest.raises(ValueError, match="at least two"):
        soup(two_models[:1], tmp_path / "x.pt")
    with pytest.raises(ValueError, match="one non-negative number per checkpoint"):
        soup(two_models, tmp_path / "x.pt", weights=[1])
    ck = load_checkpoint(two_models[1])
    other = {k: v for k, v in ck.items() if k not in ("format", "sha256")}
    save_checkpoint(tmp_path / "other_map.pt", {**other, "place_map": "0123456789abcdef"})
    with pytest.raises(CheckpointError, match="place_map"):
        soup([two_models[0], tmp_path / "other_map.pt"], tmp_path / "x.pt")
    (tmp_path / "taken.pt").write_bytes(b"mine")
    with pytest.raises(SystemExit):
        main([str(tmp_path / "taken.pt"), *map(str, two_models)])
    assert "exists" in capsys.readouterr().err
    assert (tmp_path / "taken.pt").read_bytes() == b"mine"  # nothing a user made is lost
    main([str(tmp_path / "taken.pt"), *map(str, two_models), "--force"])
    assert "soup" in load_checkpoint(tmp_path / "taken.pt")


def test_soup_of_training_checkpoints_averages_their_ema_weights(tmp_path):
    a = train(tiny_train_args(tmp_path / "a", steps=2, seed=0))
    b = train(tiny_train_args(tmp_path / "b", steps=2, seed=1))
    ea, eb = load_checkpoint(a)["ema"], load_checkpoint(b)["ema"]
    wm = load_world_model(soup([a, b], tmp_path / "soup.pt", weights=[1, 3]), device="cpu")
    for k, v in wm.model.state_dict().items():
        if v.is_floating_point():
            torch.testing.assert_close(v, (ea[k].double() * 0.25 + eb[k].double() * 0.75).to(v.dtype), msg=k)
    assert "ema" not in load_checkpoint(tmp_path / "soup.pt") and "optimizer" not in load_checkpoint(
        tmp_path / "soup.pt"
    )


@pytest.mark.parametrize(
    "args, says",
    [
        (["{tmp}/s.pt", "{a}", "{a}", "--weights", "nan", "1"], "one non-negative number per checkpoint (finite)"),
        (["{tmp}/s.pt", "{a}", "{a}", "--weights", "inf", "1"], "one non-negative number per checkpoint (finite)"),
        (["{tmp}", "{a}", "{a}"], "is a folder"),
        (["{tmp}/s.pt", "{tmp}/nope.pt", "{a}"], "does not exist"),
    ],
)
def test_soup_answers_mistakes_with_one_error_line(two_models, tmp_path, capsys, args, says):
    line = one_error_line(capsys, main, [x.format(tmp=tmp_path, a=two_models[0]) for x in args])
    assert says in line and not (tmp_path / "s.pt").exists()
