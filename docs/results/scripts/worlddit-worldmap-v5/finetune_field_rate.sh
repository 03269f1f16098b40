#!/bin/bash
# A variant of worlddit-worldmap v5's fine-tune: the 128-number field with its learning rate at 3e-2 (is the widened
# field held back by how fast its new numbers learn?). 50 minutes, snapshots at 20 and 40. Not shipped: level with v5.
# Usage (repository root): V4=v4.pt bash docs/results/scripts/worlddit-worldmap-v5/finetune_field_rate.sh
set -u
mkdir -p runs/v5
R="python -m world_models.training --experiment world_flow --cfg.on --t-sampling logit_normal --pretrained ${V4:-v4.pt} --place.field \
  --place.lr 3e-2 --lr 1e-4 --adv.weight 1.0 --adv.highpass --adv.batch 32 --rollout.batch 32 --rollout.horizon 16 \
  --rollout.frames --threads 1 --time-budget 3000 --ckpt-seconds 120 --eval-every 0 --no-progress --colour.weight 30 \
  --arch.copy-pad mean --place.decoder --place.dim 128"
START=$(date +%s)
$R --seed 1 --out runs/v5/dec128f > runs/v5/dec128f.log 2>&1 &
P=$!
for m in 20 40; do
  while [ $(( $(date +%s) - START )) -lt $((m * 60)) ]; do sleep 10; done
  cp runs/v5/dec128f/last.pt runs/v5/dec128f_${m}min.pt
done
wait $P
