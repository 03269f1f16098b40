"""The ablation table's training rows."""


def test_ablation_rows_train_side_by_side_to_an_equal_step_budget(tmp_path, monkeypatch):
    """Two tiny rows, the second starting from the first's checkpoint: both reach exactly the budget."""
    import argparse

    from world_models import ablations
    from world_models.io.checkpoint import load_checkpoint

    monkeypatch.setattr(ablations, "ROWS", {
        "a": (["--experiment", "diffusion", "--preset", "tiny"], [None]),
        "b": (["--experiment", "world_flow", "--preset", "tiny", "--pretrained", "{out}/a/last.pt"], [None]),
    })
    a = argparse.Namespace(out=tmp_path, budget=60.0, budget_steps=2, batch_size=4, device="cpu", jobs=2)
    ablations.train_rows(["b", "a"], a)
    for row in ("a", "b"):
        assert load_checkpoint(tmp_path / row / "last.pt")["step"] == 2
    assert "initialised" in (tmp_path / "b" / "train.log").read_text()
    assert ablations._trained(tmp_path / "a", a)
    speed = ablations.row_speed({"config": load_checkpoint(tmp_path / "b" / "last.pt")["config"], "process": "flow", "frames_per_s_b1": 0,
                                 "sampler": "euler", "steps": 1, "cfg_scale": 1.0}, seconds=0.05, repeats=1)
    assert speed["train_samples_s"] > 0 and speed["frames_per_s_b1"] > 0 and speed["frames_per_s_b64"] > 0
