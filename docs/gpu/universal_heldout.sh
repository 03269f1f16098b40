#!/bin/bash
# worlddit-universal v1 and the held-out maps on one GPU machine, 16 cores (docs/results/worlddit-universal-v1.md):
#   A  the universal model (the default map + 64 procedural maps of varied styles, mapgen seeds 100-163, from
#      worlddit-worldmap v1), beside it v1 trained on for longer on its own map, and real-env PPO on the held-out maps;
#   B  on each held-out map, the universal model fine-tuned and a model from scratch at the same budget, and PPO in the
#      universal model's dream (zero-shot);
#   C  the benchmark of zero-shot, fine-tuned and scratch on each held-out map and PPO in the last two's dreams; the
#      default map's benchmark of v1, universal and longer.
# Usage (repository root, a GPU machine, v1.pt there): bash docs/gpu/universal_heldout.sh
set -eu
source docs/gpu/setup.sh
R=runs/universal_heldout; mkdir -p $R
MAPS="mapgen_900 mapgen_901 city"
TW="python3 train_world.py --device cuda --no-progress --threads 2"
python3 -m worldgen_core.mapgen --seeds 100-163 --random-style --width 768 --height 512 --out-dir $R/maps -j 16
$TW --extra-maps $R/maps --pretrained v1.pt --time-budget 180 --out $R/universal > $R/universal.log 2>&1 &
$TW --pretrained v1.pt --time-budget 240 --out $R/default_more > $R/default_more.log 2>&1 &
A="python3 train_agent.py --env WorldMap-v0 --eval-every 0 --eval-episodes 200 --n-envs 16 --seed 0 --device cpu --no-progress"
for m in $MAPS; do
  $A --task near --map data/heldout/$m.png --timesteps 30000 --extractor correlation --out $R/bench_$m/agents/near/real_seed0 > $R/real_${m}_near.log 2>&1 &
  $A --task far --map data/heldout/$m.png --timesteps 50000 --extractor place --out $R/bench_$m/agents/far/real_seed0 > $R/real_${m}_far.log 2>&1 &
done
wait
for m in $MAPS; do
  $TW --map data/heldout/$m.png --pretrained $R/universal/world_model.pt --time-budget 55 --out $R/ft_$m > $R/ft_$m.log 2>&1 &
  $TW --map data/heldout/$m.png --time-budget 55 --out $R/scratch_$m > $R/scratch_$m.log 2>&1 &
  python3 -m worldbench.transfer zero-shot=$R/universal/world_model.pt --map data/heldout/$m.png --steps 30000 50000 --jobs 2 --device cuda \
    --out $R/bench_$m/agents --json $R/bench_$m/transfer_zs.json > $R/transfer_zs_$m.log 2>&1 &
done
wait
for m in $MAPS; do
  python3 -m worldbench zero-shot=$R/universal/world_model.pt fine-tuned=$R/ft_$m/world_model.pt scratch=$R/scratch_$m/world_model.pt v1=v1.pt \
    copy shift --map data/heldout/$m.png --device cuda --out $R/bench_$m > $R/bench_$m.log 2>&1 &
  python3 -m worldbench.transfer fine-tuned=$R/ft_$m/world_model.pt scratch=$R/scratch_$m/world_model.pt --map data/heldout/$m.png \
    --steps 30000 50000 --jobs 4 --device cuda --out $R/bench_$m/agents --json $R/bench_$m/transfer_ft.json > $R/transfer_ft_$m.log 2>&1 &
done
python3 -m worldbench v1=v1.pt universal=$R/universal/world_model.pt longer=$R/default_more/world_model.pt --device cuda --out $R/bench_default \
  > $R/bench_default.log 2>&1 &
wait
