#!/bin/bash
# GPU checks (docs/gpu.md): the dream/simulator/benchmark tests on CUDA (pygame, which the GPU
# image lacks, is only needed by the human-render tests: deselected), a profile of the model at
# batch 4096, and PPO in the dream with 256 envs. Usage (repo root): OUT=dir bash docs/gpu/gpu_check.sh
set -u
OUT=${OUT:-runs/gpu}; mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
source docs/gpu/setup.sh
t0=$(date +%s)
echo "== tests on CUDA"; timeout 100 python3 -m pytest -q -p no:cacheprovider tests/test_dream.py tests/test_simulator.py tests/worldbench -k "not checkers and not play and not human" 2>&1 | tail -4
echo "== [$(( $(date +%s) - t0 )) s] model profile at batch 4096"
timeout 60 python3 - <<'PY' 2>&1 | tee "$OUT/profile.txt" | head -30
import numpy as np, torch
from torch.profiler import profile, ProfilerActivity
from world_models.inference import load_world_model
wm = load_world_model("data/world_model.pt", device="cuda", dtype="auto")
rng = np.random.default_rng(0)
v, a = rng.integers(0, 256, (4096, 64, 64, 3), dtype=np.uint8), rng.integers(0, 4, 4096)
for _ in range(3): wm.predict(v, a)
with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as p:
    for _ in range(5): wm.predict(v, a)
print(p.key_averages().table(sort_by="cuda_time_total", row_limit=18, max_name_column_width=40))
PY
echo "== [$(( $(date +%s) - t0 )) s] PPO in the dream, 256 envs"
timeout 120 python3 train_agent.py --env DreamWorldMap-v0 --n-envs 256 --timesteps 100000 --eval-every 0 --device cuda --out "$OUT/ppo256" --no-progress 2>&1 | tail -1
rm -rf "$OUT/ppo256"; echo "== [$(( $(date +%s) - t0 )) s] done"
