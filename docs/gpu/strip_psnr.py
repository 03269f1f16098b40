"""One-step PSNR of world models on 500 fixed transitions of a map, with and without their place
field: ``python docs/gpu/strip_psnr.py [--map M.png] A.pt B.pt ...`` (a ``last.pt`` is exported first)."""
import argparse

from world_models.data import TransitionSampler
from world_models.inference import load_world_model, model_predictor
from world_models.io.export import export
from worldgen_core.metrics import one_step
from worldgen_core.world import WorldCore

p = argparse.ArgumentParser(description=__doc__)
p.add_argument("--map", default=None)
p.add_argument("models", nargs="+")
a = p.parse_args()
core = WorldCore(a.map)
data = TransitionSampler(core, seed=0).sample(500)
for path in a.models:
    if path.endswith("last.pt"):
        path = str(export(path, path.replace("last.pt", "wm.pt"), steps=1, cfg_scale=1.0))
    wm = load_world_model(path)
    for place in ([False, True] if wm.knows(core) else [False]):
        gen = model_predictor(wm)(data["view"], data["action"], *((data["next_pos"],) if place else ()))
        res = one_step(gen, data["next"], data["action"], core.task.stride)
        print(path, "place" if place else "-", {k: round(v, 2) for k, v in res.items()}, flush=True)
