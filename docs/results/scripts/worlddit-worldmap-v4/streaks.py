"""Streaks along the motion: 256 straight walks (64 per direction, 16 moves, random starts that fit),
the dream against the real env. Per frame, the stripes parallel to the motion (the column means when
moving up/down, the row means when moving left/right, of the image minus its mean), high-passed along
the profile, RMS; chroma (image minus its per-pixel grey) and luma. Real = the map's own stripes.
Usage: streaks.py SPEC [SPEC...]  (worldbench specs: NAME=PATH)"""
import sys, numpy as np, torch
from worldgen_core.metrics import streaks
from worldbench import runners
from worldbench.models import parse_spec
from worldgen_core.world import WorldCore
torch.set_num_threads(2)
core = WorldCore("data/world_map.png")
rng = np.random.default_rng(0)
T, n = 16, 64
acts = np.repeat(np.arange(4), n)  # UP DOWN LEFT RIGHT
starts = np.stack([rng.integers(T, core.grid[0] - T, 4 * n), rng.integers(T, core.grid[1] - T, 4 * n)], 1)
actions = np.repeat(acts[:, None], T, 1)

def streak(frames, vertical):  # frames (B, H, W, 3) -> (chroma, luma) stripe RMS
    return [streaks(frames, vertical, part) for part in ("chroma", "luma")]

vertical = acts < 2
for spec in sys.argv[1:]:
    e = parse_spec(spec, core)
    true, fake = runners.run_episodes(e.make, core, starts, actions, 0)
    row = []
    for t in (4, 8, 16):
        (cr, lr), (cf, lf) = streak(true[:, t], vertical), streak(fake[:, t], vertical)
        row.append(f"step {t}: chroma {cf:.2f} (real {cr:.2f}) luma {lf:.2f} (real {lr:.2f})")
    print(spec.split("=")[0], " | ".join(row), flush=True)
