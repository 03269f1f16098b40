#!/bin/bash
# The benchmark of worlddit-worldmap v5 and the runs around it at one data seed (default 0), 2 torch threads.
# Usage (repository root): bash docs/results/scripts/worlddit-worldmap-v5/bench.sh SEED NAME=PATH ... copy shift
set -u
S=${1:-0}; shift
python -m worldbench "$@" --seed "$S" --threads 2 --out "runs/v5/bench_seed$S"
