"""The world models' and map generators' side of the robustness table: run folders, exports,
non-finite weights, map changes, the generators' outputs and their command lines.

``docs/ROBUSTNESS.md`` lists the cases with what happened before and after; each row
names the tests here that keep it true.
"""

import errno
import json
import math
import os
import re
import signal
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import ROOT, stripe_map, tiny_train_args
from PIL import Image
from test_robustness import _cli, _one_line_error

from world_models.inference import load_world_model
from world_models.io import checkpoint as ckmod
from world_models.io.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from world_models.training import recipe
from world_models.training.recipe import Args as RArgs
from world_models.training.trainer import PlaceArgs, train
from worldgen_core import files
from worldgen_core.citygen import main as city_main
from worldgen_core.mapgen import main as mapgen_main
from worldgen_core.runs import claim_run_dir, record_args
from worldgen_core.world import WorldCore
from worldgen_core.world_map import load_map


def _rargs(out, **kw):
    """A recipe run small enough for a test: tiny model, from scratch, a 2 s budget."""
    base = dict(
        time_budget=2,
        preset="tiny",
        pretrained=None,
        batch_size=4,
        out=str(out),
        eval_every=0,
        progress=False,
        device="cpu",
        threads=1,
    )
    return RArgs(**{**base, **kw})


@pytest.fixture(scope="module")
def run_ckpt(tmp_path_factory):
    """A tiny training run's last.pt (2 steps; it has EMA weights)."""
    return train(tiny_train_args(tmp_path_factory.mktemp("rm"), steps=2))


def _body(ck: dict) -> dict:
    return {k: v for k, v in ck.items() if k not in ("format", "sha256")}


# ---- 1. a run folder is new, empty or this run's -------------------------------------------------
@pytest.mark.parametrize("name", ["world_model.pt", "flow.pt", "notes.txt"])
def test_new_run_never_writes_into_a_folder_with_a_users_files(tmp_path, name):
    for i, start in enumerate(
        (lambda out: train(tiny_train_args(tmp_path, out=str(out), steps=1)), lambda out: recipe.run(_rargs(out)))
    ):
        out = tmp_path / f"d{i}"
        out.mkdir()
        (out / name).write_bytes(b"the user's file")
        with pytest.raises(
            SystemExit, match=rf"holds files that are not this run's \({re.escape(name)}\); nothing was changed"
        ):
            start(out)
        assert [f.name for f in out.iterdir()] == [name] and (out / name).read_bytes() == b"the user's file"


