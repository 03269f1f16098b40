"""The simulator protocol's memory (worldgen_core.simulator.TileMemory, PredictorSimulator(memory=...))."""

import numpy as np
import pytest

from worldgen_core import dynamics as dyn
from worldgen_core.simulator import PredictorSimulator, TileMemory


class NoisePredictor:
    """A stand-in model: fresh random pixels for every predicted view; counts rows predicted."""

    def __init__(self, seed=0):
        self.rng, self.rows = np.random.default_rng(seed), []

    def __call__(self, views, actions):
        self.rows.append(len(views))
        return self.rng.integers(0, 256, views.shape, dtype=np.uint8)


def _sim(n=3, cells=72, seed=0, start=None):
    pred = NoisePredictor(seed)
    sim = PredictorSimulator(pred, memory=TileMemory(stride=8, cells=cells))
    first = np.random.default_rng(100 + seed).integers(0, 256, (n, 64, 64, 3), dtype=np.uint8)
    start = np.tile([[40, 40]], (n, 1)) if start is None else start
    sim.reset(np.arange(n), first, start)
    return sim, pred, first


def _walk(sim, actions, n):
    """Step every sub-env with the same actions (no edges here); returns the views and cells visited."""
    views, cells, pos = [], [], sim.pos.copy()
    for a in actions:
        views.append(sim.step(np.full(n, a), np.ones(n, bool)))
        pos = pos + dyn.ACTION_DELTAS[a]
        cells.append(pos.copy())
    return views, cells


def test_a_revisit_returns_exactly_the_pixels_shown_before():
    sim, pred, first = _sim()
    rng = np.random.default_rng(0)
    actions = rng.integers(0, 4, 200)
    views, cells = _walk(sim, actions, 3)
    seen = {}  # (env, cell) -> view first shown there
    revisits = 0
    for v, c in zip([first] + views, [sim.pos - sum(dyn.ACTION_DELTAS[a] for a in actions)] + cells):
        for e in range(3):
            key = (e, *c[e])
            if key in seen:
                assert np.array_equal(seen[key], v[e]), f"sub-env {e} at cell {c[e]} shows different pixels than before"
                revisits += 1
            else:
                seen[key] = v[e]
    assert revisits > 100  # a random walk of 200 steps revisits often: the check ran


def test_a_partly_seen_view_keeps_the_seen_tiles_and_generates_the_rest():
    sim, pred, first = _sim(n=1)
    out = sim.step(np.array([dyn.RIGHT]), np.array([True]))[0]
    assert np.array_equal(out[:, :56], first[0][:, 8:])  # the 7 columns of tiles seen before, exactly
    assert not np.array_equal(out[:, 56:], np.zeros_like(out[:, 56:]))  # the new column is the model's
    assert pred.rows == [1]


def test_an_all_remembered_view_skips_the_model():
    sim, pred, first = _sim(n=2)
    sim.step(np.array([dyn.RIGHT, dyn.DOWN]), np.ones(2, bool))
    out = sim.step(np.array([dyn.LEFT, dyn.UP]), np.ones(2, bool))  # back to where both started
    assert pred.rows == [2] and np.array_equal(out, first)
    sim.step(np.array([dyn.LEFT, dyn.UP]), np.array([True, False]))  # only sub-env 0 moves, into new cells
    assert pred.rows == [2, 1]


def test_no_memory_leaks_between_sub_envs():
    # both sub-envs start at the same cell with different first views; only sub-env 0 walks right and back
    sim, pred, first = _sim(n=2)
    for a in [dyn.RIGHT] * 8:
        sim.step(np.array([a, a]), np.array([True, False]))
    pred.rows.clear()
    views = [sim.step(np.array([dyn.RIGHT, dyn.RIGHT]), np.array([False, True]))[1]]  # sub-env 1 walks where 0 has been
    assert pred.rows == [1]  # sub-env 0's memory did not fill sub-env 1's view
    assert np.array_equal(views[0][:, :56], first[1][:, 8:])  # its own memory did


