"""The sample-efficiency table: model-free vs model-based PPO, steps to 90% of model-free's final success."""

import json

import pytest
from helpers import stripe_map

from worldbench import sample_efficiency as se


def _free(curve, final):
    return {"curve": curve, "ppo_real_eval": {"success_rate": final}, "train_wall_s": 1.0}


def _based(curve):
    return {
        "curve": [[s, v, 0] for s, v in curve],
        "final_success_rate": curve[-1][1],
        "real_steps": curve[-1][0],
        "wall_s": 2.0,
    }


def test_the_ratio_is_median_steps_to_the_target():
    free = [_free([(0, 0.0), (10_000, 0.5), (20_000, 0.9)], 1.0)] * 2 + [_free([(0, 0.0), (40_000, 0.95)], 0.8)]
    based = [_based([(0, 0.0), (1000, 0.92)]), _based([(0, 0.0), (2000, 0.95)]), _based([(0, 0.0), (3000, 0.5)])]
    row = se.summarise(free, based, 0.9)
    assert row["target"] == pytest.approx(0.9)  # 90% of the median final, 1.0
    assert row["ppo_steps_to_target"] == [20_000, 20_000, 40_000]
    assert row["model_based_steps_to_target"] == [1000, 2000, None]  # never reached counts as beyond every other
    assert row["ratio"] == pytest.approx(20_000 / 2000)


def test_no_ratio_when_most_model_based_runs_never_reach_it():
    free = [_free([(0, 0.0), (10_000, 1.0)], 1.0)] * 3
    based = [_based([(0, 0.0), (1000, 0.2)])] * 2 + [_based([(0, 0.0), (1000, 1.0)])]
    assert se.summarise(free, based, 0.9)["ratio"] is None


def test_a_tiny_table_end_to_end_and_reused(tmp_path):
    m = stripe_map(tmp_path / "map.png", (40, 160, 90), size=(240, 200))
    kw = dict(
        map=m,
        tasks=("near",),
        seeds=(0,),
        ppo_steps=128,
        ppo_eval_every=64,
        ppo_eval_at=(16,),
        real_steps=1,
        round_episodes=2,
        dream_steps=64,
        wm_steps=1,
        eval_episodes=4,
        out=str(tmp_path / "se"),
        threads=1,
    )
    rows = se.run(se.Args(**kw))
    out = tmp_path / "se"
    for f in ("sample_efficiency.md", "sample_efficiency.json", "curves_near.png"):
        assert (out / f).is_file()
    assert [p[0] for p in rows["near"]["curves_free"][0]][:2] == [0, 16]  # the extra early point
    assert json.loads((out / "sample_efficiency.json").read_text())["near"]["target"] == rows["near"]["target"]
    stamp = {p: p.stat().st_mtime_ns for p in out.rglob("report.json")}
    se.run(se.Args(**kw))  # every run reused
    assert {p: p.stat().st_mtime_ns for p in out.rglob("report.json")} == stamp
