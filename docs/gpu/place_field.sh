#!/bin/bash
# worlddit-worldmap v2: the place field on one GPU. From worlddit-worldmap v1 (FROM), on the default map,
# side by side at the same budget and batch: the recipe without a place field (control) and with
# one (variants), then the one-step strip PSNR of each on 500 fixed transitions; the exported
# models come back in 15 MB pieces (cat them back together).
# Usage (repo root): OUT=dir bash docs/gpu/place_field.sh   (wheels for gymnasium, sb3, tyro in .whl/)
set -u
OUT=${OUT:-runs/gpu_place}; mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 SDL_AUDIODRIVER=dummy SDL_VIDEODRIVER=dummy OMP_NUM_THREADS=2
source docs/gpu/setup.sh
B=${B:-330}; ADV=${ADV:-0.3}; R=${R:-runs/place}; mkdir -p "$R"
VARIANTS=${VARIANTS:-"control: pl1e-2:--place-field,--place-lr,1e-2 pl3e-2:--place-field,--place-lr,3e-2 pl1e-1:--place-field,--place-lr,1e-1"}
t0=$(date +%s); el() { echo $(( $(date +%s) - t0 )); }
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null
# one recipe (flow, then adversarial, then export) per variant; the training CLI takes every setting
recipe() {  # name, [--from CHECKPOINT], extra training flags
  local name=$1 pre=${FROM:-v1.pt}; shift
  if [ "${1:-}" = "--from" ]; then pre=$2; shift 2; fi
  local fb=$(python3 -c "print(round($B * (1 - $ADV)))") ab=$(python3 -c "print(round($B * $ADV))")
  local T="python3 -m world_models.training --experiment world_flow --cfg.on --t-sampling logit_normal --batch-size 256 --device cuda --no-progress --threads 2 --eval-every 0"
  $T --pretrained "$pre" --lr 1e-4 --cond-noise 0.05 --time-budget "$fb" "$@" --out "$R/$name/flow" > "$R/$name.log" 2>&1 &&
  python3 -m world_models.io.export "$R/$name/flow/last.pt" "$R/$name/flow.pt" >> "$R/$name.log" 2>&1 &&
  $T --pretrained "$R/$name/flow.pt" --lr 1e-4 --adv-weight 1.0 --time-budget "$ab" "$@" --out "$R/$name/adversarial" >> "$R/$name.log" 2>&1 &&
  python3 -m world_models.io.export "$R/$name/adversarial/last.pt" "$R/$name/world_model.pt" --steps 1 --cfg-scale 1.0 >> "$R/$name.log" 2>&1
}
P=""
for v in $VARIANTS; do
  name=${v%%:*}; flags=${v#*:}
  recipe "$name" ${flags//,/ } &
  P="$P $!"
done
wait $P
echo "[$(el) s] trained: $(grep -h 'done: step' "$R"/*.log | tr '\n' '|')"
python3 docs/gpu/strip_psnr.py "$R"/*/world_model.pt 2>&1 | grep -v Warn | tee "$R/strip.txt"
for v in $VARIANTS; do
  name=${v%%:*}
  [ -f "$R/$name/world_model.pt" ] && split -b 15000000 -d "$R/$name/world_model.pt" "$OUT/$name.pt.part"
done
tar czf "$OUT/logs.tgz" "$R"/*.log "$R"/strip.txt "$R"/*/*/args.json "$R"/*/*/tb 2>/dev/null
echo "[$(el) s] done"; ls -la "$OUT"
