#!/bin/bash
# The runs around worlddit-worldmap v3 on one GPU machine (docs/results/worlddit-worldmap-v3.md, worlddit-worldmap-v2.md):
#   agent transfer (near, far, drawn; 3 seeds) of worlddit-worldmap v2 and of the known-defect noise dream, on the spare
#   cores; beside it, from v2 at the same budget (400 s): the adversarial stage as it is (adv), with the discriminator
#   also seeing the bands' high-pass residual (hp), and that with 4x the adversarial rows (hp64); then the benchmark of each.
#   v3 itself (hp64 fine-tuned on and averaged) is on its page.
# Usage (repository root, a GPU machine, v2.pt there): bash docs/gpu/realism.sh
set -eu
source docs/gpu/setup.sh
R=runs/realism; mkdir -p $R
OMP_NUM_THREADS=1 python3 -m worldbench.transfer v2=v2.pt noise_with_memory=worldbench.models:noise_with_memory --tasks near far drawn \
  --seeds 0 1 2 --steps 30000 50000 --jobs 12 --device cuda --out $R/agents > $R/agents.log 2>&1 &
T="python3 -m world_models.training --experiment world_flow --cfg.on --t-sampling logit_normal --batch-size 256 --device cuda --no-progress --threads 2 --eval-every 0 --pretrained v2.pt --place.field --lr 1e-4 --adv.weight 1.0 --time-budget 400 --arch.copy-pad replicate --place.dim 64 --place.lr 1e-1 --adv.batch 16 --no-adv.highpass"
$T --out $R/adv/adversarial > $R/adv.log 2>&1 &
$T --adv.highpass --out $R/hp/adversarial > $R/hp.log 2>&1 &
$T --adv.highpass --adv.batch 64 --out $R/hp64/adversarial > $R/hp64.log 2>&1 &
wait
for n in adv hp hp64; do
  python3 -m world_models.io.export $R/$n/adversarial/last.pt $R/$n/world_model.pt --steps 1 --cfg-scale 1.0
  python3 -m worldbench $n=$R/$n/world_model.pt --device cuda --threads 2 --out $R/bench_$n > $R/bench_$n.log 2>&1 &
done
wait
