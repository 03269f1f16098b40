"""world_models.training.rollout: the dreams' rows (dreamed context, true target), how they advance, exact resume."""

from dataclasses import replace

import numpy as np
import pytest
import torch
from helpers import ADV, tiny_train_args

from world_models.data import TransitionSampler, to_tensor
from world_models.io.checkpoint import load_checkpoint
from world_models.training.adversarial import Adversary, revealed_band
from world_models.training.rollout import RolloutPlugin
from world_models.training.trainer import RolloutArgs, train
from worldgen_core import dynamics as dyn
from worldgen_core.world import WorldCore


def _step(plugin: RolloutPlugin, core: WorldCore, drawn: np.ndarray | None = None):
    """One training step's worth of the plug-in: fill a batch, 'sample' (``drawn`` or the target inverted), advance."""
    R = plugin.rows
    batch = TransitionSampler(core, seed=0).sample(R + 2)
    rows = slice(0, R)
    before = {"views": plugin.views.copy(), "pos": plugin.pos.copy()}
    plugin.fill(batch, rows)
    x_1 = to_tensor(batch["next"])
    sample = to_tensor(drawn) if drawn is not None else -x_1[rows]  # a "model" whose sample is the target inverted
    t = torch.rand(R + 2)
    plugin.prepare(t, None, rows)
    plugin.loss(torch.zeros(()), torch.cat([sample, x_1[R:]]), x_1, torch.as_tensor(batch["action"]), rows)
    plugin.after_step(x_1, torch.as_tensor(batch["action"]), rows)
    return batch, before, t


def test_rows_are_dreamed_context_with_the_true_world_as_target():
    core = WorldCore()
    p = RolloutPlugin(core, rows=6, horizon=50, seed=1)
    first_views = p.views.copy()
    assert np.array_equal(first_views, core.views(p.pos))  # every dream starts from a real view
    batch, before, t = _step(p, core)
    assert (t[:6] == 0).all() and (t[6:] > 0).all()  # its rows only are drawn at pure noise
    assert np.array_equal(batch["view"][:6], before["views"]) and np.array_equal(batch["pos"][:6], before["pos"])
    assert np.array_equal(batch["next_pos"][:6], dyn.move(before["pos"], batch["action"][:6], core.grid))
    assert (batch["next_pos"][:6] != before["pos"]).any(1).all()  # only moves that happen
    truth = core.views(batch["next_pos"][:6])
    assert np.array_equal(batch["next"][:6], truth)  # the first move: the remembered tiles are real ones
    # the dream advanced by its sample: the revealed strip is what was "drawn", the rest the memory (the real first
    # view)
    masks = dyn.revealed_masks(64, 8)[batch["action"][:6]]  # (6, H, W)
    drawn = 255 - truth.astype(np.int64)
    assert np.abs(p.views[masks].astype(np.int64) - drawn[masks]).max() <= 1
    assert np.array_equal(p.views[~masks], truth[~masks])
    # the second move's condition is the dreamed view; its target keeps the dreamed tiles it shows again
    batch2 = TransitionSampler(core, seed=1).sample(6)
    views = p.views.copy()
    p.fill(batch2, slice(0, 6))
    assert np.array_equal(batch2["view"], views)
    true_next = core.views(batch2["next_pos"])
    shown_before = p.memory.known(p.idx, batch2["next_pos"], 8)  # (6, g, g) tiles the dream drew or was shown
    assert shown_before.any() and not shown_before.all()  # (a move back shows a view it had all shown)
    mem_view, _ = p.memory.recall(p.idx, batch2["next_pos"], true_next)
    assert np.array_equal(batch2["next"], mem_view)
    tiles = lambda v: v.reshape(6, 8, 8, 8, 8, 3).transpose(0, 1, 3, 2, 4, 5)  # (6, g, g, s, s, 3)
    assert np.array_equal(
        tiles(batch2["next"])[~shown_before], tiles(true_next)[~shown_before]
    )  # never shown: the truth
    assert not np.array_equal(batch2["next"], true_next)  # ... and the dreamed tiles it shows again are the dream's


def test_dreams_restart_from_real_views_after_their_horizon_and_never_share_memory():
    core = WorldCore()
    p = RolloutPlugin(core, rows=4, horizon=3, seed=0)
    assert set(p.left.tolist()) <= {1, 2, 3}
    for _ in range(7):
        left = p.left.copy()
        _step(p, core)
        restarted = left == 1
        assert np.array_equal(p.left[restarted], np.full(restarted.sum(), 3))
        assert np.array_equal(p.views[restarted], core.views(p.pos[restarted]))
    # each dream's memory is its own: a cell one dream drew is unknown to the others unless they saw it
    known = p.memory.known(np.arange(4), np.repeat(p.pos[:1], 4, 0), 8)
    assert known[0].all()


def test_rollout_plugin_checks_its_settings():
    with pytest.raises(ValueError, match="rows and horizon"):
        RolloutPlugin(WorldCore(), rows=0, horizon=4)


def test_state_dict_continues_the_same_dreams():
    core = WorldCore()
    a = RolloutPlugin(core, rows=3, horizon=4, seed=2)
    _step(a, core)
    b = RolloutPlugin(core, rows=3, horizon=4, seed=99)
    b.load_state_dict(a.state_dict())
    ba, _, _ = _step(a, core)
    bb, _, _ = _step(b, core)
    for k in ba:
        assert np.array_equal(ba[k], bb[k]), k
    assert np.array_equal(a.views, b.views)


