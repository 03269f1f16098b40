"""One model through every measurement: fidelity, memory, realism, cost (numbers and artefacts)."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np

from world_models.evaluate import RandomFeatures, kid, new_bands
from world_models.metrics import contrast, gradient_energy, psnr, ratio, streaks
from worldgen_core import dynamics as dyn
from worldgen_core.world import WorldCore

from . import c2st as c2st_mod
from . import cost, runners
from .models import Entry

__all__ = ["BenchConfig", "QUICK", "evaluate_entry", "masked_psnr"]


@dataclass(frozen=True)
class BenchConfig:
    """How much of each measurement; ``seed`` fixes every start, action and noise draw."""

    n_transitions: int = 1000
    """one-step transitions (PSNR known / new strip, C2ST and KID-rand on revealed bands)"""
    n_rollouts: int = 16
    """open-loop rollouts of random moves, ``horizon`` steps each"""
    horizon: int = 64
    loop_ks: tuple[int, ...] = (1, 2, 4, 8, 16)
    n_loops: int = 8
    """episodes per loop kind (line, square) and k"""
    n_walks: int = 256
    """straight walks of ``STREAK_STEPS`` moves (a quarter per direction): streaks along the motion"""
    c2st_rollouts: int = 256
    """rollouts of 16 steps whose last frames C2ST compares with the true ones"""
    c2st_steps: int = 400
    c2st_repeats: int = 5
    """critics per C2ST (each its own split and initialisation): the median is reported, with the range"""
    c2st_explain: bool = False
    """also C2ST on the sets reduced to brightness, colour noise and layout (``worldbench.c2st.explain``): what gives a
    model away (about 6 more minutes per model on 2 CPU cores)"""
    kid_subsets: int = 20
    kid_subset_size: int = 100
    speed_envs: int = 64
    speed_seconds: float = 2.0
    speed_repeats: int = 3
    seed: int = 0


#: smoke-run sizes (seconds per model): the numbers are noisy, the code paths are all taken
QUICK = BenchConfig(n_transitions=64, n_rollouts=4, n_walks=16, horizon=16, loop_ks=(1, 2, 4), n_loops=4, c2st_rollouts=32, c2st_steps=30, c2st_repeats=2,
                    kid_subsets=4, kid_subset_size=16, speed_envs=8, speed_seconds=0.2, speed_repeats=1)

ROLLOUT_AT = (1, 4, 16, 64)
C2ST_STEP = 16
STREAK_STEPS = 16


def masked_psnr(fake: np.ndarray, true: np.ndarray, actions: np.ndarray, new: bool, stride: int) -> float:
    """PSNR over the revealed strips (``new``) or the rest (known region), pooled over a set of
    one-step predictions (B, H, W, 3) whose actions are ``actions`` (B,)."""
    masks = dyn.revealed_masks(true.shape[1], stride)
    m = masks[actions] if new else ~masks[actions]  # (B, H, W)
    se = (fake.astype(np.float64) - true.astype(np.float64)) ** 2
    mse = float(se[m].mean())
    return 100.0 if mse == 0 else float(10 * np.log10(255.0**2 / mse))


def _c2st(res: dict, key: str, real: np.ndarray, fake: np.ndarray, cfg: BenchConfig) -> None:
    """``res["c2st_{key}_*"]``: the median C2ST of ``real`` against ``fake``; with ``cfg.c2st_explain`` also
    ``res["c2st_{key}_{view}_*"]`` for each view of :func:`worldbench.c2st.explain`."""
    res.update({f"c2st_{key}_{k}": v for k, v in c2st_mod.c2st_median(real, fake, cfg.seed, cfg.c2st_steps, cfg.c2st_repeats).items()})
    if cfg.c2st_explain:
        for view, c in c2st_mod.explain(real, fake, cfg.seed, cfg.c2st_steps, cfg.c2st_repeats).items():
            res.update({f"c2st_{key}_{view}_{k}": v for k, v in c.items()})


def evaluate_entry(entry: Entry, core: WorldCore, cfg: BenchConfig) -> tuple[dict, dict, dict]:
    """Returns (scalars, curves, artefacts) for one model; see ``python -m worldbench --help``."""
    res: dict = {}
    curves: dict = {}
    art: dict = {}
    s = cfg.seed
    stride = core.task.stride
    t0 = time.perf_counter()

    # one step: the known region must be copied, the revealed strip invented (or known)
    starts, acts = runners.transitions(core, cfg.n_transitions, s)
    true, fake = runners.run_episodes(entry.make, core, starts, acts, s)
    a = acts[:, 0]
    res["psnr_known"] = masked_psnr(fake[:, 1], true[:, 1], a, False, stride)
    res["psnr_new"] = masked_psnr(fake[:, 1], true[:, 1], a, True, stride)
    real_b, fake_b = new_bands(true[:, 1], a), new_bands(fake[:, 1], a)  # (n, 16, W, 3): new strip + the context it continues
    res["sharpness_new"] = ratio(gradient_energy(fake_b[:, :stride]), gradient_energy(real_b[:, :stride]))
    _c2st(res, "new", real_b, fake_b, cfg)
    res["kid_rand_new"], res["kid_rand_new_std"] = kid(RandomFeatures(), real_b, fake_b, cfg.kid_subsets, min(cfg.kid_subset_size, len(real_b)))
    art["bands"] = (real_b[:8], fake_b[:8])

    # open loop: random moves, PSNR against the true views at every step
    starts, acts = runners.open_loop(core, cfg.n_rollouts, cfg.horizon, s + 1)
    true, fake = runners.run_episodes(entry.make, core, starts, acts, s + 1)
    curves["rollout_psnr"] = [psnr(fake[:, t], true[:, t]) for t in range(1, cfg.horizon + 1)]
    for k in ROLLOUT_AT:
        if k <= cfg.horizon:
            res[f"rollout_psnr@{k}"] = curves["rollout_psnr"][k - 1]
    art["rollout"] = (true[:2], fake[:2])

    # realism late in a dream: C2ST of the frames at step 16 of open-loop rollouts
    starts, acts = runners.open_loop(core, cfg.c2st_rollouts, C2ST_STEP, s + 2)
    true, fake = runners.run_episodes(entry.make, core, starts, acts, s + 2)
    _c2st(res, f"roll{C2ST_STEP}", true[:, -1], fake[:, -1], cfg)
    res[f"contrast_roll@{C2ST_STEP}"] = ratio(contrast(fake[:, -1]), contrast(true[:, -1]))
    res[f"sharpness_roll@{C2ST_STEP}"] = ratio(gradient_energy(fake[:, -1]), gradient_energy(true[:, -1]))
    art["late"] = (true[:8, -1], fake[:8, -1])

    # streaks: straight walks, each move revealing a strip next to the last one invented; stripes parallel
    # to the motion, as a ratio to the true frames' (1 = the map's own)
    starts, acts = runners.straight_walks(core, cfg.n_walks, STREAK_STEPS, s + 3)
    true, fake = runners.run_episodes(entry.make, core, starts, acts, s + 3)
    vertical = np.isin(acts[:, 0], (dyn.UP, dyn.DOWN))  # the stripes run along the columns
    for part in ("chroma", "luma"):
        curves[f"streaks_{part}"] = [ratio(streaks(fake[:, t], vertical, part), streaks(true[:, t], vertical, part))
                                     for t in range(1, STREAK_STEPS + 1)]
        res[f"streaks_{part}@{STREAK_STEPS}"] = curves[f"streaks_{part}"][-1]

    # memory: loops whose end is the start view the simulator was shown
    for kind, make_loop, turn_at, back_at in (("line", runners.line_loops, 1, 2), ("square", runners.square_loops, 2, 4)):
        turn, back = [], []
        for k in cfg.loop_ks:
            starts, acts = make_loop(core, cfg.n_loops, k, s + 3 + k)
            true, fake = runners.run_episodes(entry.make, core, starts, acts, s + 3 + k)
            assert np.array_equal(true[:, back_at * k], true[:, 0])  # the loop closes
            turn.append(psnr(fake[:, turn_at * k], true[:, turn_at * k]))
            back.append(psnr(fake[:, back_at * k], true[:, back_at * k]))
            if kind == "square" and k == max(cfg.loop_ks):
                art["loop"] = (true[0], fake[0])
        curves[f"loop_{kind}_turn"], curves[f"loop_{kind}_back"] = turn, back
        res[f"loop_{kind}_back_min"] = min(back)
        res[f"loop_{kind}_turn_min"] = min(turn)
    curves["loop_ks"] = list(cfg.loop_ks)
    res["bench_wall_s"] = time.perf_counter() - t0

    # cost
    res["mflop_per_frame"] = cost.flops_per_frame(entry.make, core) / 1e6
    res[f"dream_steps_s_n{cfg.speed_envs}"] = cost.dream_steps_per_s(entry.make, cfg.speed_envs, cfg.speed_seconds, cfg.speed_repeats)
    return res, curves, art


def config_dict(cfg: BenchConfig) -> dict:
    return asdict(cfg)
