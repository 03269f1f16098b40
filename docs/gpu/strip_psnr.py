"""One-step PSNR of exported world models on 500 fixed transitions of the default map, with and
without their place field: ``python docs/gpu/strip_psnr.py A.pt B.pt ...`` (a ``last.pt`` is exported first)."""
import sys, numpy as np, torch
from world_models.inference import load_world_model
from world_models.evaluate import sample_transitions, model_predictor, one_step
from world_models.export import export
from worldgen_core.world import WorldCore
core = WorldCore()
data = sample_transitions(core, 500, 0)
for path in sys.argv[1:]:
    if path.endswith("last.pt"):
        path = str(export(path, path.replace("last.pt", "wm.pt"), steps=1, cfg_scale=1.0))
    wm = load_world_model(path)
    for place in ([False, True] if wm.has_place else [False]):
        res, _ = one_step(model_predictor(wm), data, 8, place)
        print(path, "place" if place else "-", {k: round(v, 2) for k, v in res.items()}, flush=True)