@pytest.mark.parametrize(
    "extra",
    [
        dict(rollout=RolloutArgs(batch=3, horizon=4)),
        dict(adv=replace(ADV, batch=0), rollout=RolloutArgs(batch=3)),
        dict(adv=ADV, rollout=RolloutArgs(batch=3)),
    ],
    ids=["rollouts", "judged", "judged+adversary"],
)
def test_training_with_rollouts_resumes_exactly(tmp_path, extra):
    straight = train(tiny_train_args(tmp_path, out=str(tmp_path / "a"), steps=4, **extra))
    train(tiny_train_args(tmp_path, out=str(tmp_path / "b"), steps=2, **extra))
    resumed = train(tiny_train_args(tmp_path, out=str(tmp_path / "b"), steps=4, resume=True, **extra))
    a, b = load_checkpoint(straight), load_checkpoint(resumed)
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k
    for k in ("views", "pos", "tiles"):
        assert torch.equal(a["rollout"][k], b["rollout"][k]), k
    if "adv" in extra:
        adv = a["rollout"]["adversary"] if extra["adv"].batch == 0 else a["adversary"]
        assert "disc" in adv and ("adversary" in a["rollout"]) == (extra["adv"].batch == 0)


def test_rollout_options_are_validated(tmp_path):
    for bad in (
        dict(rollout=RolloutArgs(batch=-1)),
        dict(rollout=RolloutArgs(batch=2), experiment="world"),
        dict(rollout=RolloutArgs(batch=2, horizon=0)),
        dict(adv=replace(ADV, batch=0)),
    ):
        with pytest.raises(SystemExit, match="rollout|adv-batch"):
            train(tiny_train_args(tmp_path, **bad))


def _spied(core: WorldCore, band: int, seed: int, frames: bool) -> tuple[RolloutPlugin, dict]:
    """4 dreams judged by an adversary whose discriminator steps record their real and fake inputs in the dict."""
    adv, last = Adversary("cpu", band=band), torch.nn.Parameter(torch.ones(1))
    p = RolloutPlugin(core, rows=4, horizon=8, seed=seed, adversary=adv, frames=frames, last=last)
    seen = {}
    step = adv.discriminator_step
    adv.discriminator_step = lambda real, fake: seen.update(real=real, fake=fake) or step(real, fake)
    return p, seen


def _judge_once(p: RolloutPlugin, core: WorldCore, draw) -> tuple[dict, torch.Tensor, torch.Tensor]:
    """One step of the plug-in's 4 rows whose 'sample' is ``draw(batch, x_1)``; returns (batch, x_1, action)."""
    batch = TransitionSampler(core, seed=0).sample(4)
    p.fill(batch, slice(0, 4))
    x_1, action = to_tensor(batch["next"]), torch.as_tensor(batch["action"])
    sample = draw(batch, x_1) * p.last
    p.loss(sample.pow(2).mean(), sample, x_1, action, slice(0, 4))
    p.after_step(x_1, action, slice(0, 4))
    return batch, x_1, action


def test_adversary_judging_rollouts_sees_only_the_strip_differ():
    """The discriminator's real bands are the targets': the same dreamed context as the sample's."""
    core = WorldCore()
    p, seen = _spied(core, band=16, seed=0, frames=False)
    for _ in range(3):

        def draw(batch, x_1):  # differs from the target in the revealed strips only
            strip = torch.from_numpy(dyn.revealed_masks(64, 8)[batch["action"]])[:, None]  # (4, 1, H, W)
            return torch.where(strip, torch.zeros_like(x_1), x_1)

        _judge_once(p, core, draw)
        assert seen["real"].shape == seen["fake"].shape == (4, 3, 16, 64)
        assert torch.equal(seen["real"][:, :, 8:], seen["fake"][:, :, 8:].float())  # the same (dreamed) context
        assert not torch.equal(seen["real"][:, :, :8], seen["fake"][:, :, :8].float())


def test_frame_adversary_judges_what_the_dream_shows_against_the_true_frame():
    core = WorldCore()
    p, seen = _spied(core, band=64, seed=3, frames=True)
    for _ in range(3):
        seen_before = {}

        def draw(batch, x_1):  # a "model" that draws grey everywhere; notes what the dream remembered
            seen_before["known"] = p.memory.known(p.idx, batch["next_pos"], 8).repeat(8, 1).repeat(8, 2)  # (4, H, W)
            return torch.zeros_like(x_1)

        batch, x_1, action = _judge_once(p, core, draw)
        true = core.views(batch["next_pos"])
        known = torch.from_numpy(seen_before["known"])[:, None]  # (4, 1, H, W)
        assert not known.all()
        shown = torch.where(known, x_1, torch.zeros_like(x_1))  # the remembered pixels and the sample elsewhere
        assert torch.equal(seen["fake"].float(), revealed_band(shown, action, 64))
        assert torch.equal(seen["real"], revealed_band(to_tensor(true), action, 64))
    with pytest.raises(ValueError, match="band=64"):
        RolloutPlugin(core, rows=2, horizon=4, adversary=Adversary("cpu", band=16), frames=True)


def test_training_with_a_frame_discriminator_saves_its_own(tmp_path):
    ck = load_checkpoint(
        train(tiny_train_args(tmp_path, steps=2, adv=replace(ADV, batch=2), rollout=RolloutArgs(batch=2, frames=True)))
    )
    assert "disc" in ck["rollout"]["adversary"] and "disc" in ck["adversary"]
    with pytest.raises(SystemExit, match="--rollout.frames"):
        train(tiny_train_args(tmp_path, out=str(tmp_path / "x"), rollout=RolloutArgs(frames=True)))
