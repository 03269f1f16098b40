#!/bin/bash
# Session 15: export the snapshots and benchmark them next to the shipped model (seed given, default 0; more models as args).
cd /work/main && source .venv/bin/activate
S=${1:-0}; shift
for f in runs/s15/dec128f/last; do
  [ -f runs/s15/x_dec128f_50min.pt ] || python -m world_models.export $f.pt runs/s15/x_dec128f_50min.pt --steps 1 --cfg-scale 1.0
done
python -m worldbench "$@" --seed $S --threads 2 --out runs/s15/b_seed$S
