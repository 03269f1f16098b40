"""A smoke run of experiments/ablations/ablations.py at the tiny preset: every row of its flag table trained for two
steps by ``python -m world_models.training``; a few rows measured by ``python -m worldbench --quick`` and the table
built
from the benchmark's JSON; the KID-vs-steps comparison; the CPU speed columns; a mistake answered with one error
line."""

import json

import pytest
from experiment_loader import load_experiment, one_error_line

from world_models.io.checkpoint import load_checkpoint

ablations = load_experiment("ablations/ablations.py")
SMOKE = [
    "--preset",
    "tiny",
    "--budget-steps",
    "2",
    "--batch-size",
    "4",
    "--device",
    "cpu",
    "--jobs",
    "2",
    "--quick",
    "--sampler-steps",
    "1",
]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Every row of the flag table, trained (the trainer must know each flag); the folder the runs are in."""
    out = tmp_path_factory.mktemp("abl")
    a = ablations.CliArgs(out=out, preset="tiny", budget_steps=2, batch_size=4, device="cpu", jobs=2)
    ablations.train_rows(list(ablations.ROWS), a)
    return out


def test_every_row_of_the_flag_table_trains_to_the_step_budget(trained):
    for row in ablations.ROWS:
        assert load_checkpoint(trained / row / "last.pt")["step"] == 2, row
    assert (
        "initialised" in (trained / "world_filmcond_pre" / "train.log").read_text()
    )  # it starts from the diffusion row


def test_rows_are_measured_by_worldbench_and_tabled_from_its_json(trained, capsys):
    results = ablations.main(
        [*SMOKE, "--rows", "world_filmcond_pre", "ours_spatial_flow_cfg", "--kid-steps", "--out", str(trained)]
    )
    assert "skip (trained)" in capsys.readouterr().out  # trained rows are not retrained
    bench = json.loads((trained / "bench" / "leaderboard.json").read_text())["results"]
    assert set(bench) == {"world_filmcond_pre", "ours_spatial_flow_cfg@10", "ours_spatial_flow_cfg@1"}
    for k, r in bench.items():
        assert results[k]["kid_rand_new"] == r["kid_rand_new"] and results[k]["psnr_new"] == r["psnr_new"]
    assert (
        results["ours_spatial_flow_cfg@10"]["steps"] == 10 and results["world_filmcond_pre"]["steps"] == 1
    )  # --sampler-steps
    assert "not benchmarked" in results["diffusion"]["note"]  # brought along: world_filmcond_pre starts from it
    table = (trained / "table.md").read_text()
    assert "KID-rand new" in table and "| ours_spatial_flow_cfg@10 |" in table and "| diffusion |" in table
    sped = ablations.main(["--cpu-speed", "--speed-seconds", "0.02", "--out", str(trained)])
    assert sped["ours_spatial_flow_cfg@1"]["frames_per_s_b64"] > 0 and "frames_per_s_b1" not in sped["diffusion"]


def test_kid_against_sampler_steps_ddim_and_flow(trained):
    a = ablations.CliArgs(out=trained, device="cpu", quick=True, kid_steps=(1,))
    curves = ablations.kid_vs_steps(a)
    assert len(curves["DDIM"]) == len(curves["flow"]) == 1 and (trained / "kid_vs_steps.png").stat().st_size > 0
    bench = json.loads((trained / "kid_vs_steps" / "leaderboard.json").read_text())["results"]
    assert curves["flow"] == [bench["flow@1"]["kid_rand_new"]]


def test_an_unknown_row_is_one_error_line(tmp_path, capsys):
    line = one_error_line(capsys, ablations.main, ["--rows", "nope", "--out", str(tmp_path)])
    assert "unknown rows ['nope']" in line and "world_flow_clsfg" in line