# ---- 2. export never replaces a file without --force ---------------------------------------------
def test_export_refuses_to_overwrite_without_force(run_ckpt, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    line = _one_line_error(_cli("-m world_models.io.export", run_ckpt, notes))
    assert "exists; nothing was written" in line and "--force" in line and notes.read_text() == "mine"
    assert _cli("-m world_models.io.export", run_ckpt, notes, "--force").returncode == 0
    assert load_checkpoint(notes)["sampling"]


# ---- 3. the generators write where they are run, never into the package's data -------------------
def test_generators_do_not_write_into_the_package_data(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the old defaults were data/world_map.png and data/heldout/city.png, relative to here
    assert mapgen_main(["--seed", "3", "--width", "160", "--height", "128"]) == [Path("mapgen_3.png")]
    assert city_main(["--seed", "2", "--width", "160", "--height", "128"]) == Path("city_2.png")
    assert sorted(f.name for f in tmp_path.iterdir()) == ["city_2.png", "mapgen_3.png"]
    before = (tmp_path / "mapgen_3.png").read_bytes()
    with pytest.raises(SystemExit):
        mapgen_main(["--seed", "4", "--width", "160", "--height", "128", "-o", "mapgen_3.png"])
    assert (tmp_path / "mapgen_3.png").read_bytes() == before
    mapgen_main(["--seed", "4", "--width", "160", "--height", "128", "-o", "mapgen_3.png", "--force"])
    assert (tmp_path / "mapgen_3.png").read_bytes() != before


# ---- 5. a resume checks that the map is the one the run learnt ----------------------------------
@pytest.mark.parametrize("place", [False, True])
def test_resume_refuses_a_changed_map(tmp_path, place):
    m = tmp_path / "m.png"
    stripe_map(m, (40, 160, 90))
    train(tiny_train_args(tmp_path, map=str(m), steps=1, place=PlaceArgs(field=place)))
    stripe_map(
        m, (200, 120, 30), size=(200, 160) if not place else (264, 160)
    )  # same path: new pixels (and, with a field, a new size)
    with pytest.raises(
        SystemExit, match=r"the map '.*m.png' is not the one the run in .* was trained on \(its pixels or size changed"
    ):
        train(tiny_train_args(tmp_path, map=str(m), steps=2, place=PlaceArgs(field=place), resume=True))
    assert load_checkpoint(tmp_path / "run" / "last.pt")["step"] == 1


def test_recipe_resume_refuses_a_changed_map(tmp_path):
    m = tmp_path / "m.png"
    stripe_map(m, (40, 160, 90))
    recipe.run(_rargs(tmp_path / "r", map=str(m), adv_share=0))
    stripe_map(m, (200, 120, 30))
    with pytest.raises(SystemExit, match="is not the one the run in"):
        recipe.run(_rargs(tmp_path / "r", map=str(m), adv_share=0, resume=True))


# ---- 6. one run at a time in a folder -----------------------------------------------------------
def test_a_second_run_into_a_live_runs_folder_is_refused(tmp_path, run_ckpt):
    from worldgen_core.runs import release_run_dir

    out = run_ckpt.parent
    claim_run_dir(out, resume=True)  # this process is the live run
    try:
        r = _cli(
            "-m world_models.training",
            "--preset",
            "tiny",
            "--steps",
            "3",
            "--batch-size",
            "4",
            "--eval-every",
            "0",
            "--no-progress",
            "--no-bf16",
            "--out",
            out,
            "--resume",
        )
        line = _one_line_error(r)
        assert f"is in use by another run (process {os.getpid()})" in line and load_checkpoint(run_ckpt)["step"] == 2
    finally:
        release_run_dir(out)


def test_a_killed_runs_lock_dies_with_it(tmp_path):
    from worldgen_core.runs import release_run_dir

    out = tmp_path / "run"
    code = (
        f"from worldgen_core.runs import claim_run_dir; claim_run_dir({str(out)!r}, False); "
        "print('locked', flush=True); input()"
    )
    p = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stdin=subprocess.PIPE, text=True, cwd=ROOT
    )
    try:
        assert p.stdout.readline().strip() == "locked"
        with pytest.raises(SystemExit, match="in use by another run"):
            claim_run_dir(out, False)
    finally:
        p.kill()
        p.wait()
    claim_run_dir(out, False)  # kill -9 freed it
    release_run_dir(out)


# ---- 8. non-finite weights and outputs are errors -----------------------------------------------
def test_non_finite_weights_fail_at_load(run_ckpt, tmp_path):
    ck = load_checkpoint(run_ckpt)
    name = [k for k, v in ck["ema"].items() if v.is_floating_point()][3]
    ck["ema"][name] = ck["ema"][name].clone()
    ck["ema"][name].view(-1)[0] = float("nan")
    save_checkpoint(tmp_path / "nan.pt", _body(ck))  # a valid digest: the file is as written
    with pytest.raises(
        CheckpointError,
        match=rf"'{re.escape(str(tmp_path / 'nan.pt'))}' holds weights that are not finite \(ema: {re.escape(name)}",
    ):
        load_world_model(tmp_path / "nan.pt", device="cpu")
    line = _one_line_error(_cli("-m world_models.io.export", tmp_path / "nan.pt", tmp_path / "x.pt"))
    assert "not finite" in line and not (tmp_path / "x.pt").exists()


def test_non_finite_prediction_fails_at_the_step(run_ckpt):
    wm = load_world_model(run_ckpt, device="cpu")
    with torch.no_grad():
        for p in wm.model.final.parameters():
            p.fill_(3e38)  # finite weights whose output overflows
    with pytest.raises(FloatingPointError, match="predicted views with NaN or inf values"):
        wm.predict(np.full((2, 64, 64, 3), 128, np.uint8), np.array([0, 1]))


# ---- 14. a place field on another map warns; EXIF orientation is applied -------------------------
def test_place_field_model_on_another_map_warns_once(tmp_path):
    mine = stripe_map(tmp_path / "mine.png", (40, 160, 90))
    path = train(tiny_train_args(tmp_path, map=mine, steps=1, place=PlaceArgs(field=True)))
    wm = load_world_model(path, device="cpu")
    assert wm.knows(WorldCore(mine))
    other = WorldCore(stripe_map(tmp_path / "other.png", (200, 120, 30)))
    with pytest.warns(
        UserWarning,
        match=rf"world model '{re.escape(str(path))}' has a place field learnt on another map .*'.*other.png'",
    ):
        assert not wm.knows(other)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not wm.knows(other)  # once per map


def test_exif_rotated_jpeg_map_loads_as_shown(tmp_path):
    img = np.zeros((40, 80, 3), np.uint8)
    img[:, :40] = 255  # left half white: as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    Image.fromarray(img).save(tmp_path / "photo.jpg", exif=exif, quality=95)
    shown = load_map(tmp_path / "photo.jpg")
    assert shown.shape == (80, 40, 3) and shown[:40].mean() > 200 > 50 > shown[40:].mean()  # the white half is on top


# ---- 15. the CLIs answer a mistake with one error line ------------------------------------------
@pytest.mark.parametrize(
    "module,args,says",
    [
        ("world_models.io.export", ["{tmp}/nope.pt", "{tmp}/x.pt"], "does not exist"),
        ("world_models.io.export", ["{ckpt}", "{tmp}/x.pt", "--steps", "0"], "steps must be an int >= 1"),
        ("world_models.io.export", ["{ckpt}", "{tmp}"], "is a folder"),
        ("world_models.io.export", ["{ckpt}", "{tmp}/notes.txt/x.pt"], "is a file, not a folder"),
        ("worldgen_core.mapgen", ["--width", "10", "-o", "{tmp}/m.png"], "--width and --height must be >= 128"),
        ("worldgen_core.mapgen", ["--seed", "-1", "-o", "{tmp}/m.png"], "--seed must be >= 0"),
        ("worldgen_core.mapgen", ["-o", "{tmp}", "--width", "160", "--height", "128"], "is a folder"),
        ("worldgen_core.citygen", ["--seed", "-1", "-o", "{tmp}/c.png"], "--seed must be >= 0"),
        (
            "worldgen_core.citygen",
            ["-o", "{tmp}/notes.txt/c.png", "--width", "160", "--height", "128"],
            "is a file, not a folder",
        ),
        (
            "world_models.speed",
            ["--presets", "tiny", "--repeats", "0", "--seconds", "0.1"],
            "--repeats and --batch must be >= 1",
        ),
        ("world_models.speed", ["--presets", "huge"], "--presets must name presets"),
    ],
)
def test_model_and_map_clis_answer_mistakes_with_one_error_line(run_ckpt, tmp_path, module, args, says):
    (tmp_path / "notes.txt").write_text("mine")
    r = _cli(f"-m {module}", *(a.format(tmp=tmp_path, ckpt=run_ckpt) for a in args))
    assert says in _one_line_error(r) and r.returncode == 2
    assert (tmp_path / "notes.txt").read_text() == "mine"


# ---- 18. a full disk keeps the last good checkpoint; SIGTERM between stages saves ----------------
def test_full_disk_keeps_the_last_good_checkpoint_and_the_run_resumes(tmp_path, monkeypatch):
    real, calls = torch.save, []

    def save(obj, f, *a, **kw):
        calls.append(1)
        if len(calls) > 2:  # step 0 and step 1 are written, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(obj, f, *a, **kw)

    monkeypatch.setattr(ckmod.torch, "save", save)
    with pytest.raises(
        SystemExit,
        match=r"could not write the checkpoint at step \d \('.*last.pt': No space left on device\); the last good "
        r"checkpoint .*last.pt \(step 1\) is kept as it was; free some space, then --resume",
    ):
        train(tiny_train_args(tmp_path, steps=5, ckpt_every=1))
    monkeypatch.setattr(ckmod.torch, "save", real)
    run = tmp_path / "run"
    assert load_checkpoint(run / "last.pt")["step"] == 1 and not list(run.glob(".*.tmp"))
    assert load_checkpoint(train(tiny_train_args(tmp_path, steps=3, ckpt_every=1, resume=True)))["step"] == 3


def test_full_disk_before_the_first_checkpoint_leaves_the_folder_free(tmp_path, monkeypatch):
    def full(*a, **kw):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ckmod.torch, "save", full)
    with pytest.raises(SystemExit, match="no checkpoint was written, so the folder holds no run yet"):
        train(tiny_train_args(tmp_path, steps=2))
    monkeypatch.undo()
    assert load_checkpoint(train(tiny_train_args(tmp_path, steps=2)))["step"] == 2  # the same command, no --resume


