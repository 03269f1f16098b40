#!/bin/bash
# worlddit-worldmap v5: worlddit-worldmap v4 given a place decoder (--place.decoder: each cell's field vector decoded
# straight to the revealed strip's pixels) and fine-tuned with v4's own recipe, two variants side by side at one torch
# thread each: `dec` = the 64-number field as it is, `dec128` = the field widened to 128 numbers (the new ones start at
# zero). Snapshots every 20 minutes. `dec128` after 60 minutes, exported, is worlddit-worldmap v5.
# Usage (repository root, V4 = a worlddit-worldmap v4 checkpoint): V4=v4.pt bash docs/results/scripts/worlddit-worldmap-v5/finetune.sh
set -u
mkdir -p runs/v5
R="python -m world_models.training --experiment world_flow --cfg.on --t-sampling logit_normal --pretrained ${V4:-v4.pt} --place.field \
  --place.lr 1e-2 --lr 1e-4 --adv.weight 1.0 --adv.highpass --adv.batch 32 --rollout.batch 32 --rollout.horizon 16 \
  --rollout.frames --threads 1 --time-budget ${BUDGET:-3600} --ckpt-seconds 120 --eval-every 0 --no-progress --colour.weight 30 \
  --arch.copy-pad mean --place.decoder --place.dim 64"
START=$(date +%s)
$R --seed 1 --out runs/v5/dec > runs/v5/dec.log 2>&1 &
P1=$!
$R --place.dim 128 --seed 2 --out runs/v5/dec128 > runs/v5/dec128.log 2>&1 &
P2=$!
for m in 20 40; do
  while [ $(( $(date +%s) - START )) -lt $((m * 60)) ]; do sleep 10; done
  for n in dec dec128; do cp runs/v5/$n/last.pt runs/v5/${n}_${m}min.pt; done
done
wait $P1 $P2
python -m world_models.io.export runs/v5/dec128/last.pt runs/v5/world_model.pt --steps 1 --cfg-scale 1.0
