"""Dream env-steps/s at N=64 of two or more models (NAME=PATH ...), alternating 5 times, 3 s each, 2 torch threads."""
import statistics, sys, torch
from worldbench.cost import time_vector
from worldbench.models import checkpoint_simulator
from worldgen_core.world import WorldCore
torch.set_num_threads(2)
core = WorldCore()
paths = dict(a.split("=") for a in sys.argv[1:])
res = {k: [] for k in paths}
for rep in range(5):
    for name, p in paths.items():
        res[name].append(time_vector("DreamWorldMap-v0", 64, 3.0, {"model": checkpoint_simulator(p, core=core)}))
        print(rep, name, round(res[name][-1], 1), flush=True)
for name, v in res.items():
    print(name, "median", round(statistics.median(v), 1), [round(x) for x in v])
k = list(res)
print("ratio", k[1], "/", k[0], round(statistics.median(res[k[1]]) / statistics.median(res[k[0]]), 3),
      "paired:", round(statistics.median(b / a for a, b in zip(res[k[0]], res[k[1]])), 3))
