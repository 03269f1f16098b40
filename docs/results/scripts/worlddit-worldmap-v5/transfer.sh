#!/usr/bin/env bash
# Agent transfer for worlddit-worldmap v5 (2 CPU cores): PPO trained in the real env and in the model's dream on the
# near, far and drawn tasks, 3 seeds, evaluated in the real env (200 episodes each). Runs resume from their
# checkpoints; finished runs are reused. About 95 minutes with 3 jobs on 2 cores.
# Usage (repository root): bash docs/results/scripts/worlddit-worldmap-v5/transfer.sh [MODEL.pt] [OUT]
set -euo pipefail
python -m worldbench.transfer "worlddit-worldmap v5=${1:-data/world_model.pt}" --tasks drawn far near --seeds 0 1 2 \
  --steps 30000 50000 --jobs 3 --out "${2:-runs/v5/transfer}"
