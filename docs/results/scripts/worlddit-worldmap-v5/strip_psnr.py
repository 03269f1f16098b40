"""Revealed-strip PSNR of exported models (NAME=PATH ...) on the benchmark's 1,000 one-step transitions (seed 0), one
torch thread: the same dream path as worldbench's 'new strip dB', a check during training."""
import sys, numpy as np, torch
from worldbench import runners
from worldbench.models import parse_spec
from worldgen_core.metrics import new_bands
from worldgen_core.world import WorldCore
torch.set_num_threads(1)
core = WorldCore("data/world_map.png")
starts, acts = runners.transitions(core, 1000, 0)
for spec in sys.argv[1:]:
    e = parse_spec(spec, core)
    true, fake = runners.run_episodes(e.make, core, starts, acts, 0)
    rb, fb = new_bands(true[:, 1], acts[:, 0]), new_bands(fake[:, 1], acts[:, 0])
    mse = ((rb[:, :8].astype(np.float64) - fb[:, :8]) ** 2).mean()
    print(f"{spec}: strip {10 * np.log10(255 ** 2 / mse):.2f} dB", flush=True)