def test_sigterm_between_recipe_stages_saves_and_resumes(tmp_path, monkeypatch, capsys):
    real = recipe.export

    def export_after_sigterm(*a, **kw):
        os.kill(os.getpid(), signal.SIGTERM)  # arrives between stage 1's training and its export
        return real(*a, **kw)

    monkeypatch.setattr(recipe, "export", export_after_sigterm)
    with pytest.raises(SystemExit) as e:
        recipe.run(_rargs(tmp_path / "r"))
    err = capsys.readouterr().err
    assert e.value.code == 130 and "interrupted between stages" in err and "continue with --resume" in err
    monkeypatch.setattr(recipe, "export", real)
    final = recipe.run(_rargs(tmp_path / "r", resume=True))
    assert list(load_checkpoint(final)["recipe"]["stages"]) == ["flow", "adversarial"]


# ---- 19. a start that fails before its first checkpoint does not take the folder -----------------
def test_failed_start_leaves_the_folder_for_the_fixed_command(tmp_path):
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="bad.pt"):
        recipe.run(_rargs(tmp_path / "r", pretrained=str(tmp_path / "bad.pt")))
    assert (tmp_path / "r" / "args.json").exists()
    assert (
        load_checkpoint(recipe.run(_rargs(tmp_path / "r")))["recipe"]["args"]["pretrained"] is None
    )  # same --out, no --resume


