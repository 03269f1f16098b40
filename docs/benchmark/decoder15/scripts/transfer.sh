#!/usr/bin/env bash
# Agent transfer for the shipped model (session 16, 2 CPU cores): PPO trained in the real env and in the
# model's dream on the near, far and drawn tasks, 3 seeds, evaluated in the real env (200 episodes each).
# Runs resume from their checkpoints; finished runs are reused. About 95 minutes with 3 jobs.
set -euo pipefail
python -m worldbench.transfer "dec128_60=${1:-data/world_model.pt}" --tasks drawn far near --seeds 0 1 2 \
  --steps 30000 50000 --jobs 3 --out "${2:-runs/s15/transfer}"
