"""The benchmark's C2ST sets of a model (1,000 revealed bands, 256 frames at rollout step 16), saved as an npz:
python docs/findings/c2st_sets.py NAME=PATH OUT.npz [SEED]."""
import sys, numpy as np, torch
from worldbench import runners
from worldbench.models import parse_spec
from worldbench.bench import C2ST_STEP
from worldgen_core.metrics import new_bands
from worldgen_core.world import WorldCore
torch.set_num_threads(2)
spec, out, s = sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 0
core = WorldCore("data/world_map.png")
e = parse_spec(spec, core)
starts, acts = runners.transitions(core, 1000, s)
true, fake = runners.run_episodes(e.make, core, starts, acts, s)
a = acts[:, 0]
rb, fb = new_bands(true[:, 1], a), new_bands(fake[:, 1], a)
starts, acts2 = runners.open_loop(core, 256, C2ST_STEP, s + 2)
true2, fake2 = runners.run_episodes(e.make, core, starts, acts2, s + 2)
np.savez_compressed(out, real_b=rb, fake_b=fb, real_f=true2[:, -1], fake_f=fake2[:, -1], acts2=acts2, starts2=starts)
print("saved", out)
