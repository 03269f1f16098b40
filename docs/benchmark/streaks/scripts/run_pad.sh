#!/bin/bash
# `co`'s recipe (colour loss 30, no chroma discriminator) with the copy filter's mean fill (--copy-pad mean)
cd /work/main && source .venv/bin/activate
NAME=${1:-pad}; shift
START=$(date +%s)
python -m world_models.training --experiment world_flow --cfg --t-sampling logit_normal --pretrained data/world_model.pt --place-field \
  --place-lr 1e-2 --lr 1e-4 --adv-weight 1.0 --adv-highpass --adv-batch 32 --rollout-batch 32 --rollout-horizon 16 \
  --rollout-frames --threads 2 --time-budget 2400 --ckpt-seconds 120 --eval-every 0 --no-progress --colour-weight 30 \
  --copy-pad mean "$@" --out runs/s13/$NAME > runs/s13/$NAME.log 2>&1 &
P=$!
for m in 13 25; do
  while [ $(( $(date +%s) - START )) -lt $((m * 60)) ]; do sleep 10; kill -0 $P 2>/dev/null || break 2; done
  cp runs/s13/$NAME/last.pt runs/s13/${NAME}_${m}min.pt
done
wait $P
