"""world_models.speed: the model speed benchmark runs."""


def test_model_benchmark_smoke():
    from world_models.speed import measure

    r = measure("tiny", bf16=True, steps=1, cfg=True, batch=4, seconds=0.05, repeats=1)
    assert r["train_samples_s"] > 0 and r["forwards_s"] > 0 and r["frames_s"] > 0
