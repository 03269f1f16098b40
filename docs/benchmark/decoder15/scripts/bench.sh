#!/bin/bash
# Session 15: export the snapshots and benchmark them next to the shipped model (seed given, default 0; more models as args).
cd /work/main && source .venv/bin/activate
S=${1:-0}; shift
[ -f runs/s15/x_dec128f_50min.pt ] || python -m world_models.export runs/s15/dec128f/last.pt runs/s15/x_dec128f_50min.pt --steps 1 --cfg-scale 1.0
python -m worldbench "$@" --seed $S --threads 2 --out runs/s15/b_seed$S
