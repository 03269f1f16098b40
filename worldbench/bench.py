"""One model through every measurement: fidelity, memory, realism, cost (numbers and artefacts)."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np

from worldgen_core import dynamics as dyn
from worldgen_core.metrics import drift, masked_psnr, new_bands, one_step, psnr, ratio, streaks
from worldgen_core.world import WorldCore

from . import c2st as c2st_mod
from . import cost, runners
from .kid import RandomFeatures, kid
from .models import Entry

__all__ = ["BenchConfig", "QUICK", "evaluate_entry", "seen_split", "MIN_SPLIT_BANDS"]


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
QUICK = BenchConfig(
    n_transitions=64,
    n_rollouts=4,
    n_walks=16,
    horizon=16,
    loop_ks=(1, 2, 4),
    n_loops=4,
    c2st_rollouts=32,
    c2st_steps=30,
    c2st_repeats=2,
    kid_subsets=4,
    kid_subset_size=16,
    speed_envs=8,
    speed_seconds=0.2,
    speed_repeats=1,
)

ROLLOUT_AT = (1, 4, 16, 64)
C2ST_STEP = 16
STREAK_STEPS = 16
#: revealed bands each side (seen, unseen) needs for its own C2ST
MIN_SPLIT_BANDS = 100


def _c2st(res: dict, key: str, real: np.ndarray, fake: np.ndarray, config: BenchConfig) -> None:
    """``res["c2st_{key}_*"]``: the median C2ST of ``real`` against ``fake``; with ``config.c2st_explain`` also
    ``res["c2st_{key}_{view}_*"]`` for each view of :func:`worldbench.c2st.explain`."""
    res.update(
        {
            f"c2st_{key}_{k}": v
            for k, v in c2st_mod.c2st_median(real, fake, config.seed, config.c2st_steps, config.c2st_repeats).items()
        }
    )
    if config.c2st_explain:
        for view, c in c2st_mod.explain(real, fake, config.seed, config.c2st_steps, config.c2st_repeats).items():
            res.update({f"c2st_{key}_{view}_{k}": v for k, v in c.items()})


def seen_split(core: WorldCore, starts: np.ndarray, actions: np.ndarray, covered: np.ndarray) -> tuple:
    """(seen, unseen) boolean masks of one-step transitions from cells ``starts`` (n, 2) under ``actions`` (n,):
    seen when every cell of the revealed strip is ``covered`` (a grid of ``core.place_grid``), unseen when none is."""
    cells = dyn.revealed_cells(dyn.move(starts, actions, core.grid), actions, core.task.view_size // core.task.stride)
    shown = covered[cells[..., 0], cells[..., 1]]  # (n, cells)
    return shown.all(1), ~shown.any(1)


def evaluate_entry(
    entry: Entry, core: WorldCore, config: BenchConfig, covered: np.ndarray | None = None
) -> tuple[dict, dict, dict]:
    """Returns (scalars, curves, artefacts) for one model; see ``python -m worldbench --help``.

    ``covered``: the cells an episode dataset showed (``world_models.episodes.covered_cells``); adds the revealed-strip
    PSNR on the transitions whose strip the dataset showed and on those it never showed (``psnr_new_seen``,
    ``psnr_new_unseen``, counted in ``n_new_seen``, ``n_new_unseen``), and C2ST on their bands when each side has at
    least ``MIN_SPLIT_BANDS``."""
    res: dict = {}
    curves: dict = {}
    art: dict = {}
    s = config.seed
    stride = core.task.stride
    t0 = time.perf_counter()

    # one step: the known region must be copied, the revealed strip invented (or known)
    starts, acts = runners.transitions(core, config.n_transitions, s)
    true, fake = runners.run_episodes(entry.make, core, starts, acts, s)
    a = acts[:, 0]
    res.update(one_step(fake[:, 1], true[:, 1], a, stride))  # psnr_known, psnr_new, sharpness_new
    real_b, fake_b = (
        new_bands(true[:, 1], a),
        new_bands(fake[:, 1], a),
    )  # (n, 16, W, 3): new strip + the context it continues
    _c2st(res, "new", real_b, fake_b, config)
    res["kid_rand_new"], res["kid_rand_new_std"] = kid(
        RandomFeatures(), real_b, fake_b, config.kid_subsets, min(config.kid_subset_size, len(real_b))
    )
    art["bands"] = (real_b[:8], fake_b[:8])
    if covered is not None:
        sides = dict(zip(("seen", "unseen"), seen_split(core, starts, a, covered)))
        for side, m in sides.items():
            res[f"n_new_{side}"] = int(m.sum())
            if m.any():  # no transition on a side: no PSNR for it
                res[f"psnr_new_{side}"] = masked_psnr(fake[m, 1], true[m, 1], a[m], True, stride)
        if min(res["n_new_seen"], res["n_new_unseen"]) >= MIN_SPLIT_BANDS:
            for side, m in sides.items():
                _c2st(res, f"new_{side}", real_b[m], fake_b[m], config)

    # open loop: random moves, PSNR against the true views at every step
    starts, acts = runners.open_loop(core, config.n_rollouts, config.horizon, s + 1)
    true, fake = runners.run_episodes(entry.make, core, starts, acts, s + 1)
    curves["rollout_psnr"] = [psnr(fake[:, t], true[:, t]) for t in range(1, config.horizon + 1)]
    for k in ROLLOUT_AT:
        if k <= config.horizon:
            res[f"rollout_psnr@{k}"] = curves["rollout_psnr"][k - 1]
    art["rollout"] = (true[:2], fake[:2])

    # realism late in a dream: C2ST of the frames at step 16 of open-loop rollouts
    starts, acts = runners.open_loop(core, config.c2st_rollouts, C2ST_STEP, s + 2)
    true, fake = runners.run_episodes(entry.make, core, starts, acts, s + 2)
    _c2st(res, f"roll{C2ST_STEP}", true[:, -1], fake[:, -1], config)
    res.update({f"{k}_roll@{C2ST_STEP}": v for k, v in drift(fake[:, -1], true[:, -1]).items()})  # contrast, sharpness
    art["late"] = (true[:8, -1], fake[:8, -1])

    # streaks: straight walks, each move revealing a strip next to the last one invented; stripes parallel
    # to the motion, as a ratio to the true frames' (1 = the map's own)
    starts, acts = runners.straight_walks(core, config.n_walks, STREAK_STEPS, s + 3)
    true, fake = runners.run_episodes(entry.make, core, starts, acts, s + 3)
    vertical = np.isin(acts[:, 0], (dyn.UP, dyn.DOWN))  # the stripes run along the columns
    for part in ("chroma", "luma"):
        curves[f"streaks_{part}"] = [
            ratio(streaks(fake[:, t], vertical, part), streaks(true[:, t], vertical, part))
            for t in range(1, STREAK_STEPS + 1)
        ]
        res[f"streaks_{part}@{STREAK_STEPS}"] = curves[f"streaks_{part}"][-1]

    # memory: loops whose end is the start view the simulator was shown
    for kind, make_loop, turn_at, back_at in (
        ("line", runners.line_loops, 1, 2),
        ("square", runners.square_loops, 2, 4),
    ):
        turn, back = [], []
        for k in config.loop_ks:
            starts, acts = make_loop(core, config.n_loops, k, s + 3 + k)
            true, fake = runners.run_episodes(entry.make, core, starts, acts, s + 3 + k)
            assert np.array_equal(true[:, back_at * k], true[:, 0])  # the loop closes
            turn.append(psnr(fake[:, turn_at * k], true[:, turn_at * k]))
            back.append(psnr(fake[:, back_at * k], true[:, back_at * k]))
            if kind == "square" and k == max(config.loop_ks):
                art["loop"] = (true[0], fake[0])
        curves[f"loop_{kind}_turn"], curves[f"loop_{kind}_back"] = turn, back
        res[f"loop_{kind}_back_min"] = min(back)
        res[f"loop_{kind}_turn_min"] = min(turn)
    curves["loop_ks"] = list(config.loop_ks)
    res["bench_wall_s"] = time.perf_counter() - t0

    # cost
    res["mflop_per_frame"] = cost.flops_per_frame(entry.make, core) / 1e6
    res[f"dream_steps_s_n{config.speed_envs}"] = cost.dream_steps_per_s(
        entry.make, config.speed_envs, config.speed_seconds, config.speed_repeats, world=core.world
    )  # on the benchmarked map: a model that knows it by place dreams there
    return res, curves, art


def config_dict(config: BenchConfig) -> dict:
    return asdict(config)
