"""The model-based loop: collect, update the world model, PPO in the dream, evaluate; resumable, Ctrl-C saves."""

import json

import pytest
import torch
from helpers import stripe_map

from agents import model_based
from agents.model_based import Args, main
from world_models.io.checkpoint import safe_load

TINY = dict(
    task="near",
    round_episodes=2,
    dream_steps=64,
    wm_steps=1,
    wm_batch=2,
    n_envs=2,
    eval_episodes=4,
    device="cpu",
    threads=1,
    progress=False,
)


@pytest.fixture(scope="module")
def small_map(tmp_path_factory):
    return stripe_map(tmp_path_factory.mktemp("map") / "map.png", (40, 160, 90), size=(240, 200))


def _run(out, small_map, **kw):
    return model_based.run(Args(map=small_map, out=str(out), **{**TINY, **kw}))


@pytest.fixture(scope="module")
def straight(small_map, tmp_path_factory):
    """One round (real_steps 1), then the same run resumed to two rounds; and a two-round run without a stop."""
    base = tmp_path_factory.mktemp("mb")
    first = _run(base / "resumed", small_map, real_steps=1)
    two = first["real_steps"] + 1  # a second round is needed, a third is not
    resumed = _run(base / "resumed", small_map, real_steps=two, resume=True)
    whole = _run(base / "whole", small_map, real_steps=two)
    return base, first, resumed, whole


def test_the_loop_runs_end_to_end(straight):
    base, first, _, whole = straight
    out = base / "whole"
    assert [r["round"] for r in whole["rounds"]] == [0, 1] and len(whole["curve"]) == 3  # untrained, 2 rounds
    assert whole["real_steps"] == sum(r["real_steps"] for r in whole["rounds"])
    assert whole["dream_steps"] >= 2 * 64
    for r in (0, 1):
        assert (out / "episodes" / f"round-{r:02d}-v0" / "data" / "main_data.hdf5").is_file()
        assert (out / "world" / f"round-{r:02d}.pt").is_file()
    assert whole["world_model"]["checkpoint"].endswith("round-01.pt")
    for f in ("report.md", "curve.png", "eval.gif", "loop.pt"):
        assert (out / f).is_file(), f
    assert json.loads((out / "report.json").read_text())["final_success_rate"] == whole["curve"][-1][1]
    st = safe_load(out / "loop.pt", "loop")
    assert st["round"] == 2 and st["done"] == [] and len(st["datasets"]) == 2


def test_a_resumed_loop_continues_the_same_curve(straight):
    base, first, resumed, whole = straight
    assert len(first["curve"]) == 2
    assert resumed["curve"] == whole["curve"] and resumed["real_steps"] == whole["real_steps"]
    a = safe_load(base / "resumed" / "loop.pt", "loop")["policy"]
    b = safe_load(base / "whole" / "loop.pt", "loop")["policy"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_ctrl_c_saves_and_resume_finishes(small_map, tmp_path, monkeypatch):
    def interrupt(self, *a, **k):
        raise KeyboardInterrupt

    with monkeypatch.context() as mp:
        mp.setattr("stable_baselines3.PPO.learn", interrupt)
        with pytest.raises(SystemExit) as e:
            _run(tmp_path / "r", small_map, real_steps=1)
    assert e.value.code == 130
    st = safe_load(tmp_path / "r" / "loop.pt", "loop")
    assert st["done"] == ["collect", "world"] and st["round"] == 0  # the dream phase is left to do
    assert (tmp_path / "r" / "report.md").is_file()
    rep = _run(tmp_path / "r", small_map, real_steps=1, resume=True)
    assert rep["dream_steps"] >= 64 and len(rep["curve"]) == 2


def test_bad_settings_are_refused_before_any_work(small_map, tmp_path, capsys):
    for flags, says in (
        (["--real-steps", "0"], "--real-steps"),
        (["--map", str(tmp_path / "nope.png")], "--map"),
        (["--world-model", str(tmp_path / "nope.pt")], "--world-model"),
        (["--extractor", "nope"], "--extractor"),
    ):
        with pytest.raises(SystemExit) as e:
            main(["--out", str(tmp_path / "x"), *flags])
        assert e.value.code == 2 and says in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_a_resume_with_other_settings_is_refused(straight, small_map):
    base = straight[0]
    with pytest.raises(SystemExit, match=r"--task 'far' \(the run has 'near'\)"):
        model_based.run(Args(map=small_map, out=str(base / "whole"), resume=True, **{**TINY, "task": "far"}))
