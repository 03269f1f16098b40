"""Baseline next-view predictors that learn nothing: the floor every world model must clear.

Both are :data:`worldgen_core.simulator.Predictor` functions (numpy, uint8 views):

* ``copy_baseline``: the next view is the current one (never moves; exact when a loop returns).
* ``shift_baseline``: translate the view by the action's stride and fill the revealed strip by
  repeating the edge pixels (exact on the known region, streaks on the new strip).
"""

from __future__ import annotations

import numpy as np

from worldgen_core import dynamics as dyn

__all__ = ["copy_baseline", "shift_baseline"]


def shift_baseline(views: np.ndarray, actions: np.ndarray, stride: int = 8) -> np.ndarray:
    """Translate each view (B, H, W, 3) by its action (B,) and repeat the edge into the revealed strip."""
    out = np.empty_like(views)
    for a in range(4):
        idx = np.flatnonzero(actions == a)
        if not len(idx):
            continue
        v = views[idx]
        if a == dyn.UP:  # the view moves up: content moves down, a new strip appears at the top
            out[idx] = np.concatenate([np.repeat(v[:, :1], stride, 1), v[:, :-stride]], 1)
        elif a == dyn.DOWN:
            out[idx] = np.concatenate([v[:, stride:], np.repeat(v[:, -1:], stride, 1)], 1)
        elif a == dyn.LEFT:
            out[idx] = np.concatenate([np.repeat(v[:, :, :1], stride, 2), v[:, :, :-stride]], 2)
        else:
            out[idx] = np.concatenate([v[:, :, stride:], np.repeat(v[:, :, -1:], stride, 2)], 2)
    return out


def copy_baseline(views: np.ndarray, actions: np.ndarray) -> np.ndarray:
    """next = current."""
    return views.copy()
