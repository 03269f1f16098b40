#!/bin/bash
# Session 14: the shipped mean-fill model (session 13's recipe, 40 min), fine-tuned further, two variants
# side by side at one thread each: `more` = the same recipe (real-context adversary rows 32), `a64` = 64
# real-context adversary rows (session 10's hp64 lever for the revealed bands). Snapshots at 35 and 70 min.
cd /work/main && source .venv/bin/activate
mkdir -p runs/s14
R="python -m world_models.training --experiment world_flow --cfg --t-sampling logit_normal --pretrained data/world_model.pt --place-field \
  --place-lr 1e-2 --lr 1e-4 --adv-weight 1.0 --adv-highpass --rollout-batch 32 --rollout-horizon 16 \
  --rollout-frames --threads 1 --time-budget 4200 --ckpt-seconds 120 --eval-every 0 --no-progress --colour-weight 30 --copy-pad mean"
START=$(date +%s)
$R --adv-batch 32 --seed 1 --out runs/s14/more > runs/s14/more.log 2>&1 &
P1=$!
$R --adv-batch 64 --seed 2 --out runs/s14/a64 > runs/s14/a64.log 2>&1 &
P2=$!
while [ $(( $(date +%s) - START )) -lt $((35 * 60)) ]; do sleep 10; done
for n in more a64; do cp runs/s14/$n/last.pt runs/s14/${n}_35min.pt; done
wait $P1 $P2
