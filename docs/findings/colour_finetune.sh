#!/bin/bash
# A 40-minute CPU fine-tune of worlddit-worldmap v3 with chroma-aware discriminators (real-context bands and whole
# dreamed frames), last.pt copied at 13, 26 and 38 minutes (docs/findings.md, colour). Not shipped.
#   colour_finetune.sh ch                      # `ch`: both discriminators also see the chroma residual
#   colour_finetune.sh cw --colour.weight 10   # `cw`: and a loss on the colour part of the one-step error
# Usage (repository root, V3 = a worlddit-worldmap v3 checkpoint): V3=v3.pt bash docs/findings/colour_finetune.sh NAME [flags]
set -u
NAME=$1; shift
mkdir -p runs/colour
START=$(date +%s)
python -m world_models.training --experiment world_flow --cfg.on --t-sampling logit_normal --pretrained "${V3:-v3.pt}" --place.field \
  --place.lr 1e-2 --lr 1e-4 --adv.weight 1.0 --adv.highpass --adv.chroma --adv.batch 32 --rollout.batch 32 --rollout.horizon 16 \
  --rollout.frames --threads 2 --time-budget 2400 --ckpt-seconds 120 --eval-every 0 --no-progress --arch.copy-pad replicate --place.dim 64 "$@" --out runs/colour/$NAME > runs/colour/$NAME.log 2>&1 &
P=$!
for m in 13 26 38; do
  while [ $(( $(date +%s) - START )) -lt $((m * 60)) ]; do sleep 10; kill -0 $P 2>/dev/null || break 2; done
  cp runs/colour/$NAME/last.pt runs/colour/${NAME}_${m}min.pt
done
wait $P
