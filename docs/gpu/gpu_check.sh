#!/bin/bash
# GPU checks (docs/gpu.md): the dream/simulator/benchmark tests on CUDA (pygame, which the GPU
# image lacks, is only needed by the human-render tests: deselected), a profile of the model at
# batch 4096, and PPO in the dream with 256 envs. Usage (repo root): OUT=dir bash docs/gpu/gpu_check.sh
set -u
OUT=${OUT:-runs/gpu}; mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
source docs/gpu/setup.sh
t0=$(date +%s)
echo "== tests on CUDA"; timeout 100 python3 -m pytest -q -p no:cacheprovider tests/worldgen_env/test_dream.py tests/worldgen_core/test_simulator.py tests/worldbench -k "not checkers and not play and not human" 2>&1 | tail -4
echo "== [$(( $(date +%s) - t0 )) s] model profile at batch 4096"
timeout 60 python3 experiments/gpu_profile/profile_model.py --device cuda --batch 4096 2>&1 | tee "$OUT/profile.txt" | head -30
echo "== [$(( $(date +%s) - t0 )) s] PPO in the dream, 256 envs"
timeout 120 python3 train_agent.py --env DreamWorldMap-v0 --n-envs 256 --timesteps 100000 --eval-every 0 --device cuda --out "$OUT/ppo256" --no-progress 2>&1 | tail -1
rm -rf "$OUT/ppo256"; echo "== [$(( $(date +%s) - t0 )) s] done"
