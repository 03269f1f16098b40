#!/bin/bash
# Session 15: the shipped mean-fill model given a place decoder (--place-decoder: each cell's field vector decoded
# straight to the revealed strip's pixels), fine-tuned with its own recipe (session 14's `more`, the control),
# two variants side by side at one thread each: `dec` = the 64-number field as it is, `dec128` = the field widened
# to 128 numbers (the new ones start at zero). Snapshots every 20 minutes.
cd /work/main && source .venv/bin/activate
mkdir -p runs/s15
R="python -m world_models.training --experiment world_flow --cfg --t-sampling logit_normal --pretrained data/world_model.pt --place-field \
  --place-lr 1e-2 --lr 1e-4 --adv-weight 1.0 --adv-highpass --adv-batch 32 --rollout-batch 32 --rollout-horizon 16 \
  --rollout-frames --threads 1 --time-budget ${BUDGET:-3600} --ckpt-seconds 120 --eval-every 0 --no-progress --colour-weight 30 \
  --copy-pad mean --place-decoder"
START=$(date +%s)
$R --seed 1 --out runs/s15/dec > runs/s15/dec.log 2>&1 &
P1=$!
$R --place-dim 128 --seed 2 --out runs/s15/dec128 > runs/s15/dec128.log 2>&1 &
P2=$!
for m in 20 40; do
  while [ $(( $(date +%s) - START )) -lt $((m * 60)) ]; do sleep 10; done
  for n in dec dec128; do cp runs/s15/$n/last.pt runs/s15/${n}_${m}min.pt; done
done
wait $P1 $P2