def test_killed_right_after_args_json_leaves_the_folder_free(tmp_path):
    run = tmp_path / "run"
    record_args(run, {"steps": 99})  # what a start killed here leaves: args.json, an empty tb/
    (run / "tb").mkdir()
    (run / "tb" / "events.out.tfevents.1.host").write_bytes(b"\0" * 40)
    assert load_checkpoint(train(tiny_train_args(tmp_path, steps=1)))["step"] == 1
    assert json.loads((run / "args.json").read_text())["steps"] == 1


def test_args_json_is_written_atomically(tmp_path, monkeypatch):
    record_args(tmp_path, {"steps": 1})
    monkeypatch.setattr(
        files.os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(errno.ENOSPC, "No space left on device"))
    )
    with pytest.raises(OSError):
        record_args(tmp_path, {"steps": 2})
    assert json.loads((tmp_path / "args.json").read_text()) == {"steps": 1} and not list(tmp_path.glob(".*.tmp"))


# ---- 20. the time budget is a finite number of seconds ------------------------------------------
def test_infinite_time_budget_is_refused(tmp_path):
    with pytest.raises(SystemExit, match="--time-budget a finite number of seconds > 0, got 1 and inf"):
        train(tiny_train_args(tmp_path, steps=1, time_budget=math.inf))
    with pytest.raises(SystemExit, match="--time-budget must be a finite number of seconds > 0, got inf"):
        recipe._validate(_rargs(tmp_path / "r", time_budget=math.inf))
    assert not (tmp_path / "run").exists()


# ---- A. what a review of these fixes found -----------------------------------------------------
def test_a_linked_lock_file_is_never_written_through(tmp_path, run_ckpt):
    from worldgen_core.runs import LOCK_NAME

    out = tmp_path / "run"
    out.mkdir()
    for f in run_ckpt.parent.iterdir():
        if f.is_file() and f.name != LOCK_NAME:
            (out / f.name).write_bytes(f.read_bytes())
    (tmp_path / "victim.txt").write_text("mine")
    (out / LOCK_NAME).symlink_to(tmp_path / "victim.txt")
    with pytest.raises(SystemExit, match=f"its {LOCK_NAME} is a link, which a run never writes through"):
        claim_run_dir(out, resume=True)
    assert (tmp_path / "victim.txt").read_text() == "mine"


def test_resume_with_another_map_path_names_the_flag(tmp_path):
    a, b = stripe_map(tmp_path / "a.png", (40, 160, 90)), stripe_map(tmp_path / "b.png", (200, 120, 30))
    train(tiny_train_args(tmp_path, map=a, steps=1))
    with pytest.raises(
        SystemExit, match=r"settings that differ from the run in .*: --map '.*b.png' \(the run has '.*a.png'\)"
    ):
        train(tiny_train_args(tmp_path, map=b, steps=2, resume=True))
