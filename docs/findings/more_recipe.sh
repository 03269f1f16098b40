#!/bin/bash
# worlddit-worldmap v4 fine-tuned further with its own recipe (docs/findings.md), two variants side by side at one
# torch thread each: `more` = the same recipe (32 real-context adversary rows), `a64` = 64 real-context adversary rows.
# Snapshots at 35 and 70 minutes. Not shipped: realism stayed flat.
# Usage (repository root, V4 = a worlddit-worldmap v4 checkpoint): V4=v4.pt bash docs/findings/more_recipe.sh
set -u
mkdir -p runs/more
R="python -m world_models.training --experiment world_flow --cfg.on --t-sampling logit_normal --pretrained ${V4:-v4.pt} --place.field \
  --place.lr 1e-2 --lr 1e-4 --adv.weight 1.0 --adv.highpass --rollout.batch 32 --rollout.horizon 16 \
  --rollout.frames --threads 1 --time-budget 4200 --ckpt-seconds 120 --eval-every 0 --no-progress --colour.weight 30 --arch.copy-pad mean --place.dim 64"
START=$(date +%s)
$R --adv.batch 32 --seed 1 --out runs/more/more > runs/more/more.log 2>&1 &
P1=$!
$R --adv.batch 64 --seed 2 --out runs/more/a64 > runs/more/a64.log 2>&1 &
P2=$!
while [ $(( $(date +%s) - START )) -lt $((35 * 60)) ]; do sleep 10; done
for n in more a64; do cp runs/more/$n/last.pt runs/more/${n}_35min.pt; done
wait $P1 $P2
