#!/bin/bash
# Session 15, second slot (after `dec`'s 20-minute snapshot): `dec128` with the field's learning rate at 3e-2
# (`dec128f`): is the widened field held back by how fast its new numbers learn? 50 minutes, snapshots at 20 and 40.
cd /work/main && source .venv/bin/activate
R="python -m world_models.training --experiment world_flow --cfg --t-sampling logit_normal --pretrained data/world_model.pt --place-field \
  --place-lr 3e-2 --lr 1e-4 --adv-weight 1.0 --adv-highpass --adv-batch 32 --rollout-batch 32 --rollout-horizon 16 \
  --rollout-frames --threads 1 --time-budget 3000 --ckpt-seconds 120 --eval-every 0 --no-progress --colour-weight 30 \
  --copy-pad mean --place-decoder --place-dim 128"
START=$(date +%s)
$R --seed 1 --out runs/s15/dec128f > runs/s15/dec128f.log 2>&1 &
P=$!
for m in 20 40; do
  while [ $(( $(date +%s) - START )) -lt $((m * 60)) ]; do sleep 10; done
  cp runs/s15/dec128f/last.pt runs/s15/dec128f_${m}min.pt
done
wait $P
