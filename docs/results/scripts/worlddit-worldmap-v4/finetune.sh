#!/bin/bash
# worlddit-worldmap v4: worlddit-worldmap v3 fine-tuned for 40 minutes on 2 CPU cores with the copy filter's mean fill
# (--arch.copy-pad mean), a loss on the colour error (--colour.weight 30), the real-context adversary with the high-pass view
# and rollout rows judged as whole frames. Snapshots at 13 and 25 minutes.
# Usage (repository root, V3 = a worlddit-worldmap v3 checkpoint): V3=v3.pt bash docs/results/scripts/worlddit-worldmap-v4/finetune.sh [NAME] [extra flags]
set -u
NAME=${1:-pad}; shift || true
mkdir -p runs/v4
START=$(date +%s)
python -m world_models.training --experiment world_flow --cfg.on --t-sampling logit_normal --pretrained "${V3:-v3.pt}" --place.field \
  --place.lr 1e-2 --lr 1e-4 --adv.weight 1.0 --adv.highpass --adv.batch 32 --rollout.batch 32 --rollout.horizon 16 \
  --rollout.frames --threads 2 --time-budget 2400 --ckpt-seconds 120 --eval-every 0 --no-progress --colour.weight 30 \
  --arch.copy-pad mean --place.dim 64 "$@" --out runs/v4/$NAME > runs/v4/$NAME.log 2>&1 &
P=$!
for m in 13 25; do
  while [ $(( $(date +%s) - START )) -lt $((m * 60)) ]; do sleep 10; kill -0 $P 2>/dev/null || break 2; done
  cp runs/v4/$NAME/last.pt runs/v4/${NAME}_${m}min.pt
done
wait $P
python -m world_models.io.export runs/v4/$NAME/last.pt runs/v4/$NAME.pt --steps 1 --cfg-scale 1.0
