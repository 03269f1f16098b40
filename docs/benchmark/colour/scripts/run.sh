#!/bin/bash
# Issue 13, session 12: a 40-min CPU fine-tune of the shipped model with the chroma-aware discriminators
# (real-context bands and whole dreamed frames), last.pt copied at 13, 26 and 38 minutes.
#   run.sh ch                      # session 12's `ch`
#   run.sh cw --colour-weight 10   # session 12's `cw`
NAME=$1; shift
cd "$(git rev-parse --show-toplevel)" && source .venv/bin/activate
START=$(date +%s)
python -m world_models.training --experiment world_flow --cfg --t-sampling logit_normal --pretrained data/world_model.pt --place-field \
  --place-lr 1e-2 --lr 1e-4 --adv-weight 1.0 --adv-highpass --adv-chroma --adv-batch 32 --rollout-batch 32 --rollout-horizon 16 \
  --rollout-frames --threads 2 --time-budget 2400 --ckpt-seconds 120 --eval-every 0 --no-progress "$@" --out runs/s12/$NAME > runs/s12/$NAME.log 2>&1 &
P=$!
for m in 13 26 38; do
  while [ $(( $(date +%s) - START )) -lt $((m * 60)) ]; do sleep 10; kill -0 $P 2>/dev/null || break 2; done
  cp runs/s12/$NAME/last.pt runs/s12/${NAME}_${m}min.pt
done
wait $P
