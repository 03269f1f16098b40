#!/bin/bash
# Issue 13, session 12, run 2: as run_ch.sh plus the colour loss (--colour-weight 10), from the shipped model
cd /work/main && source .venv/bin/activate
while kill -0 6809 2>/dev/null; do sleep 5; done
START=$(date +%s)
python -m world_models.training --experiment world_flow --cfg --t-sampling logit_normal --pretrained data/world_model.pt --place-field \
  --place-lr 1e-2 --lr 1e-4 --adv-weight 1.0 --adv-highpass --adv-chroma --adv-batch 32 --rollout-batch 32 --rollout-horizon 16 \
  --rollout-frames --colour-weight 10 --threads 2 --time-budget 2400 --ckpt-seconds 120 --eval-every 0 --no-progress --out runs/s12/cw > runs/s12/cw.log 2>&1 &
P=$!
for m in 13 26 38; do
  while [ $(( $(date +%s) - START )) -lt $((m * 60)) ]; do sleep 10; kill -0 $P 2>/dev/null || break 2; done
  cp runs/s12/cw/last.pt runs/s12/cw_${m}min.pt
done
wait $P