def test_reset_clears_a_sub_envs_memory_only():
    sim, pred, first = _sim(n=2)
    sim.step(np.array([dyn.RIGHT] * 2), np.ones(2, bool))
    sim.reset(np.array([0]), first[:1], np.array([[40, 40]]))  # sub-env 0 starts again at the same cell
    pred.rows.clear()
    out = sim.step(np.array([dyn.RIGHT, dyn.LEFT]), np.ones(2, bool))
    assert pred.rows == [1]  # sub-env 0 generates its right column anew; sub-env 1, back at its start, remembers
    assert np.array_equal(out[1], first[1])


def test_memory_is_bounded_and_forgets_only_what_was_overwritten():
    sim, pred, first = _sim(n=1, cells=16)
    size = sim.memory.tiles.nbytes
    for a in [dyn.RIGHT] * 40:  # 40 cells away: more than the 16-cell ring holds
        sim.step(np.array([a]), np.array([True]))
    assert sim.memory.tiles.nbytes == size == 16 * 16 * 8 * 8 * 3
    pred.rows.clear()
    for a in [dyn.LEFT] * 40:
        out = sim.step(np.array([a]), np.array([True]))
    assert pred.rows and not np.array_equal(out[0], first[0])  # the start was overwritten: generated anew
    sim2, _, first2 = _sim(n=1, cells=16)
    for a in [dyn.RIGHT] * 4 + [dyn.LEFT] * 4:  # within the ring: exact
        out = sim2.step(np.array([a]), np.array([True]))
    assert np.array_equal(out[0], first2[0])


def test_remember_places_known_views():
    sim, pred, first = _sim(n=1)
    goal = np.full((1, 64, 64, 3), 9, np.uint8)
    sim.remember(np.array([0]), goal, np.array([[40, 50]]))  # ten cells to the right
    for a in [dyn.RIGHT] * 10:
        out = sim.step(np.array([a]), np.array([True]))
    assert np.array_equal(out[0], goal[0])
    with pytest.raises(ValueError, match="needs a simulator with a memory"):
        PredictorSimulator(NoisePredictor()).remember(np.array([0]), goal, np.array([[0, 0]]))


def test_memory_checks_its_sizes():
    with pytest.raises(ValueError, match="multiple of the stride"):
        TileMemory(stride=8).reset(np.array([0]), np.zeros((1, 60, 60, 3), np.uint8), np.zeros((1, 2), np.int64))
    with pytest.raises(ValueError, match="use cells >= 8"):
        TileMemory(stride=8, cells=4).reset(
            np.array([0]), np.zeros((1, 64, 64, 3), np.uint8), np.zeros((1, 2), np.int64)
        )


def test_a_place_aware_predictor_gets_the_next_views_cells():
    """``place=True``: the predictor is given the cells the known motion puts the views at, so a
    predictor that knows the map (here: crops it) dreams it exactly, with or without a memory."""
    from worldgen_core.world import WorldCore

    core = WorldCore(world=np.random.default_rng(0).integers(0, 256, (160, 200, 3), dtype=np.uint8))
    seen = []

    def crop(views, actions, cells):
        seen.append(len(views))
        return core.views(cells)

    rng = np.random.default_rng(1)
    for memory in (None, TileMemory(stride=8)):
        sim = PredictorSimulator(crop, memory=memory, place=True)
        pos = np.array([[3, 3], [5, 9], [0, 0]])
        sim.reset(np.arange(3), core.views(pos), pos)
        for _ in range(12):
            a = rng.integers(0, 4, 3)
            new = dyn.move(pos, a, core.grid)
            moved = (new != pos).any(1)
            views = sim.step(a, moved)
            pos = new
            assert np.array_equal(views[moved], core.views(pos)[moved])
    assert sum(seen) > 0
    plain = PredictorSimulator(lambda v, a: v)  # without place=True, a two-argument predictor is called as before
    plain.reset(np.arange(1), core.views(np.zeros((1, 2), int)), np.zeros((1, 2), int))
    assert plain.step(np.array([1]), np.array([True])).shape == (1, 64, 64, 3)
