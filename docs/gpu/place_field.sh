#!/bin/bash
# worlddit-worldmap v2's place field on one GPU (docs/results/worlddit-worldmap-v2.md). From worlddit-worldmap v1 (v1.pt),
# side by side at the same budget and batch: the recipe without a place field (control) and with one at three field
# learning rates (flow matching 231 s, export, the adversarial stage 99 s, export at one step), then the revealed strip
# of each with and without its field on 500 transitions (the page's figures were measured on 500 transitions of an
# earlier sampler: the same protocol, another draw).
# Usage (repository root, a GPU machine, v1.pt there): bash docs/gpu/place_field.sh
set -eu
source docs/gpu/setup.sh
R=runs/place; mkdir -p $R
T="python3 -m world_models.training --experiment world_flow --cfg.on --t-sampling logit_normal --batch-size 256 --device cuda --no-progress --threads 2 --eval-every 0 --lr 1e-4 --arch.copy-pad replicate --place.dim 64 --adv.batch 16 --no-adv.highpass"
E="python3 -m world_models.io.export"
($T --pretrained v1.pt --cond.noise 0.05 --time-budget 231 --out $R/control/flow && $E $R/control/flow/last.pt $R/control/flow.pt &&
 $T --pretrained $R/control/flow.pt --adv.weight 1.0 --time-budget 99 --out $R/control/adversarial &&
 $E $R/control/adversarial/last.pt $R/control/world_model.pt --steps 1 --cfg-scale 1.0) > $R/control.log 2>&1 &
for lr in 1e-2 3e-2 1e-1; do
  F="--place.field --place.lr $lr"
  ($T --pretrained v1.pt --cond.noise 0.05 --time-budget 231 $F --out $R/pl$lr/flow && $E $R/pl$lr/flow/last.pt $R/pl$lr/flow.pt &&
   $T --pretrained $R/pl$lr/flow.pt --adv.weight 1.0 --time-budget 99 $F --out $R/pl$lr/adversarial &&
   $E $R/pl$lr/adversarial/last.pt $R/pl$lr/world_model.pt --steps 1 --cfg-scale 1.0) > $R/pl$lr.log 2>&1 &
done
wait
python3 experiments/strip_psnr/strip_psnr.py --n 500 control=$R/control/world_model.pt \
  $(for lr in 1e-2 3e-2 1e-1; do echo "pl$lr=$R/pl$lr/world_model.pt pl$lr-no-field=$R/pl$lr/world_model.pt?place=0"; done) | tee $R/strip.txt
