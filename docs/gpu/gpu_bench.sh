#!/bin/bash
# GPU figures (docs/gpu.md), one call on a GPU machine:
#   dream env-steps/s at N = 256 ... 4096 (with and without memory), the model alone and its share
#   of the measured bf16 peak, world-model training samples/s, PPO trained in the dream, and the
#   dream/simulator tests on CUDA. Usage (repo root): OUT=dir bash docs/gpu/gpu_bench.sh
# Packages the GPU image lacks (gymnasium, stable-baselines3, tyro) come as wheels in .whl/.
set -u
OUT=${OUT:-runs/gpu}; mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 SDL_AUDIODRIVER=dummy SDL_VIDEODRIVER=dummy
source docs/gpu/setup.sh
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import torch, gymnasium, stable_baselines3; print('torch', torch.__version__, torch.cuda.get_device_name(), 'gymnasium', gymnasium.__version__, 'sb3', stable_baselines3.__version__)"
t0=$(date +%s)
echo "== dream env on CUDA"; python3 -m worldgen_env.speed --dream --device cuda --sizes 256 1024 4096 --seconds 2 --repeats 3 2>&1 | tee "$OUT/dream.txt"
echo "== [$(( $(date +%s) - t0 )) s] dream env, compiled model"; timeout 150 python3 -m worldgen_env.speed --dream --device cuda --compile --sizes 4096 --settings no-memory --seconds 2 --repeats 3 2>&1 | tee "$OUT/dream_compiled.txt"
echo "== [$(( $(date +%s) - t0 )) s] world-model training"; python3 -m world_models.speed --presets small seed --steps 1 --no-cfg --device cuda --batch 256 --seconds 1 --repeats 3 2>&1 | tee "$OUT/models.txt"
echo "== [$(( $(date +%s) - t0 )) s] PPO in the dream"; timeout 200 python3 train_agent.py --env DreamWorldMap-v0 --timesteps 30000 --eval-every 10000 --device cuda --out "$OUT/ppo" --no-progress 2>&1 | tail -3
cp "$OUT/ppo/report.md" "$OUT/ppo_report.md" 2>/dev/null; rm -rf "$OUT/ppo"
echo "== [$(( $(date +%s) - t0 )) s] tests on CUDA"; timeout 120 python3 -m pytest -q -x -p no:cacheprovider tests/worldgen_env/test_dream.py tests/worldgen_core/test_simulator.py 2>&1 | tail -3
echo "== [$(( $(date +%s) - t0 )) s] done"
