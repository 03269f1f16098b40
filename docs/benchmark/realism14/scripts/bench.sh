#!/bin/bash
# Session 14: export the snapshots and benchmark them next to the shipped model (seed given, default 0).
cd /work/main && source .venv/bin/activate
S=${1:-0}; shift
for f in runs/s14/more_35min runs/s14/a64_35min runs/s14/more/last runs/s14/a64/last; do
  n=$(echo $f | sed 's#runs/s14/##; s#/last#_70min#')
  [ -f runs/s14/x_$n.pt ] || python -m world_models.export $f.pt runs/s14/x_$n.pt --steps 1 --cfg-scale 1.0
done
python -m worldbench "$@" --seed $S --threads 2 --out runs/s14/b_seed$S
